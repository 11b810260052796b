// Tracked-link visits and one-click unsubscribes (see tracking.hpp).
#include "tracking/tracking.hpp"

#include <crm/marketing/events/v1/events.pb.h>

#include <ctime>

#include "audience/audience.hpp"
#include "campaigns/campaigns.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/public_token.hpp"
#include "email/email.hpp"
#include "records.hpp"
#include "segments/segments.hpp"
#include "sequences/sequences.hpp"
#include "tracking/sql.hpp"

namespace crm::marketing::tracking {
namespace {

namespace ev = crm::marketing::events::v1;
using common::ApiError;

// The token's fields, when it was signed for `purpose` and the caller's tenant; the same answer as an unknown link
// otherwise (nothing tells a forger which part was wrong).
std::vector<std::string> Verify(const std::string& purpose, const std::string& token, std::size_t fields,
                                const std::string& key, const std::string& tenant) {
    const auto verified = common::VerifyPublicToken(purpose, token, fields, key, std::time(nullptr));
    if (!verified || verified->tenant != tenant) throw ApiError::NotFound("link", "(token)");
    for (const auto& f : verified->fields) {
        if (!f.empty() && !common::IsUuid(f)) throw ApiError::NotFound("link", "(token)");
    }
    return verified->fields;
}

google::protobuf::Timestamp TimestampOf(std::int64_t micros) {
    google::protobuf::Timestamp at;
    SetMicros(&at, micros);
    return at;
}

}  // namespace

const std::string& PixelGif() {
    static const std::string kGif(
        "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00"
        "\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b",
        43);
    return kGif;
}

std::string Tracking::OpenLink(const common::RequestContext& rc, const std::string& token,
                               const std::string& visitor_id) {
    const auto fields = Verify(campaigns::kLinkTokenPurpose, token, 3, internal_key_, rc.tenant_id);
    const std::string& link_id = fields[0];
    const std::string& send_id = fields[1];
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const pqxx::result link = db_.Exec(tx, sql::kLink, t, link_id);
        if (link.empty()) throw ApiError::NotFound("link", link_id);
        const std::string campaign_id = link[0][0].as<std::string>();
        // A person who was erased (or never reached the read model) makes an anonymous touch.
        std::string person = fields[2];
        if (!person.empty() && db_.Exec(tx, sql::kPersonExists, t, person).empty()) person.clear();
        const bool from_email = !send_id.empty() && !person.empty();
        const std::string type = from_email ? "email_clicked" : "link_clicked";
        const std::string touch_id = common::NewUuid();
        const std::int64_t now = NowMicros();
        db_.Exec(tx, sql::kInsertTouch, t, touch_id, common::NullIfEmpty(person), person.empty() ? visitor_id : "",
                 type, campaign_id, link[0][2].as<std::string>(), now);
        google::protobuf::Timestamp at;
        SetMicros(&at, now);
        ev::TouchRecorded touch;
        touch.set_touch_id(touch_id);
        touch.set_campaign_id(campaign_id);
        touch.set_person_id(person);
        touch.set_visitor_id(person.empty() ? visitor_id : "");
        touch.set_type(type);
        touch.set_channel(link[0][2].as<std::string>());
        *touch.mutable_touch_time() = at;
        Emit(outbox_, tx, t, rc.request_id, "touch", touch_id, 1, touch);
        if (from_email) {
            db_.Exec(tx, sql::kMarkClicked, t, send_id, person, now);
            ev::EmailClicked clicked;
            clicked.set_send_id(send_id);
            clicked.set_campaign_id(campaign_id);
            clicked.set_person_id(person);
            clicked.set_link_id(link_id);
            *clicked.mutable_click_time() = at;
            Emit(outbox_, tx, t, rc.request_id, email::kSendAggregate, send_id,
                 email::NextSendEvent(db_, tx, t, send_id), clicked);
        }
        if (!person.empty()) {
            audience::Changes changes;
            changes.refreshed.push_back(person);  // "clicked campaign X" segments
            segments_.Apply(tx, t, changes);
        }
        return link[0][1].as<std::string>();
    });
}

void Tracking::Unsubscribe(const common::RequestContext& rc, const std::string& token) {
    const auto fields = Verify(email::kUnsubscribePurpose, token, 2, internal_key_, rc.tenant_id);
    db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const pqxx::result recipient = db_.Exec(tx, sql::kRecipient, t, fields[0], fields[1]);
        if (recipient.empty()) throw ApiError::NotFound("link", "(token)");
        if (db_.Exec(tx, sql::kSuppress, t, recipient[0][0].as<std::string>()).empty()) return;  // already done
        // Counted for the campaign's performance (never a touch for attribution).
        db_.Exec(tx, sql::kInsertTouch, t, common::NewUuid(), fields[1], "", "unsubscribed",
                 recipient[0][1].as<std::string>(), "email", NowMicros());
        ev::Unsubscribed e;
        e.set_person_id(fields[1]);
        e.set_send_id(fields[0]);
        e.set_campaign_id(recipient[0][1].as<std::string>());
        SetMicros(e.mutable_unsubscribe_time(), NowMicros());
        Emit(outbox_, tx, t, rc.request_id, email::kSendAggregate, fields[0],
             email::NextSendEvent(db_, tx, t, fields[0]), e);
        sequences::ExitPerson(db_, outbox_, tx, t, fields[1], "unsubscribed");
    });
}

void Tracking::OpenPixel(const common::RequestContext& rc, const std::string& token) {
    const auto fields = Verify(email::kOpenPurpose, token, 2, internal_key_, rc.tenant_id);
    const std::string& send_id = fields[0];
    const std::string& person = fields[1];
    db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::int64_t now = NowMicros();
        const pqxx::result first = db_.Exec(tx, sql::kFirstOpen, t, send_id, person, now);
        if (first.empty()) {
            // Opened before (or not a message the relay accepted): nothing more to record; an unknown one is NOT_FOUND.
            if (db_.Exec(tx, sql::kRecipient, t, send_id, person).empty()) throw ApiError::NotFound("link", "(token)");
            return;
        }
        const std::string campaign_id = first[0][0].as<std::string>();
        const std::string touch_id = common::NewUuid();
        db_.Exec(tx, sql::kInsertTouch, t, touch_id, person, "", "email_opened", campaign_id, "email", now);
        ev::TouchRecorded touch;
        touch.set_touch_id(touch_id);
        touch.set_campaign_id(campaign_id);
        touch.set_person_id(person);
        touch.set_type("email_opened");
        touch.set_channel("email");
        *touch.mutable_touch_time() = TimestampOf(now);
        Emit(outbox_, tx, t, rc.request_id, "touch", touch_id, 1, touch);
        ev::EmailOpened opened;
        opened.set_send_id(send_id);
        opened.set_campaign_id(campaign_id);
        opened.set_person_id(person);
        *opened.mutable_open_time() = TimestampOf(now);
        Emit(outbox_, tx, t, rc.request_id, email::kSendAggregate, send_id, email::NextSendEvent(db_, tx, t, send_id),
             opened);
        audience::Changes changes;
        changes.refreshed.push_back(person);  // engagement conditions on opens
        segments_.Apply(tx, t, changes);
    });
}

}  // namespace crm::marketing::tracking
