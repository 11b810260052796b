#include "email/email.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <algorithm>

#include "cases/cases.hpp"
#include "conversation/conversation.hpp"
#include "crm/clients/contacts.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/text.hpp"
#include "crm/support/events/v1/events.pb.h"
#include "domain/case.hpp"
#include "domain/csat.hpp"
#include "queues/queues.hpp"

namespace crm::support::email {
namespace {

using common::ApiError;

// The subject of a reply: "Re: <case subject> [CS-<n>]" (the token threads the customer's answer even when their
// client drops the headers).
std::string ReplySubject(const v1::Case& c) {
    const std::string token = "[" + domain::CaseReference(c.number()) + "]";
    std::string subject = c.subject();
    if (subject.find(token) == std::string::npos) subject += " " + token;
    if (common::text::AsciiLower(subject.substr(0, 3)) != "re:") subject = "Re: " + subject;
    return subject;
}

v1::CaseMessage EntryOf(const domain::ParsedEmail& email) {
    v1::CaseMessage m;
    m.set_kind(v1::MESSAGE_KIND_CUSTOMER_MESSAGE);
    m.set_channel(v1::CHANNEL_EMAIL);
    m.set_author_name(email.from_name.empty() ? email.from_email : email.from_name);
    m.set_body(email.text);
    if (email.text.empty() && email.attachments.empty()) m.set_body("(empty message)");
    m.set_external_id(email.message_id);
    for (const auto& a : email.attachments) {
        auto* out = m.add_attachments();
        out->set_file_name(a.file_name);
        out->set_content_type(a.content_type);
        out->set_size_bytes(a.size_bytes);
    }
    return m;
}

// The idempotency key of one Message-ID (empty: none, nothing is claimed).
std::string ClaimKey(const std::string& message_id) {
    return message_id.empty() ? "" : "email-" + common::HexEncode(common::Sha256(message_id)).substr(0, 48);
}

}  // namespace

Mailer::Mailer(MailSettings settings, common::Metrics& metrics)
    : settings_(std::move(settings)),
      relay_(settings_.relay),
      sent_(prometheus::BuildCounter()
                .Name("crm_support_replies_emailed_total")
                .Help("Public replies handed to the SMTP relay, by outcome (sent, failed_temporary, failed_permanent).")
                .Register(metrics.registry())) {}

std::string Mailer::NewMessageId() const { return common::NewUuid() + "@" + settings_.message_id_domain; }

std::string Mailer::Send(const Reply& reply) const {
    common::mail::Message m;
    m.from = {settings_.from_address, settings_.from_name};
    m.to = {{reply.c.customer_email(), ""}};
    m.subject = ReplySubject(reply.c);
    if (reply.survey_url.empty()) {
        m.text = reply.message.body();
    } else {  // the survey's link in both parts
        m.text = domain::ReplyTextWithSurvey(reply.message.body(), reply.survey_url);
        m.html = domain::ReplyHtmlWithSurvey(reply.message.body(), reply.survey_url);
    }
    m.message_id = reply.message.external_id();
    std::vector<std::string> thread = reply.thread;
    if (thread.size() > 20) thread.erase(thread.begin(), thread.end() - 20);  // the first and the latest matter most
    if (!thread.empty()) {
        m.headers.emplace_back("In-Reply-To", "<" + thread.back() + ">");
        std::string references;
        for (const auto& id : thread) references += (references.empty() ? "<" : " <") + id + ">";
        m.headers.emplace_back("References", references);
    }
    std::string outcome = "FAILED_PERMANENT";
    try {
        const auto result = relay_.Send(settings_.from_address, {reply.c.customer_email()},
                                        common::mail::Build(m, std::chrono::system_clock::now()));
        if (result.outcome == common::mail::Outcome::kAccepted) {
            outcome = "SENT";
        } else if (result.outcome == common::mail::Outcome::kTemporaryFailure) {
            outcome = "FAILED_TEMPORARY";
        }
        if (outcome != "SENT") {
            common::log::Warn("reply not e-mailed", {{"case_id", reply.c.id()},
                                                     {"smtp_code", std::to_string(result.smtp_code)},
                                                     {"detail", result.detail}});
        }
    } catch (const std::invalid_argument&) {
        common::log::Warn("reply cannot be built as e-mail", {{"case_id", reply.c.id()}});
    }
    std::string label = common::text::AsciiLower(outcome);
    sent_.Add({{"outcome", label}}).Increment();
    return outcome;
}

Email::Email(common::Db& db, common::Outbox& outbox, std::shared_ptr<clients::ContactsClient> contacts, int reopen_days)
    : db_(db), outbox_(outbox), contacts_(std::move(contacts)), reopen_days_(reopen_days) {}

IngestResult Email::Ingest(const common::RequestContext& rc, const domain::ParsedEmail& email) {
    const v1::CaseMessage entry = EntryOf(email);
    const std::string claim = ClaimKey(email.message_id);
    // Where it belongs: a redelivered message, then the case of a referenced e-mail, then the subject's case token.
    struct Found {
        std::optional<conversation::ThreadMatch> duplicate;
        std::optional<std::string> case_id;
    };
    const Found found = db_.InTenant(rc, [&](pqxx::work& tx) {
        Found f;
        if (!email.message_id.empty())
            f.duplicate = conversation::FindByMessageIds(db_, tx, rc.tenant_id, {email.message_id});
        if (f.duplicate) return f;
        if (auto match = conversation::FindByMessageIds(db_, tx, rc.tenant_id, email.references)) {
            f.case_id = match->case_id;
        } else if (auto number = domain::CaseNumberInSubject(email.subject)) {
            f.case_id = cases::FindCaseByNumber(db_, tx, rc.tenant_id, *number);
        }
        return f;
    });
    auto duplicate_result = [&](pqxx::work& tx, const std::string& message_id) {
        IngestResult r;
        r.message = conversation::LoadMessage(db_, tx, rc.tenant_id, message_id);
        r.c = cases::LoadCase(db_, tx, rc.tenant_id, r.message.case_id());
        r.duplicate = true;
        return r;
    };
    if (found.duplicate) {
        return db_.InTenant(rc, [&](pqxx::work& tx) { return duplicate_result(tx, found.duplicate->message_id); });
    }
    if (found.case_id) {
        try {
            return db_.InTenant(rc, [&](pqxx::work& tx) {
                v1::Case c = cases::LoadCase(db_, tx, rc.tenant_id, *found.case_id, true);
                if (!c.merged_into_id().empty()) c = cases::LoadCase(db_, tx, rc.tenant_id, c.merged_into_id(), true);
                const std::string id = common::NewUuid();
                if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "IngestEmail", claim, id)) {
                    return duplicate_result(tx, *first);
                }
                const std::string author = c.contact_id();
                auto [message, written] =
                    conversation::AddToCase(db_, outbox_, tx, rc, std::move(c), entry, id, author, reopen_days_);
                return IngestResult{.c = written, .message = message};
            });
        } catch (const ApiError& e) {
            // A closed or merged case, or one solved too long ago: the message opens a new case instead.
            if (e.code() != grpc::StatusCode::FAILED_PRECONDITION) throw;
        }
    }
    const std::string contact_id =
        contacts_->FindOrCreateByEmail(rc, email.from_email, email.from_name, "support-email");
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string case_id = common::NewUuid();
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "IngestEmail", claim, id)) {
            return duplicate_result(tx, *first);
        }
        v1::Case draft;
        draft.set_subject(email.subject);
        std::string description = email.text;  // the first message's text, cut to a description's length
        for (std::size_t i = 0, count = 0; i < description.size(); ++i) {
            if ((static_cast<unsigned char>(description[i]) & 0xC0) != 0x80 && ++count > domain::kMaxDescription) {
                description.resize(i);
                break;
            }
        }
        draft.set_description(description);
        draft.set_contact_id(contact_id);
        draft.set_channel(v1::CHANNEL_EMAIL);
        draft.set_customer_email(email.from_email);
        v1::Case c = cases::InsertCase(db_, tx, rc.tenant_id, case_id, draft);
        cases::EventBatch batch;
        batch.Add<crm::support::events::v1::CaseCreated>();
        batch.Append(db_, outbox_, tx, rc.tenant_id, rc.request_id, c);
        c = queues::RouteNewCase(db_, outbox_, tx, rc, std::move(c));
        auto [message, written] =
            conversation::AddToCase(db_, outbox_, tx, rc, std::move(c), entry, id, contact_id, reopen_days_);
        return IngestResult{.c = written, .message = message, .created_case = true};
    });
}

}  // namespace crm::support::email
