#include "capture/capture.hpp"

#include <google/protobuf/util/time_util.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <chrono>
#include <map>

#include "assignment/assignment.hpp"
#include "capture/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/outbox.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "domain/web_form.hpp"
#include "lifecycle/lifecycle.hpp"
#include "proto_json.hpp"
#include "scoring/scoring.hpp"
#include "sla/sla.hpp"

namespace crm::leads::capture {
namespace {

namespace ev1 = crm::leads::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

// The idempotency scope of creates (API and import rows share it, as a row is a create).
constexpr char kCreateOperation[] = "CreateLead";

std::int64_t UnixMillisNow() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Only what a client may set on a new lead: its fields, owner, priority and consent.
v1::Lead NewLead(const v1::Lead& input, v1::CaptureChannel channel) {
    v1::Lead lead = lifecycle::WithFields(v1::Lead(), lifecycle::FieldsOf(input));
    if (input.has_consent()) {
        lead.mutable_consent()->set_granted(input.consent().granted());
        lead.mutable_consent()->set_text(input.consent().text());
        lead.mutable_consent()->set_version(input.consent().version());
    }
    lead.set_capture_channel(channel);
    return lead;
}

// Writes a new lead (no id yet) in the caller's transaction: refused when an open lead has its email; scored; assigned
// by the rules when it has no owner; its first-touch deadline from the SLA of its priority; LeadCreated.
v1::Lead InsertNew(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const common::RequestContext& rc,
                   const std::string& id, v1::Lead lead) {
    if (!lead.email().empty()) {
        if (const auto existing = lifecycle::OpenLeadWithEmail(db, tx, rc.tenant_id, lead.email())) {
            lifecycle::ThrowDuplicate(*existing);
        }
    }
    lead = scoring::Rescored(db, tx, rc.tenant_id, std::move(lead));
    const v1::AssignmentConfig config = assignment::LoadConfig(db, tx, rc.tenant_id);
    if (lead.owner_id().empty()) {
        const auto pick = assignment::Route(db, tx, rc.tenant_id, config, lead);
        if (pick && !pick->owner_id.empty()) {
            lead.set_owner_id(pick->owner_id);
            lead.set_team_id(pick->team_id);
        }
    }
    lead.set_id(id);
    const v1::Lead created =
        lifecycle::InsertLead(db, tx, rc.tenant_id, lead, sla::FirstTouchSeconds(config, lead.priority()));
    lifecycle::EventBatch batch;
    batch.Add<ev1::LeadCreated>();
    batch.Append(outbox, tx, rc.tenant_id, rc.request_id, created);
    return created;
}

}  // namespace

Capture::Capture(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, Settings settings)
    : db_(db),
      outbox_(outbox),
      settings_(std::move(settings)),
      created_(prometheus::BuildCounter()
                   .Name("crm_leads_created_total")
                   .Help("Leads created, by capture channel (api, import, web_form).")
                   .Register(metrics.registry())),
      import_rows_(prometheus::BuildCounter()
                       .Name("crm_leads_import_rows_total")
                       .Help("Rows of ImportLeads, by outcome (created, duplicate, invalid).")
                       .Register(metrics.registry())),
      web_form_rejections_(prometheus::BuildCounter()
                               .Name("crm_leads_web_form_rejections_total")
                               .Help("Web-form submissions refused, by reason (bot, consent, invalid).")
                               .Register(metrics.registry())) {}

v1::Lead Capture::CreateLead(const common::RequestContext& rc, const v1::Lead& input, const std::string& request_id) {
    const v1::Lead lead = db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, kCreateOperation, request_id, id)) {
            return lifecycle::LoadLead(db_, tx, rc.tenant_id, *first);
        }
        return InsertNew(db_, outbox_, tx, rc, id, NewLead(input, v1::CAPTURE_CHANNEL_API));
    });
    created_.Add({{"channel", "api"}}).Increment();
    return lead;
}

v1::ImportLeadsResponse Capture::Import(const common::RequestContext& rc, const std::vector<ImportRow>& rows) {
    v1::ImportLeadsResponse resp;
    int index = 0;
    for (const ImportRow& row : rows) {
        v1::ImportRowResult* result = resp.add_results();
        result->set_row(index++);
        if (!row.violations.empty()) {
            result->set_outcome(v1::IMPORT_OUTCOME_INVALID);
            for (const auto& v : row.violations.list()) result->add_reasons(v.field + ": " + v.description);
            resp.set_invalid_count(resp.invalid_count() + 1);
            continue;
        }
        try {
            const v1::Lead lead = db_.InTenant(rc, [&](pqxx::work& tx) {
                const std::string id = common::NewUuid();
                if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, kCreateOperation, row.request_id, id)) {
                    return lifecycle::LoadLead(db_, tx, rc.tenant_id, *first);
                }
                return InsertNew(db_, outbox_, tx, rc, id, NewLead(row.lead, v1::CAPTURE_CHANNEL_IMPORT));
            });
            result->set_outcome(v1::IMPORT_OUTCOME_CREATED);
            result->set_lead_id(lead.id());
            resp.set_created_count(resp.created_count() + 1);
        } catch (const ApiError& e) {
            if (e.code() != grpc::StatusCode::ALREADY_EXISTS) throw;
            result->set_outcome(v1::IMPORT_OUTCOME_DUPLICATE);
            const auto existing = e.metadata().find("existing_id");
            if (existing != e.metadata().end()) {
                result->set_lead_id(existing->second);
                result->set_existing_lead_id(existing->second);
            }
            resp.set_duplicate_count(resp.duplicate_count() + 1);
        }
    }
    created_.Add({{"channel", "import"}}).Increment(resp.created_count());
    import_rows_.Add({{"outcome", "created"}}).Increment(resp.created_count());
    import_rows_.Add({{"outcome", "duplicate"}}).Increment(resp.duplicate_count());
    import_rows_.Add({{"outcome", "invalid"}}).Increment(resp.invalid_count());
    return resp;
}

v1::WebForm Capture::UpsertWebForm(const common::RequestContext& rc, const v1::WebForm& form) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::WebForm stored = form;
        stored.clear_update_time();
        const pqxx::result rows = db_.Exec(tx, sql::kPutWebForm, rc.tenant_id, stored.id(), ToStoredJson(stored));
        *stored.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][0].as<std::int64_t>());
        return stored;
    });
}

v1::WebForm Capture::GetWebForm(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db_.Exec(tx, sql::kGetWebForm, rc.tenant_id, id);
        if (rows.empty()) throw ApiError::NotFound("web form", id);
        v1::WebForm form = FromStoredJson<v1::WebForm>(rows[0][0].as<std::string>());
        *form.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][1].as<std::int64_t>());
        return form;
    });
}

v1::IssueWebFormTokenResponse Capture::IssueWebFormToken(const common::RequestContext& rc, const std::string& form_id) {
    const v1::WebForm form = GetWebForm(rc, form_id);
    const std::int64_t now_ms = UnixMillisNow();
    v1::IssueWebFormTokenResponse resp;
    resp.set_form_token(
        domain::SignFormToken({rc.tenant_id, form.id(), now_ms, common::NewUuid()}, settings_.form_token_key));
    *resp.mutable_issue_time() = TimeUtil::MillisecondsToTimestamp(now_ms);
    *resp.mutable_expire_time() = TimeUtil::MillisecondsToTimestamp(now_ms + form.token_ttl_seconds() * 1000LL);
    resp.set_consent_text(form.consent_text());
    resp.set_consent_version(form.consent_version());
    return resp;
}

v1::SubmitWebFormResponse Capture::SubmitWebForm(const common::RequestContext& rc,
                                                 const v1::SubmitWebFormRequest& req) {
    const v1::WebForm form = GetWebForm(rc, req.form_id());
    // Bots first: they learn nothing about validation.
    const auto claims = domain::VerifyFormToken(req.form_token(), settings_.form_token_key);
    const std::string bot = domain::BotReason({.honeypot_filled = !req.honeypot().empty(),
                                               .claims = claims,
                                               .tenant = rc.tenant_id,
                                               .form_id = form.id(),
                                               .now_unix_ms = UnixMillisNow(),
                                               .min_fill_seconds = form.min_fill_seconds(),
                                               .token_ttl_seconds = form.token_ttl_seconds()});
    if (!bot.empty()) {
        CountRejection("bot");
        throw ApiError::FailedPrecondition("submission refused: " + bot, "BOT");
    }
    common::Violations consent;
    if (!req.consent_granted()) consent.Add("consent_granted", "consent is required");
    if (req.consent_text() != form.consent_text()) {
        consent.Add("consent_text", "must be the form's consent text as shown");
    }
    if (req.consent_version() != form.consent_version()) {
        consent.Add("consent_version", "must be the form's current consent version");
    }
    if (!consent.empty()) {
        CountRejection("consent");
        consent.ThrowIfAny();
    }
    const domain::Submission submission = domain::MapSubmission(
        std::map<std::string, std::string>(form.field_mapping().begin(), form.field_mapping().end()),
        std::map<std::string, std::string>(req.fields().begin(), req.fields().end()),
        {form.default_source(), form.default_campaign_id(), lifecycle::PriorityOf(form.default_priority())});
    if (!submission.violations.empty()) {
        CountRejection("invalid");
        submission.violations.ThrowIfAny();
    }
    v1::Lead lead = lifecycle::WithFields(v1::Lead(), submission.fields);
    lead.set_capture_channel(v1::CAPTURE_CHANNEL_WEB_FORM);
    lead.set_web_form_id(form.id());
    lead.mutable_consent()->set_granted(true);
    lead.mutable_consent()->set_text(form.consent_text());
    lead.mutable_consent()->set_version(form.consent_version());
    v1::SubmitWebFormResponse resp = db_.InTenant(rc, [&](pqxx::work& tx) {
        if (db_.Exec(tx, sql::kUseNonce, rc.tenant_id, claims->nonce).empty()) {
            throw ApiError::FailedPrecondition("the form token was already used", "BOT");
        }
        v1::SubmitWebFormResponse out;
        if (!lead.email().empty()) {
            if (const auto existing = lifecycle::OpenLeadWithEmail(db_, tx, rc.tenant_id, lead.email())) {
                v1::Engagement engagement;
                engagement.set_type("web_form_submitted");
                engagement.set_direction(v1::ENGAGEMENT_DIRECTION_INBOUND);
                engagement.set_detail(form.id());
                lifecycle::AddEngagement(db_, outbox_, tx, rc.tenant_id, rc.request_id,
                                         lifecycle::LoadLead(db_, tx, rc.tenant_id, *existing, true), engagement,
                                         common::NewUuid());
                out.set_lead_id(*existing);
                out.set_created(false);
                return out;
            }
        }
        out.set_lead_id(InsertNew(db_, outbox_, tx, rc, common::NewUuid(), lead).id());
        out.set_created(true);
        return out;
    });
    if (resp.created()) created_.Add({{"channel", "web_form"}}).Increment();
    return resp;
}

void Capture::CountRejection(const char* reason) { web_form_rejections_.Add({{"reason", reason}}).Increment(); }

std::int64_t Capture::DropUsedFormTokens() {
    return db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kMaintenanceOn);
        return static_cast<std::int64_t>(db_.Exec(tx, sql::kDropUsedNonces).affected_rows());
    });
}

}  // namespace crm::leads::capture
