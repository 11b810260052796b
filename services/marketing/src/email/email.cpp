// Sender settings, templates and sends (see email.hpp).
#include "email/email.hpp"

#include <nlohmann/json.hpp>

#include "campaigns/campaigns.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/mail.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/template.hpp"
#include "email/sql.hpp"
#include "records.hpp"
#include "segments/segments.hpp"

namespace crm::marketing::email {
namespace {

using common::ApiError;
constexpr std::int64_t kYearMicros = 366LL * 86'400'000'000;

bool Has(const std::vector<std::string>& paths, const char* path) {
    for (const auto& p : paths) {
        if (p == path) return true;
    }
    return false;
}

void CheckAddress(common::Violations& v, const std::string& value, const char* field) {
    if (!common::CheckText(v, value, field, {.max_chars = 254})) return;
    if (!value.empty() && !common::mail::IsDeliverableAddress(value)) v.Add(field, "not an email address local@domain");
}

v1::EmailTemplate ReadTemplate(const pqxx::row& r) {
    v1::EmailTemplate t;
    t.set_id(r[0].as<std::string>());
    t.set_name(r[1].as<std::string>());
    t.set_subject(r[2].as<std::string>());
    t.set_html_body(r[3].as<std::string>());
    t.set_text_body(r[4].as<std::string>());
    SetTime(t.mutable_create_time(), r[5]);
    return t;
}

v1::EmailSend ReadSend(const pqxx::row& r) {
    v1::EmailSend s;
    s.set_id(r[0].as<std::string>());
    s.set_campaign_id(r[1].as<std::string>());
    s.set_template_id(r[2].as<std::string>());
    s.set_segment_id(r[3].as<std::string>());
    SetTime(s.mutable_schedule_time(), r[4]);
    const std::string status = r[5].as<std::string>();
    s.set_status(status == "SCHEDULED" ? v1::EMAIL_SEND_STATUS_SCHEDULED
                 : status == "SENDING" ? v1::EMAIL_SEND_STATUS_SENDING
                                       : v1::EMAIL_SEND_STATUS_COMPLETED);
    s.set_recipients(r[6].as<std::int64_t>());
    s.set_skipped(r[7].as<std::int64_t>());
    std::int64_t counts[4] = {0, 0, 0, 0};
    std::sscanf(r[8].as<std::string>().c_str(), "%ld,%ld,%ld,%ld", &counts[0], &counts[1], &counts[2], &counts[3]);
    s.set_sent(counts[0]);
    s.set_bounced(counts[1]);
    s.set_failed(counts[2]);
    s.set_unconfirmed(counts[3]);
    SetTime(s.mutable_create_time(), r[9]);
    if (!r[10].is_null()) SetTime(s.mutable_complete_time(), r[10]);
    return s;
}

v1::EmailSend LoadSend(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetSend, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("email send", id);
    return ReadSend(rows[0]);
}

}  // namespace

v1::EmailSettings CheckedSettings(const v1::EmailSettings& in, const std::vector<std::string>& paths,
                                  common::Violations& v) {
    v1::EmailSettings out = in;
    out.set_from_email(common::text::AsciiLower(common::text::Trim(in.from_email())));
    out.set_reply_to(common::text::AsciiLower(common::text::Trim(in.reply_to())));
    CheckAddress(v, out.from_email(), "settings.from_email");
    if (Has(paths, "from_email") && out.from_email().empty()) v.Add("settings.from_email", "required");
    CheckAddress(v, out.reply_to(), "settings.reply_to");
    out.set_from_name(common::text::Trim(in.from_name()));
    common::CheckText(v, out.from_name(), "settings.from_name", common::kName);
    if (in.rate_per_minute() < 0 || in.rate_per_minute() > 100000) {
        v.Add("settings.rate_per_minute", "0 (the default) to 100000 messages per minute");
    }
    if (!in.etag().empty() && !common::ParseEtag(in.etag())) {
        v.Add("settings.etag", "not an etag this service issued; send the value last read, or nothing");
    }
    return out;
}

v1::EmailTemplate CheckedTemplate(const v1::EmailTemplate& in, common::Violations& v) {
    v1::EmailTemplate out = in;
    common::CheckText(v, in.id(), "template.id", common::kName);
    out.set_name(common::text::Trim(in.name()));
    common::CheckText(v, out.name(), "template.name", common::kRequiredName);
    if (common::CheckText(v, in.subject(), "template.subject", {.max_chars = 500, .required = true})) {
        domain::ParseTemplate(in.subject(), "template.subject", v);
    }
    if (common::CheckText(v, in.html_body(), "template.html_body", {.max_chars = 200000, .multiline = true})) {
        domain::ParseTemplate(in.html_body(), "template.html_body", v);
    }
    if (common::CheckText(v, in.text_body(), "template.text_body",
                          {.max_chars = 100000, .required = true, .multiline = true})) {
        domain::ParseTemplate(in.text_body(), "template.text_body", v);
    }
    return out;
}

v1::EmailSend CheckedSend(const v1::EmailSend& in, common::Violations& v) {
    v1::EmailSend out;
    common::CheckText(v, in.id(), "send.id", common::kName);
    out.set_campaign_id(common::CheckId(v, in.campaign_id(), "send.campaign_id"));
    out.set_template_id(common::CheckId(v, in.template_id(), "send.template_id"));
    out.set_segment_id(common::CheckId(v, in.segment_id(), "send.segment_id"));
    if (in.has_schedule_time()) {
        if (common::CheckTime(v, in.schedule_time().seconds(), in.schedule_time().nanos(), "send.schedule_time") &&
            Micros(in.schedule_time()) > NowMicros() + kYearMicros) {
            v.Add("send.schedule_time", "at most a year ahead");
        }
        *out.mutable_schedule_time() = in.schedule_time();
    }
    return out;
}

v1::EmailSettings LoadSettings(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    v1::EmailSettings s;
    const pqxx::result rows = db.Exec(tx, sql::kGetSettings, tenant);
    if (rows.empty()) {
        s.set_etag(common::MakeEtag(0));
        return s;
    }
    s.set_from_email(rows[0][0].as<std::string>());
    s.set_from_name(rows[0][1].as<std::string>());
    s.set_reply_to(rows[0][2].as<std::string>());
    s.set_rate_per_minute(rows[0][3].as<int>());
    s.set_etag(common::MakeEtag(rows[0][4].as<std::int64_t>()));
    return s;
}

v1::EmailTemplate LoadTemplate(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                               const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetTemplate, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("email template", id);
    return ReadTemplate(rows[0]);
}

std::int64_t NextSendEvent(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                           const std::string& send_id) {
    return db.Exec(tx, sql::kNextEvent, tenant, send_id)[0][0].as<std::int64_t>();
}

v1::EmailSettings Email::GetSettings(const RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadSettings(db_, tx, rc.tenant_id); });
}

v1::EmailSettings Email::UpdateSettings(const RequestContext& rc, const v1::EmailSettings& in,
                                        const std::vector<std::string>& paths) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const v1::EmailSettings current = LoadSettings(db_, tx, rc.tenant_id);
        const std::int64_t version = *common::ParseEtag(current.etag());
        common::CheckEtag(in.etag(), version);
        v1::EmailSettings next = current;
        if (Has(paths, "from_email")) next.set_from_email(in.from_email());
        if (Has(paths, "from_name")) next.set_from_name(in.from_name());
        if (Has(paths, "reply_to")) next.set_reply_to(in.reply_to());
        if (Has(paths, "rate_per_minute")) next.set_rate_per_minute(in.rate_per_minute());
        if (db_.Exec(tx, sql::kUpsertSettings, rc.tenant_id, next.from_email(), next.from_name(), next.reply_to(),
                     next.rate_per_minute(), version)
                .empty()) {
            throw ApiError::Aborted("the settings changed concurrently; read them again and retry");
        }
        return LoadSettings(db_, tx, rc.tenant_id);
    });
}

v1::EmailTemplate Email::CreateTemplate(const RequestContext& rc, const v1::EmailTemplate& in,
                                        const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "CreateEmailTemplate", request_id, id)) {
            return LoadTemplate(db_, tx, rc.tenant_id, *first);
        }
        db_.Exec(tx, sql::kInsertTemplate, rc.tenant_id, id, in.name(), in.subject(), in.html_body(), in.text_body());
        return LoadTemplate(db_, tx, rc.tenant_id, id);
    });
}

v1::EmailTemplate Email::GetTemplate(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadTemplate(db_, tx, rc.tenant_id, id); });
}

v1::EmailSend Email::CreateSend(const RequestContext& rc, const v1::EmailSend& in, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, t, "CreateEmailSend", request_id, id)) {
            return LoadSend(db_, tx, t, *first);
        }
        common::Violations v;
        const auto campaign = campaigns::FindCampaign(db_, tx, t, in.campaign_id());
        if (!campaign) v.Add("send.campaign_id", "no campaign with this id");
        if (db_.Exec(tx, sql::kGetTemplate, t, in.template_id()).empty()) {
            v.Add("send.template_id", "no email template with this id");
        }
        if (!segments::Exists(db_, tx, t, in.segment_id())) v.Add("send.segment_id", "no segment with this id");
        v.ThrowIfAny();
        if (campaign->status() == v1::CAMPAIGN_STATUS_COMPLETED || campaign->status() == v1::CAMPAIGN_STATUS_ABORTED) {
            throw ApiError::FailedPrecondition("the campaign is closed", "CAMPAIGN_CLOSED");
        }
        const std::int64_t at = in.has_schedule_time() ? Micros(in.schedule_time()) : NowMicros();
        db_.Exec(tx, sql::kInsertSend, t, id, in.campaign_id(), in.template_id(), in.segment_id(), at);
        return LoadSend(db_, tx, t, id);
    });
}

v1::EmailSend Email::GetSend(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadSend(db_, tx, rc.tenant_id, id); });
}

}  // namespace crm::marketing::email
