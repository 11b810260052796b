#include "fieldservice_events/fieldservice_events.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/fieldservice/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>

#include <optional>
#include <string>

#include "cases/cases.hpp"
#include "conversation/conversation.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/resource.hpp"

namespace crm::support::fieldservice_events {
namespace {

namespace fev = crm::fieldservice::events::v1;
using google::protobuf::util::TimeUtil;

std::optional<v1::Case> FindCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                 const std::string& id) {
    try {
        return cases::LoadCase(db, tx, tenant, id, true);
    } catch (const common::ApiError& e) {
        if (e.code() == grpc::StatusCode::NOT_FOUND) return std::nullopt;
        throw;
    }
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

// The note's text: plain, one fact per line, the technician's notes last.
std::string NoteBody(const fev::WorkOrderCompleted& done) {
    const auto& wo = done.work_order();
    std::string body = "Field visit completed: work order \"" + wo.title() + "\" (" + wo.id() + ")";
    if (wo.completion().has_complete_time()) body += " at " + TimeUtil::ToString(wo.completion().complete_time());
    body += ".\nFirst-time fix: " + YesNo(done.first_time_fix()) + ".";
    body += "\nTime on site: " + std::to_string((done.duration_seconds() + 59) / 60) +
            " min; travel: " + std::to_string((done.travel_seconds() + 59) / 60) + " min.";
    body += "\nArrival within the customer's window: " + YesNo(done.window_kept()) + ".";
    int units = 0;
    for (const auto& p : done.parts_used()) units += p.quantity();
    body += "\nParts used: " + std::to_string(done.parts_used_size()) + " (" + std::to_string(units) + " units).";
    if (!wo.appointment().technician_id().empty()) body += "\nTechnician: " + wo.appointment().technician_id() + ".";
    if (!wo.completion().notes().empty()) body += "\nTechnician's notes:\n" + wo.completion().notes();
    return body;
}

}  // namespace

common::EventHandler MakeHandler(common::Db& db, common::Outbox& outbox, int reopen_days) {
    return [&db, &outbox, reopen_days](pqxx::work& tx, const common::ConsumedEvent& event) {
        if (event.event_type() != "crm.fieldservice.events.v1.WorkOrderCompleted") return;
        fev::WorkOrderCompleted done;
        if (!event.envelope.payload().UnpackTo(&done)) {
            throw common::PermanentEventError("payload of " + event.event_type() + " cannot be read");
        }
        common::Violations v;
        const std::string case_id = done.case_id().empty() ? "" : common::CheckId(v, done.case_id(), "case_id");
        if (case_id.empty() || !v.empty()) return;  // not a case's work order (or a link support cannot have)
        const std::string& tenant = event.tenant_id();
        std::optional<v1::Case> c = FindCase(db, tx, tenant, case_id);
        if (c && c->status() == v1::CASE_STATUS_MERGED && !c->merged_into_id().empty()) {
            c = FindCase(db, tx, tenant, c->merged_into_id());
        }
        if (!c || c->status() == v1::CASE_STATUS_MERGED) return;
        v1::CaseMessage note;
        note.set_kind(v1::MESSAGE_KIND_INTERNAL_NOTE);
        note.set_channel(v1::CHANNEL_API);
        note.set_author_name("Field service");
        note.set_body(NoteBody(done));
        common::RequestContext rc;
        rc.tenant_id = tenant;
        rc.request_id = event.event_id();
        conversation::AddToCase(db, outbox, tx, rc, *c, note, common::NewUuid(), "fieldservice", reopen_days);
    };
}

}  // namespace crm::support::fieldservice_events
