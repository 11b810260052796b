// The catalogue RPCs of SalesService: products and the price book (see grpc_service.hpp).
#include "catalogue/catalogue.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"

namespace crm::sales {
namespace {

using common::RequestContext;

void CheckProduct(common::Violations& v, const v1::Product& p, const std::vector<std::string>& paths) {
    for (const auto& f : paths) {
        if (f == "name") common::CheckText(v, p.name(), "product.name", domain::kNameRule);
        if (f == "sku") common::CheckToken(v, p.sku(), "product.sku", domain::kMaxSkuLength);
        if (f == "description") common::CheckText(v, p.description(), "product.description", domain::kDescriptionRule);
    }
}

}  // namespace

grpc::Status SalesService::CreateProduct(grpc::ServerContext* sc, const v1::CreateProductRequest* req,
                                         v1::CreateProductResponse* resp) {
    return rpc_.Handle(sc, "CreateProduct", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        domain::CheckIgnoredToken(v, req->product().id(), "product.id");
        domain::CheckEtagSyntax(v, req->product().etag(), "product.etag");
        CheckProduct(v, req->product(), {"name", "sku", "description"});
        v.ThrowIfAny();
        *resp->mutable_product() = catalogue::CreateProduct(db_, outbox_, rc, req->product(), req->request_id());
    });
}

grpc::Status SalesService::GetProduct(grpc::ServerContext* sc, const v1::GetProductRequest* req,
                                      v1::GetProductResponse* resp) {
    return rpc_.Handle(sc, "GetProduct", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_product() = catalogue::GetProduct(db_, rc, id);
    });
}

grpc::Status SalesService::ListProducts(grpc::ServerContext* sc, const v1::ListProductsRequest* req,
                                        v1::ListProductsResponse* resp) {
    return rpc_.Handle(sc, "ListProducts", [&](const RequestContext& rc) {
        const int size = common::ResolvePageSize(req->page_size());
        auto page = catalogue::ListProducts(db_, rc, req->active_only(), size, req->page_token());
        for (auto& p : page.items) *resp->add_products() = std::move(p);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status SalesService::UpdateProduct(grpc::ServerContext* sc, const v1::UpdateProductRequest* req,
                                         v1::UpdateProductResponse* resp) {
    return rpc_.Handle(sc, "UpdateProduct", [&](const RequestContext& rc) {
        common::Violations v;
        v1::Product p = req->product();
        p.set_id(common::CheckId(v, p.id(), "product.id"));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, p.etag(), "product.etag");
        const auto paths =
            UpdatePaths(v, req->update_mask(), {"name", "sku", "description", "active"}, [&](const std::string& f) {
                if (f == "name") return !p.name().empty();
                if (f == "sku") return !p.sku().empty();
                if (f == "description") return !p.description().empty();
                return false;  // a bool cannot be told from unset: name it in the mask
            });
        CheckProduct(v, p, paths);
        v.ThrowIfAny();
        *resp->mutable_product() =
            catalogue::UpdateProduct(db_, outbox_, rc, p, paths, req->etag().empty() ? p.etag() : req->etag());
    });
}

grpc::Status SalesService::SetPriceBookEntry(grpc::ServerContext* sc, const v1::SetPriceBookEntryRequest* req,
                                             v1::SetPriceBookEntryResponse* resp) {
    return rpc_.Handle(sc, "SetPriceBookEntry", [&](const RequestContext& rc) {
        common::Violations v;
        v1::PriceBookEntry entry = req->entry();
        entry.set_product_id(common::CheckId(v, entry.product_id(), "entry.product_id"));
        if (!entry.has_unit_price()) {
            v.Add("entry.unit_price", "is required");
        } else {
            common::CheckMoney(v, entry.unit_price().amount_minor(), entry.unit_price().currency_code(),
                               "entry.unit_price");
        }
        v.ThrowIfAny();
        *resp->mutable_entry() = catalogue::SetPrice(db_, outbox_, rc, entry);
    });
}

grpc::Status SalesService::ListPriceBookEntries(grpc::ServerContext* sc, const v1::ListPriceBookEntriesRequest* req,
                                                v1::ListPriceBookEntriesResponse* resp) {
    return rpc_.Handle(sc, "ListPriceBookEntries", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        const std::string product = domain::CheckOptionalId(v, req->product_id(), "product_id");
        common::CheckCurrency(v, req->currency_code(), "currency_code", false);
        v.ThrowIfAny();
        auto page = catalogue::ListPrices(db_, rc, product, req->currency_code(), size, req->page_token());
        for (auto& e : page.items) *resp->add_entries() = std::move(e);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::sales
