// Marketing's email clicks and opens as lead engagements (see email_engagement.hpp).
#include "email_engagement/email_engagement.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/marketing/events/v1/events.pb.h>

#include <optional>

#include "crm/common/consumer.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "lifecycle/lifecycle.hpp"

namespace crm::leads::email_engagement {
namespace {

namespace mev = crm::marketing::events::v1;

template <class T>
T Unpack(const common::ConsumedEvent& ev) {
    T payload;
    if (!ev.envelope.payload().UnpackTo(&payload)) {
        throw common::PermanentEventError("payload of " + ev.event_type() + " cannot be read");
    }
    return payload;
}

struct Seen {
    std::string type, person_id, send_id, campaign_id;
    google::protobuf::Timestamp at;
};

std::optional<Seen> Read(const common::ConsumedEvent& ev) {
    const std::string prefix = "crm.marketing.events.v1.";
    if (ev.event_type() == prefix + "EmailClicked") {
        const auto e = Unpack<mev::EmailClicked>(ev);
        return Seen{"email_clicked", e.person_id(), e.send_id(), e.campaign_id(), e.click_time()};
    }
    if (ev.event_type() == prefix + "EmailOpened") {
        const auto e = Unpack<mev::EmailOpened>(ev);
        return Seen{"email_opened", e.person_id(), e.send_id(), e.campaign_id(), e.open_time()};
    }
    return std::nullopt;
}

}  // namespace

bool Apply(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::ConsumedEvent& ev) {
    const auto seen = Read(ev);
    if (!seen) return false;
    if (!common::IsUuid(seen->person_id) || !common::IsUuid(seen->send_id) || !common::IsUuid(seen->campaign_id)) {
        throw common::PermanentEventError(ev.event_type() + " without a person, send or campaign id");
    }
    v1::Lead lead;
    try {
        lead = lifecycle::LoadLead(db, tx, ev.tenant_id(), seen->person_id, /*for_update=*/true);
    } catch (const common::ApiError& e) {
        if (e.code() == grpc::StatusCode::NOT_FOUND) return false;  // a contact of marketing's audience
        throw;
    }
    if (lead.status() == v1::LEAD_STATUS_CONVERTED) return false;  // read-only; the contact carries on
    v1::Engagement engagement;
    engagement.set_type(seen->type);
    engagement.set_direction(v1::ENGAGEMENT_DIRECTION_INBOUND);
    *engagement.mutable_occur_time() = seen->at;
    engagement.set_detail(std::string(kDetailPrefix) + seen->send_id + " campaign " + seen->campaign_id);
    lifecycle::AddEngagement(db, outbox, tx, ev.tenant_id(), "", lead, engagement, common::NewUuid());
    return true;
}

}  // namespace crm::leads::email_engagement
