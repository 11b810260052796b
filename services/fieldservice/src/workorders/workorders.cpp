// Work orders: creation, reads, lists, updates and status transitions (see workorders.hpp; the lifecycle RPCs are in
// lifecycle.cpp).
#include "workorders/workorders.hpp"

#include <crm/fieldservice/events/v1/events.pb.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "cases/cases.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/sealed_columns.hpp"
#include "records.hpp"
#include "sealed.hpp"
#include "technicians/technicians.hpp"
#include "workorders/sql.hpp"

namespace crm::fieldservice::workorders {
namespace {

namespace ev = crm::fieldservice::events::v1;
using common::ApiError;
using nlohmann::json;

const char* PriorityText(v1::Priority p) {
    switch (p) {
        case v1::PRIORITY_LOW:
            return "LOW";
        case v1::PRIORITY_HIGH:
            return "HIGH";
        case v1::PRIORITY_URGENT:
            return "URGENT";
        default:
            return "NORMAL";
    }
}

v1::Priority ParsePriority(const std::string& p) {
    if (p == "LOW") return v1::PRIORITY_LOW;
    if (p == "HIGH") return v1::PRIORITY_HIGH;
    if (p == "URGENT") return v1::PRIORITY_URGENT;
    return v1::PRIORITY_NORMAL;
}

v1::WorkOrderStatus StatusOf(const std::string& text) {
    const auto s = domain::ParseStatus(text);
    return static_cast<v1::WorkOrderStatus>(s ? static_cast<int>(*s) : 0);
}

// The row's wrapped data key: the last of CRM_WORK_ORDER_COLUMNS.
constexpr int kWorkOrderKeyField = 27;

// A row of CRM_WORK_ORDER_COLUMNS (workorders/sql.hpp), its sealed values opened with the work order's key.
v1::WorkOrder ReadWorkOrder(const pqxx::row& r, const std::string& tenant) {
    v1::WorkOrder w;
    w.set_id(r[0].as<std::string>());
    const common::ColumnKey key(tenant, w.id(), r[kWorkOrderKeyField]);
    w.set_case_id(r[1].as<std::string>());
    w.set_contact_id(r[2].as<std::string>());
    w.set_company_id(r[3].as<std::string>());
    w.set_title(key.Open(sealed::kTitle, r[4].c_str()));
    w.set_description(key.Open(sealed::kDescription, r[5].c_str()));
    if (const std::string address = key.Open(sealed::kSiteAddress, r[6].c_str()); !address.empty()) {
        // none: from a case event (or erased)
        w.mutable_site()->set_address(address);
        w.mutable_site()->mutable_location()->set_latitude(r[7].as<double>());
        w.mutable_site()->mutable_location()->set_longitude(r[8].as<double>());
    }
    w.set_asset_id(r[9].as<std::string>());
    w.set_work_type(r[10].as<std::string>());
    w.set_duration_minutes(r[11].as<int>());
    for (const auto& s : json::parse(r[12].as<std::string>())) {
        auto* need = w.add_required_skills();
        need->set_skill(s.at("skill").get<std::string>());
        need->set_min_level(s.at("min_level").get<int>());
    }
    w.set_priority(ParsePriority(r[13].as<std::string>()));
    for (const auto& s : json::parse(r[14].as<std::string>())) {
        auto* window = w.add_time_windows();
        *window->mutable_start_time() = FromMicros(s.at("start").get<std::int64_t>());
        *window->mutable_end_time() = FromMicros(s.at("end").get<std::int64_t>());
    }
    for (const auto& s : json::parse(r[15].as<std::string>())) w.add_checklist(s.get<std::string>());
    for (const auto& s : json::parse(r[16].as<std::string>())) {
        auto* part = w.add_parts_needed();
        part->set_part_id(s.at("part_id").get<std::string>());
        part->set_quantity(s.at("quantity").get<int>());
    }
    w.set_status(StatusOf(r[17].as<std::string>()));
    w.set_status_reason(key.Open(sealed::kStatusReason, r[18].c_str()));
    const std::string technician = r[19].as<std::string>();
    const std::string completion = r[20].as<std::string>();
    if (!completion.empty()) {
        google::protobuf::util::JsonParseOptions options;
        options.ignore_unknown_fields = true;
        if (!google::protobuf::util::JsonStringToMessage(completion, w.mutable_completion(), options).ok()) {
            throw std::runtime_error("stored completion is not readable");
        }
        auto* c = w.mutable_completion();
        c->set_notes(key.Open(sealed::kCompletionNotes, c->notes()));
        for (auto& answer : *c->mutable_checklist_answers()) {
            answer.set_answer(key.Open(sealed::kChecklistAnswer, answer.answer()));
        }
        const std::string signature = r[21].as<std::string>();
        if (!signature.empty()) w.mutable_completion()->set_signature(common::HexDecode(signature));
    }
    SetTime(w.mutable_create_time(), r[22]);
    SetTime(w.mutable_update_time(), r[23]);
    w.set_version(r[24].as<std::int64_t>());
    w.set_etag(common::MakeEtag(w.version()));
    for (const auto& h : json::parse(r[25].as<std::string>())) {
        auto* change = w.add_history();
        change->set_from_status(StatusOf(h.at("from").get<std::string>()));
        change->set_to_status(StatusOf(h.at("to").get<std::string>()));
        *change->mutable_change_time() = FromMicros(h.at("at").get<std::int64_t>());
        change->set_actor(h.at("actor").get<std::string>());
        change->set_reason(key.Open(sealed::kHistoryReason, h.at("reason").get<std::string>()));
    }
    const std::string appointment = r[26].as<std::string>();
    if (!appointment.empty()) {
        const json a = json::parse(appointment);
        auto* out = w.mutable_appointment();
        out->set_id(a.at("id").get<std::string>());
        out->set_technician_id(a.at("technician_id").get<std::string>());
        *out->mutable_start_time() = FromMicros(a.at("start").get<std::int64_t>());
        *out->mutable_end_time() = FromMicros(a.at("end").get<std::int64_t>());
        out->set_travel_minutes(a.at("travel").get<int>());
        out->set_work_order_id(w.id());
    }
    (void)technician;  // the appointment names the technician booked
    return w;
}

std::string SkillsJson(const v1::WorkOrder& w) {
    json out = json::array();
    for (const auto& s : w.required_skills()) out.push_back({{"skill", s.skill()}, {"min_level", s.min_level()}});
    return out.dump();
}
std::string WindowsJson(const v1::WorkOrder& w) {
    json out = json::array();
    for (const auto& t : w.time_windows()) {
        out.push_back({{"start", Micros(t.start_time())}, {"end", Micros(t.end_time())}});
    }
    return out.dump();
}
std::string ChecklistJson(const v1::WorkOrder& w) {
    json out = json::array();
    for (const auto& c : w.checklist()) out.push_back(c);
    return out.dump();
}
std::string PartsJson(const v1::WorkOrder& w) {
    json out = json::array();
    for (const auto& p : w.parts_needed()) out.push_back({{"part_id", p.part_id()}, {"quantity", p.quantity()}});
    return out.dump();
}

}  // namespace

domain::Point SiteOf(const v1::WorkOrder& wo) {
    return {wo.site().location().latitude(), wo.site().location().longitude()};
}

v1::WorkOrder Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                   bool for_update) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetWorkOrderForUpdate : sql::kGetWorkOrder, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("work order", id);
    return ReadWorkOrder(rows[0], tenant);
}

std::vector<v1::WorkOrder> LoadMany(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::vector<std::string>& ids) {
    std::vector<v1::WorkOrder> out;
    if (ids.empty()) return out;
    for (const auto& r : db.Exec(tx, sql::kGetWorkOrders, tenant, UuidArray(ids)))
        out.push_back(ReadWorkOrder(r, tenant));
    return out;
}

std::string TechnicianOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kTechnicianOfWorkOrder, tenant, id);
    return rows.empty() ? std::string() : rows[0][0].as<std::string>();
}

void RequireVisible(common::Db& db, pqxx::transaction_base& tx, const RequestContext& rc, const v1::WorkOrder& wo) {
    const Actor actor = ActorOf(rc);
    if (!actor.technician_only) return;
    const auto mine = technicians::IdOfUser(db, tx, rc.tenant_id, actor.user_id);
    const pqxx::result booked = db.Exec(tx, sql::kTechnicianOfWorkOrder, rc.tenant_id, wo.id());
    if (!mine || booked.empty() || booked[0][0].as<std::string>() != *mine) {
        throw ApiError::NotFound("work order", wo.id());
    }
}

v1::WorkOrder Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::WorkOrder& in,
                     const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, t, "CreateWorkOrder", request_id, id)) {
            return Load(db, tx, t, *first);
        }
        v1::WorkOrder next = in;
        if (!in.case_id().empty()) {
            // Serialised with the case's events (one work order per case from them); a known case gives its links.
            if (const auto links = cases::LockCase(db, tx, t, in.case_id())) {
                if (next.contact_id().empty()) next.set_contact_id(links->contact_id);
                if (next.company_id().empty()) next.set_company_id(links->company_id);
            }
        }
        return CreateIn(db, outbox, tx, rc, id, next);
    });
}

v1::WorkOrder CreateIn(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                       const std::string& id, const v1::WorkOrder& in) {
    const std::string& t = rc.tenant_id;
    common::ColumnSealer sealer(db, tx, t);
    const std::string address = sealer.Seal(id, sealed::kSiteAddress, in.site().address());
    db.Exec(tx, sql::kInsertWorkOrder, t, id, common::NullIfEmpty(in.case_id()), common::NullIfEmpty(in.contact_id()),
            common::NullIfEmpty(in.company_id()), sealer.Seal(id, sealed::kTitle, in.title()),
            sealer.Seal(id, sealed::kDescription, in.description()), in.has_site() ? address.c_str() : nullptr,
            in.site().location().latitude(), in.site().location().longitude(), in.asset_id(), in.work_type(),
            in.duration_minutes(), SkillsJson(in), PriorityText(in.priority()), WindowsJson(in), ChecklistJson(in),
            PartsJson(in));
    v1::WorkOrder created = Load(db, tx, t, id);
    ev::WorkOrderCreated event;
    *event.mutable_work_order() = created;
    Emit(outbox, tx, rc, "work_order", id, created.version(), event, created.create_time());
    return created;
}

bool CaseHasWorkOrder(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                      const std::string& case_id) {
    return db.Exec(tx, sql::kCaseHasWorkOrder, tenant, case_id)[0][0].as<bool>();
}

v1::WorkOrder Get(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        v1::WorkOrder wo = Load(db, tx, rc.tenant_id, id);
        RequireVisible(db, tx, rc, wo);
        return wo;
    });
}

common::Page<v1::WorkOrder> List(common::Db& db, const RequestContext& rc, v1::WorkOrderStatus status,
                                 const std::string& technician_id, int page_size, const std::string& page_token) {
    const Actor actor = ActorOf(rc);
    const std::string scope =
        json{"ListWorkOrders", static_cast<int>(status), technician_id, actor.technician_only}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::WorkOrder> items = db.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::WorkOrder> out;
        std::string technician = technician_id;
        if (actor.technician_only) {
            const auto mine = technicians::IdOfUser(db, tx, rc.tenant_id, actor.user_id);
            if (!mine || (!technician_id.empty() && technician_id != *mine)) return out;
            technician = *mine;
        }
        const std::string status_text =
            status == v1::WORK_ORDER_STATUS_UNSPECIFIED ? "" : domain::StatusText(static_cast<domain::Status>(status));
        const std::string& t = rc.tenant_id;
        pqxx::result rows;
        if (technician.empty() && status_text.empty()) {
            rows = db.Exec(tx, sql::kListWorkOrders, t, after.micros, after.id, page_size + 1);
        } else if (technician.empty()) {
            rows = db.Exec(tx, sql::kListWorkOrdersByStatus, t, after.micros, after.id, page_size + 1, status_text);
        } else if (status_text.empty()) {
            rows = db.Exec(tx, sql::kListWorkOrdersByTechnician, t, after.micros, after.id, page_size + 1, technician);
        } else {
            rows = db.Exec(tx, sql::kListWorkOrdersByTechnicianStatus, t, after.micros, after.id, page_size + 1,
                           technician, status_text);
        }
        for (const auto& r : rows) out.push_back(ReadWorkOrder(r, rc.tenant_id));
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::WorkOrder& w) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(w.create_time()), w.id()});
    });
}

v1::WorkOrder Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::WorkOrder& in,
                     const std::vector<std::string>& paths, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::WorkOrder current = Load(db, tx, t, in.id(), true);
        common::CheckEtag(etag, current.version());
        const auto status = static_cast<domain::Status>(current.status());
        if (domain::IsFinished(status)) {
            throw ApiError::FailedPrecondition("the work order is finished", "WORK_ORDER_FINISHED");
        }
        v1::WorkOrder next = current;
        for (const auto& p : paths) {
            const bool slot_bound =
                p == "site" || p == "duration_minutes" || p == "time_windows" || p == "required_skills";
            if (slot_bound && domain::IsBooked(status)) {
                throw ApiError::FailedPrecondition(
                    "the work order is booked: unassign or reschedule it before changing " + p, "BOOKED");
            }
            if (p == "title") next.set_title(in.title());
            if (p == "description") next.set_description(in.description());
            if (p == "site") *next.mutable_site() = in.site();
            if (p == "asset_id") next.set_asset_id(in.asset_id());
            if (p == "work_type") next.set_work_type(in.work_type());
            if (p == "duration_minutes") next.set_duration_minutes(in.duration_minutes());
            if (p == "required_skills") *next.mutable_required_skills() = in.required_skills();
            if (p == "priority") next.set_priority(in.priority());
            if (p == "time_windows") *next.mutable_time_windows() = in.time_windows();
            if (p == "checklist") *next.mutable_checklist() = in.checklist();
            if (p == "parts_needed") *next.mutable_parts_needed() = in.parts_needed();
            if (p == "contact_id") next.set_contact_id(in.contact_id());
            if (p == "company_id") next.set_company_id(in.company_id());
        }
        std::vector<std::string> changed;
        const auto differs = [](const google::protobuf::Message& a, const google::protobuf::Message& b) {
            return a.SerializeAsString() != b.SerializeAsString();
        };
        if (next.title() != current.title()) changed.push_back("title");
        if (next.description() != current.description()) changed.push_back("description");
        if (differs(next.site(), current.site())) changed.push_back("site");
        if (next.asset_id() != current.asset_id()) changed.push_back("asset_id");
        if (next.work_type() != current.work_type()) changed.push_back("work_type");
        if (next.duration_minutes() != current.duration_minutes()) changed.push_back("duration_minutes");
        if (SkillsJson(next) != SkillsJson(current)) changed.push_back("required_skills");
        if (next.priority() != current.priority()) changed.push_back("priority");
        if (WindowsJson(next) != WindowsJson(current)) changed.push_back("time_windows");
        if (ChecklistJson(next) != ChecklistJson(current)) changed.push_back("checklist");
        if (PartsJson(next) != PartsJson(current)) changed.push_back("parts_needed");
        if (next.contact_id() != current.contact_id()) changed.push_back("contact_id");
        if (next.company_id() != current.company_id()) changed.push_back("company_id");
        if (changed.empty()) return current;
        common::ColumnSealer sealer(db, tx, t);
        const std::string address = sealer.Seal(in.id(), sealed::kSiteAddress, next.site().address());
        const pqxx::result rows = db.Exec(
            tx, sql::kWriteWorkOrder, t, in.id(), common::NullIfEmpty(next.contact_id()),
            common::NullIfEmpty(next.company_id()), sealer.Seal(in.id(), sealed::kTitle, next.title()),
            sealer.Seal(in.id(), sealed::kDescription, next.description()), next.has_site() ? address.c_str() : nullptr,
            next.site().location().latitude(), next.site().location().longitude(), next.asset_id(), next.work_type(),
            next.duration_minutes(), SkillsJson(next), PriorityText(next.priority()), WindowsJson(next),
            ChecklistJson(next), PartsJson(next), current.version());
        if (rows.empty()) throw ApiError::Aborted("the work order changed concurrently; read it again and retry");
        v1::WorkOrder updated = Load(db, tx, t, in.id());
        ev::WorkOrderUpdated event;
        *event.mutable_work_order() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        Emit(outbox, tx, rc, "work_order", updated.id(), updated.version(), event, updated.update_time());
        return updated;
    });
}

v1::WorkOrder Transition(common::Db& db, pqxx::transaction_base& tx, const RequestContext& rc,
                         const v1::WorkOrder& current, domain::Status to, std::int64_t at_micros,
                         const std::string& reason, const std::optional<std::string>& technician) {
    const std::string& t = rc.tenant_id;
    const auto from = static_cast<domain::Status>(current.status());
    common::ColumnSealer sealer(db, tx, t);
    const pqxx::result rows = db.Exec(tx, sql::kSetStatus, t, current.id(), domain::StatusText(to),
                                      sealer.Seal(current.id(), sealed::kStatusReason, reason), technician.value_or(""),
                                      !technician.has_value(), current.version());
    if (rows.empty()) throw ApiError::Aborted("the work order changed concurrently; read it again and retry");
    db.Exec(tx, sql::kInsertHistory, t, current.id(), domain::StatusText(from), domain::StatusText(to), at_micros,
            rc.user_id, sealer.Seal(current.id(), sealed::kHistoryReason, reason));
    return Load(db, tx, t, current.id());
}

std::int64_t BackfillCompletions(common::Db& db) {
    // The value of `field` of `owner` sealed, when it is a clear, non-empty string.
    const auto seal = [](common::ColumnSealer& sealer, const std::string& id, json& owner, const char* field,
                         const char* column) {
        if (!owner.contains(field) || !owner[field].is_string()) return;
        const std::string value = owner[field].get<std::string>();
        if (!value.empty() && value.rfind("pv1.", 0) != 0) owner[field] = sealer.Seal(id, column, value);
    };
    std::int64_t total = 0;
    for (;;) {
        const std::vector<std::string> tenants = db.InTenant(std::string(), [&](pqxx::work& tx) {
            db.Exec(tx, sql::kMaintenanceOn);
            std::vector<std::string> out;
            for (const auto& row : db.Exec(tx, sql::kUnsealedCompletionTenants)) out.push_back(row[0].c_str());
            return out;
        });
        if (tenants.empty()) return total;
        for (const std::string& tenant : tenants) {
            for (std::int64_t n = 500; n == 500;) {
                n = db.InTenant(tenant, [&](pqxx::work& tx) {
                    std::vector<std::string> ids, completions;
                    common::ColumnSealer sealer(db, tx, tenant);
                    for (const auto& row : db.Exec(tx, sql::kUnsealedCompletions, tenant)) {
                        const std::string id = row[0].c_str();
                        json c = json::parse(row[1].c_str());
                        seal(sealer, id, c, "notes", sealed::kCompletionNotes);
                        if (c.contains("checklistAnswers") && c["checklistAnswers"].is_array()) {
                            for (auto& a : c["checklistAnswers"])
                                seal(sealer, id, a, "answer", sealed::kChecklistAnswer);
                        }
                        ids.push_back(id);
                        completions.push_back(c.dump());
                    }
                    if (!ids.empty()) {
                        db.Exec(tx, sql::kSealCompletions, tenant, common::PgTextArray(ids),
                                common::PgTextArray(completions));
                    }
                    return static_cast<std::int64_t>(ids.size());
                });
                total += n;
            }
        }
    }
}

v1::WorkOrder Touch(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::WorkOrder& current,
                    const std::string& technician_id) {
    if (db.Exec(tx, sql::kTouchWorkOrder, tenant, current.id(), current.version(), technician_id).empty()) {
        throw ApiError::Aborted("the work order changed concurrently; read it again and retry");
    }
    return Load(db, tx, tenant, current.id());
}

}  // namespace crm::fieldservice::workorders
