// The parts inventory RPCs of FieldService (see grpc_service.hpp).
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"
#include "parts/parts.hpp"

namespace crm::fieldservice {
namespace {

using common::RequestContext;

void CheckQuantity(common::Violations& v, std::int64_t q, std::int64_t max, const char* field) {
    if (q < 1 || q > max) v.Add(field, "must be 1 to " + std::to_string(max));
}

}  // namespace

grpc::Status FieldService::CreatePart(grpc::ServerContext* sc, const v1::CreatePartRequest* req,
                                      v1::CreatePartResponse* resp) {
    return rpc_.Handle(sc, "CreatePart", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        v1::Part p = req->part();
        common::CheckToken(v, p.id(), "part.id", domain::kMaxTokenLength);
        common::CheckToken(v, p.sku(), "part.sku", domain::kMaxTokenLength, true);
        common::CheckText(v, p.name(), "part.name", domain::kTitleRule);
        p.set_product_id(domain::CheckOptionalId(v, p.product_id(), "part.product_id"));
        v.ThrowIfAny();
        *resp->mutable_part() = parts::CreatePart(db_, outbox_, rc, p, req->request_id());
    });
}

grpc::Status FieldService::GetPart(grpc::ServerContext* sc, const v1::GetPartRequest* req, v1::GetPartResponse* resp) {
    return rpc_.Handle(sc, "GetPart", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_part() = parts::GetPart(db_, rc, id);
    });
}

grpc::Status FieldService::ListParts(grpc::ServerContext* sc, const v1::ListPartsRequest* req,
                                     v1::ListPartsResponse* resp) {
    return rpc_.Handle(sc, "ListParts", [&](const RequestContext& rc) {
        const int size = common::ResolvePageSize(req->page_size());
        auto page = parts::ListParts(db_, rc, size, req->page_token());
        for (auto& p : page.items) *resp->add_parts() = std::move(p);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status FieldService::CreateStockLocation(grpc::ServerContext* sc, const v1::CreateStockLocationRequest* req,
                                               v1::CreateStockLocationResponse* resp) {
    return rpc_.Handle(sc, "CreateStockLocation", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        const auto& l = req->location();
        common::CheckToken(v, l.id(), "location.id", domain::kMaxTokenLength);
        common::CheckText(v, l.name(), "location.name", domain::kTitleRule);
        if (l.kind() == v1::LOCATION_KIND_UNSPECIFIED || !v1::LocationKind_IsValid(l.kind())) {
            v.Add("location.kind", "WAREHOUSE or VAN");
        }
        v.ThrowIfAny();
        *resp->mutable_location() = parts::CreateLocation(db_, rc, l, req->request_id());
    });
}

grpc::Status FieldService::ListStockLocations(grpc::ServerContext* sc, const v1::ListStockLocationsRequest* req,
                                              v1::ListStockLocationsResponse* resp) {
    return rpc_.Handle(sc, "ListStockLocations", [&](const RequestContext& rc) {
        const int size = common::ResolvePageSize(req->page_size());
        auto page = parts::ListLocations(db_, rc, size, req->page_token());
        for (auto& l : page.items) *resp->add_locations() = std::move(l);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status FieldService::AdjustStock(grpc::ServerContext* sc, const v1::AdjustStockRequest* req,
                                       v1::AdjustStockResponse* resp) {
    return rpc_.Handle(sc, "AdjustStock", [&](const RequestContext& rc) {
        common::Violations v;
        v1::AdjustStockRequest in = *req;
        in.set_location_id(common::CheckId(v, in.location_id(), "location_id"));
        in.set_part_id(common::CheckId(v, in.part_id(), "part_id"));
        if (in.quantity_delta() < -domain::kMaxStockQuantity || in.quantity_delta() > domain::kMaxStockQuantity) {
            v.Add("quantity_delta", "must be -1000000 to 1000000");
        } else if (in.quantity_delta() == 0 && !in.has_reorder_point()) {
            v.Add("quantity_delta", "nothing to change: give a quantity or a reorder point");
        }
        if (in.has_reorder_point() && (in.reorder_point() < 0 || in.reorder_point() > domain::kMaxStockQuantity)) {
            v.Add("reorder_point", "must be 0 to 1000000");
        }
        common::CheckText(v, in.reason(), "reason", domain::kShortText);
        common::CheckRequestId(v, in.request_id());
        v.ThrowIfAny();
        *resp->mutable_level() = parts::Adjust(db_, outbox_, rc, in, metrics_);
    });
}

grpc::Status FieldService::TransferStock(grpc::ServerContext* sc, const v1::TransferStockRequest* req,
                                         v1::TransferStockResponse* resp) {
    return rpc_.Handle(sc, "TransferStock", [&](const RequestContext& rc) {
        common::Violations v;
        v1::TransferStockRequest in = *req;
        in.set_from_location_id(common::CheckId(v, in.from_location_id(), "from_location_id"));
        in.set_to_location_id(common::CheckId(v, in.to_location_id(), "to_location_id"));
        if (!in.to_location_id().empty() && in.to_location_id() == in.from_location_id()) {
            v.Add("to_location_id", "must differ from from_location_id");
        }
        in.set_part_id(common::CheckId(v, in.part_id(), "part_id"));
        CheckQuantity(v, in.quantity(), domain::kMaxStockQuantity, "quantity");
        common::CheckRequestId(v, in.request_id());
        v.ThrowIfAny();
        *resp = parts::Transfer(db_, outbox_, rc, in, metrics_);
    });
}

grpc::Status FieldService::ReservePart(grpc::ServerContext* sc, const v1::ReservePartRequest* req,
                                       v1::ReservePartResponse* resp) {
    return rpc_.Handle(sc, "ReservePart", [&](const RequestContext& rc) {
        common::Violations v;
        v1::ReservePartRequest in = *req;
        in.set_work_order_id(common::CheckId(v, in.work_order_id(), "work_order_id"));
        in.set_part_id(common::CheckId(v, in.part_id(), "part_id"));
        in.set_location_id(common::CheckId(v, in.location_id(), "location_id"));
        CheckQuantity(v, in.quantity(), domain::kMaxPartQuantity, "quantity");
        common::CheckRequestId(v, in.request_id());
        v.ThrowIfAny();
        *resp = parts::Reserve(db_, outbox_, rc, in, metrics_);
    });
}

grpc::Status FieldService::ListStockLevels(grpc::ServerContext* sc, const v1::ListStockLevelsRequest* req,
                                           v1::ListStockLevelsResponse* resp) {
    return rpc_.Handle(sc, "ListStockLevels", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        const std::string location = domain::CheckOptionalId(v, req->location_id(), "location_id");
        const std::string part = domain::CheckOptionalId(v, req->part_id(), "part_id");
        v.ThrowIfAny();
        auto page = parts::ListLevels(db_, rc, location, part, size, req->page_token());
        for (auto& l : page.items) *resp->add_levels() = std::move(l);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::fieldservice
