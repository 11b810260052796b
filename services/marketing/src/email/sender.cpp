// The sender (see sender.hpp).
#include "email/sender.hpp"

#include <crm/marketing/events/v1/events.pb.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "audience/sealed.hpp"
#include "campaigns/campaigns.hpp"
#include "crm/common/db.hpp"
#include "crm/common/failpoint.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/public_token.hpp"
#include "crm/common/sealed_columns.hpp"
#include "domain/suppression.hpp"
#include "domain/template.hpp"
#include "email/email.hpp"
#include "email/sql.hpp"
#include "records.hpp"

namespace crm::marketing::email {
namespace {

namespace ev = crm::marketing::events::v1;
constexpr int kDiscoveryLimit = 200;

// What every message of a send shares.
struct SendContext {
    std::string campaign_id, campaign_name;
    domain::ParsedTemplate subject, text, html;
    bool has_html = false;
    std::map<std::string, std::string> links;  // destination -> tracked link id
    common::mail::Address from;
    std::string reply_to;
    int rate_per_minute = 0;
};

struct Claimed {
    std::string person_id, email, email_index;
    int attempts = 0;
    std::map<std::string, std::string> values;
    bool deliverable = true;  // still active, opted in and not suppressed
};

std::vector<std::pair<std::string, std::string>> Discover(common::Db& db, const common::Sql& statement,
                                                          std::int64_t arg) {
    return db.InTenant(std::string(), [&](pqxx::work& tx) {
        db.Exec(tx, sql::kMaintenanceOn);
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& r : db.Exec(tx, statement, arg)) {
            out.emplace_back(r[0].as<std::string>(), r.size() > 1 ? r[1].as<std::string>() : std::string());
        }
        return out;
    });
}

}  // namespace

Sender::Sender(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, SenderSettings settings)
    : db_(db),
      outbox_(outbox),
      settings_(std::move(settings)),
      relay_(settings_.relay),
      outcomes_(prometheus::BuildCounter()
                    .Name("crm_marketing_emails_total")
                    .Help("Messages of email sends by outcome: sent (accepted by the relay), bounced (refused "
                          "permanently), retried (temporary failure, tried again later), failed (retries used up or "
                          "no longer deliverable), unconfirmed (claim expired after a crash: never sent again).")
                    .Register(metrics.registry())),
      runner_("marketing sender", {{"send_round", settings_.tick, [this] { RunRound(); }}}) {
    for (const char* outcome : {"sent", "bounced", "retried", "failed", "unconfirmed"}) {
        counters_[outcome] = &outcomes_.Add({{"outcome", outcome}});
    }
}

Sender::~Sender() { Stop(); }

void Sender::Start() { runner_.Start(); }

void Sender::Stop() { runner_.Stop(); }

void Sender::Count(const char* outcome, double n) { counters_.at(outcome)->Increment(n); }

int Sender::Budget(const std::string& tenant, int rate_per_minute) {
    const int rate = rate_per_minute > 0 ? rate_per_minute : settings_.default_rate_per_minute;
    const double capacity = std::max(1.0, rate / 6.0);  // at most ten seconds' worth at once
    const auto now = std::chrono::steady_clock::now();
    auto [it, fresh] = buckets_.try_emplace(tenant, Bucket{capacity, now});
    Bucket& b = it->second;
    if (!fresh) {
        const double minutes = std::chrono::duration<double>(now - b.last).count() / 60.0;
        b.tokens = std::min(capacity, b.tokens + minutes * rate);
        b.last = now;
    }
    return static_cast<int>(std::floor(b.tokens));
}

void Sender::Spend(const std::string& tenant, int used) { buckets_[tenant].tokens -= used; }

void Sender::RunRound() {
    StartDueSends();
    ExpireClaims();
    for (const auto& [tenant, send] : Discover(db_, sql::kSendingSends, kDiscoveryLimit)) {
        if (runner_.stopping()) return;
        try {
            Deliver(tenant, send);  // one send's trouble does not hold up the others
        } catch (const std::exception& e) {
            common::log::Warn("email send round failed", {{"send_id", send}, {"error_type", typeid(e).name()}});
        }
    }
}

void Sender::StartDueSends() {
    for (const auto& [tenant, send] : Discover(db_, sql::kDueSends, kDiscoveryLimit)) {
        db_.InTenant(tenant, [&](pqxx::work& tx) {
            const pqxx::result claimed = db_.Exec(tx, sql::kClaimSend, tenant, send);
            if (claimed.empty()) return;  // another replica has it, or it started already
            const std::string campaign_id = claimed[0][0].as<std::string>();
            const v1::EmailTemplate tmpl = LoadTemplate(db_, tx, tenant, claimed[0][1].as<std::string>());
            const auto campaign = campaigns::FindCampaign(db_, tx, tenant, campaign_id);
            nlohmann::json links = nlohmann::json::object();
            for (const auto& url : domain::LinksOf(tmpl.html_body())) {
                links[url] = campaigns::CreateEmailLink(db_, tx, tenant, *campaign, url);
            }
            const std::string segment = claimed[0][2].as<std::string>();
            std::int64_t recipients = db_.Exec(tx, sql::kExpandRecipients, tenant, send, segment).affected_rows();
            recipients -= DropHashedSuppressions(tx, tenant, send);
            const std::int64_t members = db_.Exec(tx, sql::kMemberCount, tenant, segment)[0][0].as<std::int64_t>();
            db_.Exec(tx, sql::kStartSend, tenant, send, recipients, std::max<std::int64_t>(0, members - recipients),
                     links.dump());
        });
    }
}

std::int64_t Sender::DropHashedSuppressions(pqxx::transaction_base& tx, const std::string& tenant,
                                            const std::string& send) {
    if (!db_.Exec(tx, sql::kHasHashedSuppressions, tenant)[0][0].as<bool>()) return 0;
    const domain::SuppressionHasher hash(settings_.internal_key, tenant);
    std::map<std::string, std::string> person_of;  // hash -> person
    for (const auto& r : db_.Exec(tx, sql::kExpandedRecipients, tenant, send)) {
        const std::string person = r[0].as<std::string>();
        const common::ColumnKey key(tenant, person, r[2]);
        person_of.emplace(hash(key.Open(audience::sealed::kEmail, r[1].as<std::string>())), person);
    }
    if (person_of.empty()) return 0;
    std::vector<std::string> hashes, dropped;
    for (const auto& [h, person] : person_of) hashes.push_back(h);
    for (const auto& r : db_.Exec(tx, sql::kSuppressedHashes, tenant, common::PgTextArray(hashes))) {
        dropped.push_back(person_of.at(r[0].as<std::string>()));
    }
    if (dropped.empty()) return 0;
    return static_cast<std::int64_t>(
        db_.Exec(tx, sql::kDropRecipients, tenant, send, common::PgTextArray(dropped)).affected_rows());
}

void Sender::ExpireClaims() {
    for (const auto& [tenant, unused] : Discover(db_, sql::kExpiredClaims, settings_.claim_lease.count())) {
        db_.InTenant(tenant, [&](pqxx::work& tx) {
            const auto n = db_.Exec(tx, sql::kExpireClaims, tenant, settings_.claim_lease.count()).affected_rows();
            Count("unconfirmed", static_cast<double>(n));
        });
    }
}

void Sender::Deliver(const std::string& tenant, const std::string& send_id) {
    SendContext ctx;
    std::vector<Claimed> claimed;
    // 1. Claim due messages (committed before the relay sees any of them).
    db_.InTenant(tenant, [&](pqxx::work& tx) {
        const pqxx::result send = db_.Exec(tx, sql::kGetSend, tenant, send_id);
        if (send.empty()) return;
        ctx.campaign_id = send[0][1].as<std::string>();
        const v1::EmailSettings settings = LoadSettings(db_, tx, tenant);
        ctx.rate_per_minute = settings.rate_per_minute();
        const int budget = std::min(settings_.batch, Budget(tenant, ctx.rate_per_minute));
        if (budget <= 0) return;
        for (const auto& r : db_.Exec(tx, sql::kClaimRecipients, tenant, send_id, budget)) {
            const std::string person = r[0].as<std::string>();
            const common::ColumnKey key(tenant, person, r[4]);
            claimed.push_back({person,
                               key.Open(audience::sealed::kEmail, r[1].as<std::string>()),
                               r[3].as<std::string>(),
                               r[2].as<int>(),
                               {},
                               true});
        }
        if (claimed.empty()) {
            db_.Exec(tx, sql::kCompleteSend, tenant, send_id);
            return;
        }
        Spend(tenant, static_cast<int>(claimed.size()));
        const auto campaign = campaigns::FindCampaign(db_, tx, tenant, ctx.campaign_id);
        ctx.campaign_name = campaign ? campaign->name() : "";
        const v1::EmailTemplate tmpl = LoadTemplate(db_, tx, tenant, send[0][2].as<std::string>());
        common::Violations ignored;  // checked when the template was saved
        ctx.subject = domain::ParseTemplate(tmpl.subject(), "subject", ignored);
        ctx.text = domain::ParseTemplate(tmpl.text_body(), "text", ignored);
        ctx.has_html = !tmpl.html_body().empty();
        ctx.html = domain::ParseTemplate(tmpl.html_body(), "html", ignored);
        const nlohmann::json links = nlohmann::json::parse(send[0][11].as<std::string>());  // outlives items()
        for (const auto& [url, id] : links.items()) ctx.links[url] = id.get<std::string>();
        ctx.from = {settings.from_email().empty() ? settings_.default_from : settings.from_email(),
                    settings.from_name()};
        ctx.reply_to = settings.reply_to();
        const domain::SuppressionHasher hash(settings_.internal_key, tenant);
        for (auto& c : claimed) {
            const pqxx::result p =
                db_.Exec(tx, sql::kRecipientPerson, tenant, c.person_id, c.email_index, hash(c.email));
            // An address erased since the claim ("") is not mailed.
            c.deliverable = !p.empty() && !c.email.empty() && p[0][4].as<std::string>() == "opted_in" &&
                            p[0][5].as<std::string>() == "active" && !p[0][6].as<bool>();
            if (p.empty()) continue;
            const common::ColumnKey key(tenant, c.person_id, p[0][7]);
            c.values = {{"contact.given_name", key.Open(audience::sealed::kGivenName, p[0][0].as<std::string>())},
                        {"contact.family_name", key.Open(audience::sealed::kFamilyName, p[0][1].as<std::string>())},
                        {"contact.job_title", key.Open(audience::sealed::kJobTitle, p[0][2].as<std::string>())},
                        {"contact.company_name", key.Open(audience::sealed::kCompanyName, p[0][3].as<std::string>())},
                        {"contact.email", c.email},
                        {"campaign.name", ctx.campaign_name}};
        }
    });
    // 2. Each message: render, hand to the relay, record the outcome.
    for (auto& c : claimed) {
        const std::string unsubscribe =
            settings_.public_base_url + "/u/" +
            common::SignPublicToken(kUnsubscribePurpose, {.tenant = tenant, .fields = {send_id, c.person_id}},
                                    settings_.internal_key);
        c.values["unsubscribe_url"] = unsubscribe;
        std::string status = "failed";
        long code = 0;
        std::int64_t retry_ms = 0;
        if (c.deliverable) {
            std::map<std::string, std::string> tracked;
            for (const auto& [url, link_id] : ctx.links) {
                tracked[url] = settings_.public_base_url + "/r/" +
                               campaigns::LinkToken(settings_.internal_key, tenant, link_id, send_id, c.person_id);
            }
            common::mail::Message m;
            m.from = ctx.from;
            m.to = {{c.email, ""}};
            m.subject = domain::Render(ctx.subject, c.values, domain::Escape::kHeader);
            m.text = domain::Render(ctx.text, c.values, domain::Escape::kNone);
            if (ctx.has_html) {
                const std::string pixel =
                    settings_.public_base_url + "/o/" +
                    common::SignPublicToken(kOpenPurpose, {.tenant = tenant, .fields = {send_id, c.person_id}},
                                            settings_.internal_key);
                m.html = domain::AddOpenPixel(
                    domain::ReplaceLinks(domain::Render(ctx.html, c.values, domain::Escape::kHtml), tracked), pixel);
            }
            // One Message-ID per send and person: a duplicate, were one ever handed over, is recognisable as such.
            m.message_id = send_id + "." + c.person_id + "@marketing.crm";
            m.headers = {{"List-Unsubscribe", "<" + unsubscribe + ">"},
                         {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
                         {"X-CRM-Campaign", ctx.campaign_id}};
            if (!ctx.reply_to.empty()) m.headers.emplace_back("Reply-To", ctx.reply_to);
            common::mail::Result result;
            try {
                result =
                    relay_.Send(ctx.from.email, {c.email}, common::mail::Build(m, std::chrono::system_clock::now()));
            } catch (const std::invalid_argument&) {
                result = {common::mail::Outcome::kPermanentFailure, 0, "message could not be built"};
            }
            code = result.smtp_code;
            if (result.outcome == common::mail::Outcome::kAccepted) {
                common::Failpoint("marketing.send.after_smtp");
                status = "sent";
            } else if (result.outcome == common::mail::Outcome::kPermanentFailure) {
                status = "bounced";
            } else if (c.attempts < settings_.max_attempts) {
                status = "pending";
                retry_ms = std::min<std::int64_t>(settings_.retry_backoff_max.count(),
                                                  settings_.retry_backoff.count() << std::min(c.attempts - 1, 20));
            }
        }
        db_.InTenant(tenant, [&](pqxx::work& tx) {
            if (db_.Exec(tx, sql::kRecordOutcome, tenant, send_id, c.person_id, status, code, retry_ms).empty()) {
                return;  // the claim expired meanwhile (counted as unconfirmed)
            }
            google::protobuf::Timestamp now;
            SetMicros(&now, NowMicros());
            if (status == "sent") {
                ev::EmailSent e;
                e.set_send_id(send_id);
                e.set_campaign_id(ctx.campaign_id);
                e.set_person_id(c.person_id);
                *e.mutable_sent_time() = now;
                Emit(outbox_, tx, tenant, "", kSendAggregate, send_id, NextSendEvent(db_, tx, tenant, send_id), e);
            } else if (status == "bounced") {
                db_.Exec(tx, sql::kSuppress, tenant, c.email_index, "hard_bounce");
                ev::EmailBounced e;
                e.set_send_id(send_id);
                e.set_campaign_id(ctx.campaign_id);
                e.set_person_id(c.person_id);
                e.set_smtp_code(static_cast<int>(code));
                *e.mutable_bounce_time() = now;
                Emit(outbox_, tx, tenant, "", kSendAggregate, send_id, NextSendEvent(db_, tx, tenant, send_id), e);
            }
        });
        Count(status == "pending" ? "retried" : status.c_str());
    }
}

}  // namespace crm::marketing::email
