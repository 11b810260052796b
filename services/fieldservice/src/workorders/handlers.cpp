// The work-order RPCs of FieldService (see grpc_service.hpp).
#include <algorithm>

#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice {
namespace {

using common::RequestContext;

domain::TimeValue TimeOf(bool present, const google::protobuf::Timestamp& t) {
    return {present, t.seconds(), t.nanos()};
}

// The fields of `w` named in `paths` (every field on create).
void CheckWorkOrder(common::Violations& v, v1::WorkOrder& w, const std::vector<std::string>& paths) {
    const auto has = [&](const char* p) { return std::find(paths.begin(), paths.end(), p) != paths.end(); };
    if (has("case_id")) w.set_case_id(domain::CheckOptionalId(v, w.case_id(), "work_order.case_id"));
    if (has("contact_id")) w.set_contact_id(domain::CheckOptionalId(v, w.contact_id(), "work_order.contact_id"));
    if (has("company_id")) w.set_company_id(domain::CheckOptionalId(v, w.company_id(), "work_order.company_id"));
    if (has("title")) common::CheckText(v, w.title(), "work_order.title", domain::kTitleRule);
    if (has("description")) common::CheckText(v, w.description(), "work_order.description", domain::kNotesRule);
    if (has("site")) {
        common::CheckText(v, w.site().address(), "work_order.site.address", domain::kAddressRule);
        if (!w.site().has_location()) {
            v.Add("work_order.site.location", "is required");
        } else {
            domain::CheckPoint(v, w.site().location().latitude(), w.site().location().longitude(),
                               "work_order.site.location");
        }
    }
    if (has("asset_id")) common::CheckToken(v, w.asset_id(), "work_order.asset_id", domain::kMaxTokenLength);
    if (has("work_type")) common::CheckToken(v, w.work_type(), "work_order.work_type", domain::kMaxTokenLength, true);
    if (has("duration_minutes") && (w.duration_minutes() < 1 || w.duration_minutes() > domain::kMaxDurationMinutes)) {
        v.Add("work_order.duration_minutes", "must be 1 to 1440 minutes");
    }
    if (has("required_skills") &&
        common::CheckListSize(v, w.required_skills_size(), "work_order.required_skills", domain::kMaxRequiredSkills)) {
        std::vector<std::string> names;
        for (int i = 0; i < w.required_skills_size(); ++i) {
            const std::string f = "work_order.required_skills[" + std::to_string(i) + "]";
            domain::CheckSkillName(v, w.required_skills(i).skill(), f + ".skill");
            domain::CheckLevel(v, w.required_skills(i).min_level(), f + ".min_level");
            names.push_back(w.required_skills(i).skill());
        }
        domain::CheckUnique(v, names, "work_order.required_skills", "skill");
    }
    if (has("priority") && !v1::Priority_IsValid(w.priority())) {
        v.Add("work_order.priority", "LOW, NORMAL, HIGH or URGENT");
    }
    if (has("time_windows") &&
        common::CheckListSize(v, w.time_windows_size(), "work_order.time_windows", domain::kMaxWindows)) {
        for (int i = 0; i < w.time_windows_size(); ++i) {
            const auto& tw = w.time_windows(i);
            domain::CheckWindow(v, TimeOf(tw.has_start_time(), tw.start_time()),
                                TimeOf(tw.has_end_time(), tw.end_time()),
                                "work_order.time_windows[" + std::to_string(i) + "]");
        }
    }
    if (has("checklist") &&
        common::CheckListSize(v, w.checklist_size(), "work_order.checklist", domain::kMaxChecklist)) {
        for (int i = 0; i < w.checklist_size(); ++i) {
            common::CheckText(v, w.checklist(i), "work_order.checklist[" + std::to_string(i) + "]",
                              {.max_chars = 200, .required = true});
        }
    }
    if (has("parts_needed") &&
        common::CheckListSize(v, w.parts_needed_size(), "work_order.parts_needed", domain::kMaxParts)) {
        for (int i = 0; i < w.parts_needed_size(); ++i) {
            auto* p = w.mutable_parts_needed(i);
            const std::string f = "work_order.parts_needed[" + std::to_string(i) + "]";
            p->set_part_id(common::CheckId(v, p->part_id(), f + ".part_id"));
            if (p->quantity() < 1 || p->quantity() > domain::kMaxPartQuantity) {
                v.Add(f + ".quantity", "must be 1 to 10000");
            }
        }
    }
}

const std::vector<std::string> kAllFields = {
    "case_id",   "contact_id",       "company_id",      "title",    "description",  "site",      "asset_id",
    "work_type", "duration_minutes", "required_skills", "priority", "time_windows", "checklist", "parts_needed"};

}  // namespace

grpc::Status FieldService::CreateWorkOrder(grpc::ServerContext* sc, const v1::CreateWorkOrderRequest* req,
                                           v1::CreateWorkOrderResponse* resp) {
    return rpc_.Handle(sc, "CreateWorkOrder", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        v1::WorkOrder w = req->work_order();
        common::CheckToken(v, w.id(), "work_order.id", domain::kMaxTokenLength);
        domain::CheckEtagSyntax(v, w.etag(), "work_order.etag");
        CheckWorkOrder(v, w, kAllFields);
        v.ThrowIfAny();
        *resp->mutable_work_order() = workorders::Create(db_, outbox_, rc, w, req->request_id());
    });
}

grpc::Status FieldService::GetWorkOrder(grpc::ServerContext* sc, const v1::GetWorkOrderRequest* req,
                                        v1::GetWorkOrderResponse* resp) {
    return rpc_.Handle(sc, "GetWorkOrder", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_work_order() = workorders::Get(db_, rc, id);
    });
}

grpc::Status FieldService::ListWorkOrders(grpc::ServerContext* sc, const v1::ListWorkOrdersRequest* req,
                                          v1::ListWorkOrdersResponse* resp) {
    return rpc_.Handle(sc, "ListWorkOrders", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        if (!v1::WorkOrderStatus_IsValid(req->status())) v.Add("status", "not a work order status");
        const std::string technician = domain::CheckOptionalId(v, req->technician_id(), "technician_id");
        v.ThrowIfAny();
        auto page = workorders::List(db_, rc, req->status(), technician, size, req->page_token());
        for (auto& w : page.items) *resp->add_work_orders() = std::move(w);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status FieldService::UpdateWorkOrder(grpc::ServerContext* sc, const v1::UpdateWorkOrderRequest* req,
                                           v1::UpdateWorkOrderResponse* resp) {
    return rpc_.Handle(sc, "UpdateWorkOrder", [&](const RequestContext& rc) {
        common::Violations v;
        v1::WorkOrder w = req->work_order();
        w.set_id(common::CheckId(v, w.id(), "work_order.id"));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, w.etag(), "work_order.etag");
        const auto paths =
            UpdatePaths(v, req->update_mask(),
                        {"title", "description", "site", "asset_id", "work_type", "duration_minutes", "required_skills",
                         "priority", "time_windows", "checklist", "parts_needed", "contact_id", "company_id"},
                        [&](const std::string& f) {
                            if (f == "title") return !w.title().empty();
                            if (f == "description") return !w.description().empty();
                            if (f == "site") return w.has_site();
                            if (f == "asset_id") return !w.asset_id().empty();
                            if (f == "work_type") return !w.work_type().empty();
                            if (f == "duration_minutes") return w.duration_minutes() != 0;
                            if (f == "required_skills") return w.required_skills_size() > 0;
                            if (f == "priority") return w.priority() != v1::PRIORITY_UNSPECIFIED;
                            if (f == "time_windows") return w.time_windows_size() > 0;
                            if (f == "checklist") return w.checklist_size() > 0;
                            if (f == "parts_needed") return w.parts_needed_size() > 0;
                            if (f == "contact_id") return !w.contact_id().empty();
                            return !w.company_id().empty();
                        });
        CheckWorkOrder(v, w, paths);
        v.ThrowIfAny();
        *resp->mutable_work_order() =
            workorders::Update(db_, outbox_, rc, w, paths, req->etag().empty() ? w.etag() : req->etag());
    });
}

grpc::Status FieldService::ChangeWorkOrderStatus(grpc::ServerContext* sc, const v1::ChangeWorkOrderStatusRequest* req,
                                                 v1::ChangeWorkOrderStatusResponse* resp) {
    return rpc_.Handle(sc, "ChangeWorkOrderStatus", [&](const RequestContext& rc) {
        common::Violations v;
        v1::ChangeWorkOrderStatusRequest in = *req;
        in.set_id(common::CheckId(v, in.id(), "id"));
        const auto to = static_cast<domain::Status>(in.status());
        if (!v1::WorkOrderStatus_IsValid(in.status()) || !domain::IsChangeTarget(to)) {
            v.Add("status", "DISPATCHED, EN_ROUTE, ON_SITE, CANNOT_COMPLETE or CANCELLED");
        }
        const bool needs_reason = to == domain::Status::kCannotComplete || to == domain::Status::kCancelled;
        common::CheckText(v, in.reason(), "reason", {.max_chars = 200, .required = needs_reason});
        domain::CheckEtagSyntax(v, in.etag(), "etag");
        const std::int64_t at = ChangeTime(v, in.has_change_time(), in.change_time(), "change_time");
        v.ThrowIfAny();
        *resp->mutable_work_order() = workorders::ChangeStatus(db_, outbox_, rc, in, at, metrics_);
    });
}

void FieldService::CheckCompletion(common::Violations& v, v1::Completion* c, const std::string& field) {
    if (common::CheckListSize(v, c->checklist_answers_size(), field + ".checklist_answers", domain::kMaxChecklist)) {
        for (int i = 0; i < c->checklist_answers_size(); ++i) {
            const std::string f = field + ".checklist_answers[" + std::to_string(i) + "]";
            common::CheckText(v, c->checklist_answers(i).item(), f + ".item", {.max_chars = 200, .required = true});
            common::CheckText(v, c->checklist_answers(i).answer(), f + ".answer", domain::kShortText);
        }
    }
    common::CheckText(v, c->notes(), field + ".notes", domain::kNotesRule);
    if (c->signature().size() > domain::kMaxSignatureBytes) {
        v.Add(field + ".signature", "must be at most 256 KiB");
    }
    if (common::CheckListSize(v, c->parts_used_size(), field + ".parts_used", domain::kMaxParts)) {
        for (int i = 0; i < c->parts_used_size(); ++i) {
            auto* p = c->mutable_parts_used(i);
            const std::string f = field + ".parts_used[" + std::to_string(i) + "]";
            p->set_part_id(common::CheckId(v, p->part_id(), f + ".part_id"));
            p->set_location_id(common::CheckId(v, p->location_id(), f + ".location_id"));
            if (p->quantity() < 1 || p->quantity() > domain::kMaxPartQuantity) {
                v.Add(f + ".quantity", "must be 1 to 10000");
            }
        }
    }
}

std::int64_t FieldService::ChangeTime(common::Violations& v, bool present, const google::protobuf::Timestamp& t,
                                      const std::string& field) {
    const std::int64_t now = NowMicros();
    if (!present) return now;
    if (!common::CheckTime(v, t.seconds(), t.nanos(), field)) return now;
    const std::int64_t at = Micros(t);
    if (at > now + domain::kClockSkewMicros) v.Add(field, "must not be in the future");
    return at;
}

grpc::Status FieldService::CompleteWorkOrder(grpc::ServerContext* sc, const v1::CompleteWorkOrderRequest* req,
                                             v1::CompleteWorkOrderResponse* resp) {
    return rpc_.Handle(sc, "CompleteWorkOrder", [&](const RequestContext& rc) {
        common::Violations v;
        v1::CompleteWorkOrderRequest in = *req;
        in.set_id(common::CheckId(v, in.id(), "id"));
        domain::CheckEtagSyntax(v, in.etag(), "etag");
        CheckCompletion(v, in.mutable_completion(), "completion");
        const std::int64_t at = ChangeTime(v, in.has_complete_time(), in.complete_time(), "complete_time");
        v.ThrowIfAny();
        *resp->mutable_work_order() = workorders::Complete(db_, outbox_, rc, in, at, metrics_);
    });
}

}  // namespace crm::fieldservice
