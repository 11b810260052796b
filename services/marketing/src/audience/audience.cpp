// The audience read model (see audience.hpp).
#include "audience/audience.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/contacts/events/v1/events.pb.h>
#include <crm/leads/events/v1/events.pb.h>
#include <crm/privacy/v1/retention.pb.h>

#include <nlohmann/json.hpp>

#include "audience/sealed.hpp"
#include "audience/sql.hpp"
#include "crm/common/consumer.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/text.hpp"
#include "records.hpp"

namespace crm::marketing::audience {
namespace {

namespace cev = crm::contacts::events::v1;
namespace lev = crm::leads::events::v1;
namespace cv1 = crm::contacts::v1;
namespace lv1 = crm::leads::v1;

// The fields of a snapshot, as the upsert writes them.
struct Row {
    std::string id, kind, state = "active", email, given_name, family_name, job_title, company_name, country;
    std::string lead_source, lead_status, consent = "unknown", campaign_id, contact_id;
    int lead_score = 0;
    std::vector<std::string> tags;
    nlohmann::json custom = nlohmann::json::object();
    std::int64_t version = 0;
    std::int64_t create_micros = 0;
};

Row FromContact(const cv1::Contact& c) {
    Row r;
    r.id = c.id();
    r.kind = "contact";
    if (c.state() == cv1::CONTACT_STATE_MERGED) {
        r.state = "merged";
        r.contact_id = c.merged_into_id();
    } else if (c.has_delete_time()) {
        r.state = "deleted";
    }
    r.email = c.email();
    r.given_name = c.given_name();
    r.family_name = c.family_name();
    r.job_title = c.job_title();
    r.tags.assign(c.tags().begin(), c.tags().end());
    for (const auto& [k, v] : c.custom_fields()) r.custom[k] = v;
    switch (c.email_consent().status()) {
        case cv1::CONSENT_STATUS_OPTED_IN:
            r.consent = "opted_in";
            break;
        case cv1::CONSENT_STATUS_OPTED_OUT:
            r.consent = "opted_out";
            break;
        default:
            break;
    }
    r.version = c.version();
    r.create_micros = Micros(c.create_time());
    return r;
}

Row FromLead(const lv1::Lead& l) {
    Row r;
    r.id = l.id();
    r.kind = "lead";
    if (l.status() == lv1::LEAD_STATUS_CONVERTED) {
        r.state = "converted";
        r.contact_id = l.conversion().contact_id();
    }
    r.email = l.email();
    r.given_name = l.given_name();
    r.family_name = l.family_name();
    r.job_title = l.job_title();
    r.company_name = l.company_name();
    r.country = l.country();
    r.lead_source = l.source();
    const std::string status = lv1::LeadStatus_Name(l.status());
    r.lead_status = common::text::AsciiLower(status.substr(std::min(status.size(), sizeof("LEAD_STATUS_") - 1)));
    r.lead_score = l.score();
    if (l.consent().granted()) r.consent = "opted_in";
    r.campaign_id = l.campaign_id();
    for (const auto& [k, v] : l.attributes()) r.custom[k] = v;
    r.version = l.version();
    r.create_micros = Micros(l.create_time());
    return r;
}

bool IsErased(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id) {
    return !db.Exec(tx, sql::kIsErased, tenant, id).empty();
}

// True when the row changed (a newer snapshot of a person not erased). The personal columns are written sealed under
// the person's data key (audience/sealed.hpp).
bool Upsert(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const Row& r) {
    if (!common::IsUuid(r.id)) throw common::PermanentEventError("snapshot without a UUID id");
    if (IsErased(db, tx, tenant, r.id)) return false;
    const std::string contact = common::IsUuid(r.contact_id) ? r.contact_id : std::string();
    common::ColumnSealer sealer(db, tx, tenant);
    return !db.Exec(tx, sql::kUpsert, tenant, r.id, r.kind, r.state, sealer.Seal(r.id, sealed::kEmail, r.email),
                    sealer.Seal(r.id, sealed::kGivenName, r.given_name),
                    sealer.Seal(r.id, sealed::kFamilyName, r.family_name),
                    sealer.Seal(r.id, sealed::kJobTitle, r.job_title),
                    sealer.Seal(r.id, sealed::kCompanyName, r.company_name), r.country, r.lead_source, r.lead_status,
                    r.lead_score, r.consent, domain::TextArrayLiteral(r.tags),
                    sealer.SealObject(r.id, sealed::kCustom, r.custom.dump()), r.campaign_id,
                    common::NullIfEmpty(contact), r.version, r.create_micros, sealed::EmailIndex(tenant, r.email))
                .empty();
}

template <class T>
T Unpack(const common::ConsumedEvent& ev) {
    T payload;
    if (!ev.envelope.payload().UnpackTo(&payload)) {
        throw common::PermanentEventError("payload of " + ev.event_type() + " cannot be read");
    }
    return payload;
}

void ApplyLead(common::Db& db, pqxx::transaction_base& tx, const common::ConsumedEvent& ev, const lv1::Lead& lead,
               Changes& changes) {
    if (Upsert(db, tx, ev.tenant_id(), FromLead(lead))) changes.refreshed.push_back(lead.id());
}

}  // namespace

std::int64_t EraseEngagements(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::string& person_id) {
    return static_cast<std::int64_t>(db.Exec(tx, sql::kAnonymiseTouches, tenant, person_id).affected_rows() +
                                     db.Exec(tx, sql::kDeleteEngagements, tenant, person_id).affected_rows());
}

std::int64_t ForgetRecipients(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::string& person_id) {
    return static_cast<std::int64_t>(db.Exec(tx, sql::kForgetRecipients, tenant, person_id).affected_rows());
}

std::int64_t Erase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                   Changes& changes) {
    std::vector<std::string> ids = {id};
    for (const auto& row : db.Exec(tx, sql::kErasedIds, tenant, id)) {
        const std::string other = row[0].as<std::string>();
        if (other != id) ids.push_back(other);
    }
    std::int64_t deleted = 0;
    for (const auto& person : ids) {
        db.Exec(tx, sql::kTombstone, tenant, person);
        EraseEngagements(db, tx, tenant, person);
        ForgetRecipients(db, tx, tenant, person);
        deleted += static_cast<std::int64_t>(db.Exec(tx, sql::kDeletePerson, tenant, person).affected_rows() +
                                             db.Exec(tx, sql::kAnonymiseCampaignLead, tenant, person).affected_rows());
        changes.erased.push_back(person);
    }
    // The people's data keys go too: whatever copy of their sealed values is left (a backup, a dump) no longer opens.
    common::ShredSubjects(db, tx, tenant, ids);
    return deleted;
}

Changes Apply(common::Db& db, pqxx::transaction_base& tx, const common::ConsumedEvent& ev) {
    Changes changes;
    const std::string& t = ev.tenant_id();
    const std::string& type = ev.event_type();
    const std::string contacts = "crm.contacts.events.v1.";
    const std::string leads = "crm.leads.events.v1.";
    if (type == contacts + "ContactCreated") {
        const auto e = Unpack<cev::ContactCreated>(ev);
        if (Upsert(db, tx, t, FromContact(e.contact()))) changes.refreshed.push_back(e.contact().id());
    } else if (type == contacts + "ContactUpdated") {
        const auto e = Unpack<cev::ContactUpdated>(ev);
        if (Upsert(db, tx, t, FromContact(e.contact()))) changes.refreshed.push_back(e.contact().id());
    } else if (type == contacts + "ContactDeleted") {
        const auto e = Unpack<cev::ContactDeleted>(ev);
        if (Upsert(db, tx, t, FromContact(e.contact()))) changes.refreshed.push_back(e.contact().id());
    } else if (type == contacts + "ContactConsentChanged") {
        const auto e = Unpack<cev::ContactConsentChanged>(ev);
        if (Upsert(db, tx, t, FromContact(e.contact()))) changes.refreshed.push_back(e.contact().id());
    } else if (type == contacts + "ContactsMerged") {
        const auto e = Unpack<cev::ContactsMerged>(ev);
        if (!common::IsUuid(e.survivor_id())) throw common::PermanentEventError("merge without a survivor id");
        Upsert(db, tx, t, FromContact(e.survivor()));
        for (const auto& loser : e.loser_ids()) {
            if (!common::IsUuid(loser)) continue;
            db.Exec(tx, sql::kMarkMerged, t, loser, e.survivor_id());
            db.Exec(tx, sql::kMoveEngagements, t, loser, e.survivor_id());
            changes.merged.emplace_back(loser, e.survivor_id());
        }
        changes.refreshed.push_back(e.survivor_id());
    } else if (type == contacts + "ContactErased") {
        const auto e = Unpack<cev::ContactErased>(ev);
        if (!common::IsUuid(e.contact_id())) throw common::PermanentEventError("erasure without a contact id");
        Erase(db, tx, t, e.contact_id(), changes);
    } else if (type == "crm.privacy.v1.RetentionApplied") {
        // Leads deleted or anonymised by a retention policy leave marketing too, as an erasure does (touches kept
        // without the person, the id tombstoned so that no older snapshot brings them back). Other services' rules
        // (the kit's idempotency and processed-event rows) hold no one marketing knows.
        const auto e = Unpack<crm::privacy::v1::RetentionApplied>(ev);
        if (e.resource_type() == "lead") {
            for (const auto& id : e.resource_ids()) {
                if (common::IsUuid(id)) Erase(db, tx, t, id, changes);
            }
        }
    } else if (type == leads + "LeadCreated") {
        const auto e = Unpack<lev::LeadCreated>(ev);
        ApplyLead(db, tx, ev, e.lead(), changes);
        // A web-form submission for one of the tenant's campaigns is a touch of that campaign.
        const auto& lead = e.lead();
        if (lead.capture_channel() == lv1::CAPTURE_CHANNEL_WEB_FORM && common::IsUuid(lead.campaign_id()) &&
            !db.Exec(tx, sql::kCampaignExists, t, lead.campaign_id()).empty() && !IsErased(db, tx, t, lead.id())) {
            const std::int64_t at = Micros(lead.create_time());
            if (auto id = RecordEngagement(db, tx, t, lead.id(), "form_submitted", lead.campaign_id(), "web_form", at,
                                           ev.event_id())) {
                changes.touches.push_back({*id, lead.campaign_id(), lead.id(), "form_submitted", "web_form", at});
            }
        }
    } else if (type == leads + "LeadUpdated") {
        ApplyLead(db, tx, ev, Unpack<lev::LeadUpdated>(ev).lead(), changes);
    } else if (type == leads + "LeadStatusChanged") {
        ApplyLead(db, tx, ev, Unpack<lev::LeadStatusChanged>(ev).lead(), changes);
    } else if (type == leads + "LeadAssigned") {
        ApplyLead(db, tx, ev, Unpack<lev::LeadAssigned>(ev).lead(), changes);
    } else if (type == leads + "LeadScored") {
        ApplyLead(db, tx, ev, Unpack<lev::LeadScored>(ev).lead(), changes);
    } else if (type == leads + "LeadSlaBreached") {
        ApplyLead(db, tx, ev, Unpack<lev::LeadSlaBreached>(ev).lead(), changes);
    } else if (type == leads + "LeadConverted") {
        ApplyLead(db, tx, ev, Unpack<lev::LeadConverted>(ev).lead(), changes);
    } else if (type == leads + "LeadEngagementRecorded") {
        const auto e = Unpack<lev::LeadEngagementRecorded>(ev);
        ApplyLead(db, tx, ev, e.lead(), changes);
        // Leads records marketing's own email clicks and opens as engagements (detail "marketing send <id> ..."):
        // marketing holds them already as touches, so they are not counted twice.
        const bool echo = e.engagement().detail().rfind("marketing send ", 0) == 0;
        if (common::IsUuid(e.lead().id()) && !echo && !IsErased(db, tx, t, e.lead().id())) {
            const std::int64_t at = e.engagement().has_occur_time() ? Micros(e.engagement().occur_time())
                                                                    : Micros(ev.envelope.occurred_at());
            RecordEngagement(db, tx, t, e.lead().id(), e.engagement().type(), "", "", at, ev.event_id());
            if (changes.refreshed.empty()) changes.refreshed.push_back(e.lead().id());
        }
    }
    return changes;
}

std::optional<std::string> RecordEngagement(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                            const std::string& person_id, const std::string& type,
                                            const std::string& campaign_id, const std::string& channel,
                                            std::int64_t micros, const std::string& source_event) {
    const pqxx::result r =
        db.Exec(tx, sql::kInsertEngagement, tenant, common::NullIfEmpty(person_id), type,
                common::NullIfEmpty(campaign_id), channel, micros, common::NullIfEmpty(source_event));
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
}

v1::AudienceMember ReadMember(const pqxx::row& r) {
    v1::AudienceMember m;
    m.set_id(r[0].as<std::string>());
    const common::ColumnKey key(r[19].as<std::string>(), m.id(), r[18]);
    m.set_kind(r[1].as<std::string>());
    m.set_state(r[2].as<std::string>());
    m.set_email(key.Open(sealed::kEmail, r[3].as<std::string>()));
    m.set_given_name(key.Open(sealed::kGivenName, r[4].as<std::string>()));
    m.set_family_name(key.Open(sealed::kFamilyName, r[5].as<std::string>()));
    m.set_job_title(key.Open(sealed::kJobTitle, r[6].as<std::string>()));
    m.set_company_name(key.Open(sealed::kCompanyName, r[7].as<std::string>()));
    m.set_country(r[8].as<std::string>());
    m.set_lead_source(r[9].as<std::string>());
    m.set_lead_status(r[10].as<std::string>());
    m.set_lead_score(r[11].as<int>());
    m.set_consent(r[12].as<std::string>());
    for (const auto& tag : nlohmann::json::parse(r[13].as<std::string>())) m.add_tags(tag.get<std::string>());
    const nlohmann::json custom =
        nlohmann::json::parse(key.OpenObject(sealed::kCustom, r[14].as<std::string>()));  // outlives items() below
    for (const auto& [k, v] : custom.items()) {
        (*m.mutable_custom())[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    m.set_contact_id(r[15].as<std::string>());
    SetTime(m.mutable_create_time(), r[16]);
    SetTime(m.mutable_update_time(), r[17]);
    return m;
}

domain::Person PersonOf(const v1::AudienceMember& m) {
    domain::Person p;
    p.kind = m.kind();
    p.email = m.email();
    p.given_name = m.given_name();
    p.family_name = m.family_name();
    p.job_title = m.job_title();
    p.company_name = m.company_name();
    p.country = m.country();
    p.lead_source = m.lead_source();
    p.lead_status = m.lead_status();
    p.consent = m.consent();
    p.lead_score = m.lead_score();
    p.create_micros = Micros(m.create_time());
    p.tags.assign(m.tags().begin(), m.tags().end());
    p.custom.insert(m.custom().begin(), m.custom().end());
    return p;
}

std::optional<Loaded> LoadPerson(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                 const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetMember, tenant, id);
    if (rows.empty()) return std::nullopt;
    const v1::AudienceMember m = ReadMember(rows[0]);
    Loaded out;
    out.active = m.state() == "active";
    out.person = PersonOf(m);
    for (const auto& e : db.Exec(tx, sql::kPersonEngagements, tenant, id)) {
        out.person.engagements.push_back({e[0].as<std::string>(), e[1].as<std::string>(), e[2].as<std::int64_t>()});
    }
    return out;
}

v1::AudienceMember Audience::Get(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db_.Exec(tx, sql::kGetMember, rc.tenant_id, id);
        if (rows.empty()) throw common::ApiError::NotFound("audience member", id);
        return ReadMember(rows[0]);
    });
}

v1::GetAudienceMemberResponse Audience::GetWithTouches(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db_.Exec(tx, sql::kGetMember, rc.tenant_id, id);
        if (rows.empty()) throw common::ApiError::NotFound("audience member", id);
        v1::GetAudienceMemberResponse out;
        *out.mutable_member() = ReadMember(rows[0]);
        for (const auto& r : db_.Exec(tx, sql::kPersonTouches, rc.tenant_id, id)) {
            auto* t = out.add_touches();
            t->set_campaign_id(r[0].as<std::string>());
            t->set_type(r[1].as<std::string>());
            t->set_channel(r[2].as<std::string>());
            SetMicros(t->mutable_touch_time(), r[3].as<std::int64_t>());
        }
        return out;
    });
}

}  // namespace crm::marketing::audience
