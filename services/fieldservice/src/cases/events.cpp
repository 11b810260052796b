// Support's events (topic crm.support.v1), applied once each by the kit's consumer runtime in the event's tenant:
// every case snapshot updates what this service knows of the case (its links for CreateWorkOrder); CaseCreated and
// CaseEscalated of a case in a visit category give the case its work order unless it has one (any status) already.
#include <crm/common/v1/event.pb.h>
#include <crm/support/events/v1/events.pb.h>

#include "cases/cases.hpp"
#include "cases/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/cases.hpp"
#include "domain/checks.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice::cases {
namespace {

namespace sev = crm::support::events::v1;
namespace sv1 = crm::support::v1;

constexpr char kCreated[] = "crm.support.events.v1.CaseCreated";
constexpr char kEscalated[] = "crm.support.events.v1.CaseEscalated";

template <class M>
std::optional<sv1::Case> SnapshotOf(const common::ConsumedEvent& event) {
    M message;
    if (!event.envelope.payload().UnpackTo(&message)) {
        throw common::PermanentEventError("payload of " + event.event_type() + " cannot be read");
    }
    return message.case_();
}

// The case as the event shows it, for the events that carry one; nullopt for others.
std::optional<sv1::Case> CaseOf(const common::ConsumedEvent& event) {
    const std::string& type = event.event_type();
    if (type == kCreated) return SnapshotOf<sev::CaseCreated>(event);
    if (type == kEscalated) return SnapshotOf<sev::CaseEscalated>(event);
    if (type == "crm.support.events.v1.CaseUpdated") return SnapshotOf<sev::CaseUpdated>(event);
    if (type == "crm.support.events.v1.CaseStatusChanged") return SnapshotOf<sev::CaseStatusChanged>(event);
    if (type == "crm.support.events.v1.CaseAssigned") return SnapshotOf<sev::CaseAssigned>(event);
    if (type == "crm.support.events.v1.CaseMerged") return SnapshotOf<sev::CaseMerged>(event);
    return std::nullopt;
}

// An id of another service as this one stores links: a UUID (lowercased), or "" when it is none.
std::string LinkOrEmpty(const std::string& value) {
    common::Violations v;
    const std::string id = domain::CheckOptionalId(v, value, "id");
    return v.empty() ? id : std::string();
}

v1::WorkOrder WorkOrderOf(const sv1::Case& c, const std::string& case_id, const v1::VisitCategory& category) {
    v1::WorkOrder w;
    w.set_case_id(case_id);
    w.set_contact_id(LinkOrEmpty(c.contact_id()));
    w.set_company_id(LinkOrEmpty(c.company_id()));
    w.set_title(domain::CaseWorkOrderTitle(c.number(), c.subject()));
    w.set_description(domain::CutText(c.description(), domain::kNotesRule.max_chars));
    common::Violations asset;
    common::CheckToken(asset, c.asset_id(), "asset_id", domain::kMaxTokenLength);
    if (asset.empty()) w.set_asset_id(c.asset_id());  // support allows longer asset ids than a work order keeps
    w.set_work_type(category.work_type());
    w.set_duration_minutes(category.duration_minutes());
    *w.mutable_required_skills() = category.required_skills();
    *w.mutable_checklist() = category.checklist();
    // The priorities have the same names and numbers in both services.
    const int priority = static_cast<int>(c.priority());
    w.set_priority(v1::Priority_IsValid(priority) && priority != 0 ? static_cast<v1::Priority>(priority)
                                                                   : v1::PRIORITY_NORMAL);
    return w;
}

}  // namespace

common::EventHandler MakeHandler(common::Db& db, common::Outbox& outbox) {
    return [&db, &outbox](pqxx::work& tx, const common::ConsumedEvent& event) {
        const std::optional<sv1::Case> snapshot = CaseOf(event);
        if (!snapshot) return;
        const sv1::Case& c = *snapshot;
        common::Violations v;
        const std::string case_id = common::CheckId(v, c.id(), "case.id");
        if (!v.empty()) throw common::PermanentEventError("the case id of the event is not a UUID");
        const std::string& tenant = event.tenant_id();
        LockCase(db, tx, tenant, case_id);
        db.Exec(tx, sql::kUpsertCase, tenant, case_id, c.number(), common::NullIfEmpty(LinkOrEmpty(c.contact_id())),
                common::NullIfEmpty(LinkOrEmpty(c.company_id())), c.category(), c.version());
        const std::string& type = event.event_type();
        if (type != kCreated && type != kEscalated) return;
        const auto category = FindVisitCategory(db, tx, tenant, c.category());
        if (!category || workorders::CaseHasWorkOrder(db, tx, tenant, case_id)) return;
        RequestContext rc;
        rc.tenant_id = tenant;
        rc.request_id = event.event_id();
        workorders::CreateIn(db, outbox, tx, rc, common::NewUuid(), WorkOrderOf(c, case_id, category.value()));
    };
}

}  // namespace crm::fieldservice::cases
