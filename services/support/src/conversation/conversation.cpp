#include "conversation/conversation.hpp"

#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>

#include "cases/cases.hpp"
#include "conversation/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/support/events/v1/events.pb.h"
#include "csat/csat.hpp"
#include "email/email.hpp"
#include "sealed.hpp"
#include "sentiment/sentiment.hpp"

namespace crm::support::conversation {
namespace {

namespace ev1 = crm::support::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

// A row of CRM_MESSAGE_COLUMNS, its sealed columns opened with its case's key (the last column).
v1::CaseMessage ReadMessage(const std::string& tenant, const pqxx::row& r) {
    v1::CaseMessage m;
    m.set_id(r[0].as<std::string>());
    m.set_case_id(r[1].as<std::string>());
    const common::ColumnKey key(tenant, m.case_id(), r[15]);
    m.set_kind(
        KindProto(domain::ParseMessageKind(r[2].as<std::string>()).value_or(domain::MessageKind::kCustomerMessage)));
    m.set_channel(cases::ChannelProto(domain::ParseChannel(r[3].as<std::string>()).value_or(domain::Channel::kApi)));
    m.set_author_id(r[4].as<std::string>());
    m.set_author_name(key.Open(sealed::kAuthorName, r[5].c_str()));
    m.set_body(key.Open(sealed::kBody, r[6].c_str()));
    // "" when there are none, or when the case's key was destroyed (an erased subject).
    const std::string attachments = key.Open(sealed::kAttachments, r[7].c_str());
    for (const auto& a : nlohmann::json::parse(attachments.empty() ? std::string("[]") : attachments)) {
        auto* out = m.add_attachments();
        out->set_file_name(a.value("file_name", ""));
        out->set_content_type(a.value("content_type", ""));
        out->set_size_bytes(a.value("size_bytes", std::int64_t{0}));
        out->set_storage_ref(a.value("storage_ref", ""));
    }
    const std::string call = key.Open(sealed::kPhoneCall, r[8].c_str());
    if (!call.empty()) {
        const auto j = nlohmann::json::parse(call);
        auto* out = m.mutable_phone_call();
        out->set_external_call_id(j.value("external_call_id", ""));
        out->set_from_number(j.value("from_number", ""));
        out->set_to_number(j.value("to_number", ""));
        out->set_duration_seconds(j.value("duration_seconds", 0));
        out->set_recording_ref(j.value("recording_ref", ""));
    }
    m.set_external_id(r[9].as<std::string>());
    *m.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(r[10].as<std::int64_t>());
    *m.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r[11].as<std::int64_t>());
    v1::EmailDelivery delivery = v1::EMAIL_DELIVERY_UNSPECIFIED;
    if (!r[12].as<std::string>().empty())
        v1::EmailDelivery_Parse("EMAIL_DELIVERY_" + r[12].as<std::string>(), &delivery);
    m.set_email_delivery(delivery);
    if (!r[13].is_null()) {
        m.mutable_sentiment()->set_score(r[13].as<double>());
        v1::SentimentLabel label = v1::SENTIMENT_LABEL_NEUTRAL;
        v1::SentimentLabel_Parse("SENTIMENT_LABEL_" + r[14].as<std::string>(), &label);
        m.mutable_sentiment()->set_label(label);
    }
    return m;
}

// "" for none (nothing to seal).
std::string AttachmentsJson(const v1::CaseMessage& m) {
    if (m.attachments().empty()) return "";
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : m.attachments()) {
        out.push_back({{"file_name", a.file_name()},
                       {"content_type", a.content_type()},
                       {"size_bytes", a.size_bytes()},
                       {"storage_ref", a.storage_ref()}});
    }
    return out.dump();
}

std::string PhoneCallJson(const v1::CaseMessage& m) {
    if (!m.has_phone_call()) return "";
    const auto& c = m.phone_call();
    return nlohmann::json({{"external_call_id", c.external_call_id()},
                           {"from_number", c.from_number()},
                           {"to_number", c.to_number()},
                           {"duration_seconds", c.duration_seconds()},
                           {"recording_ref", c.recording_ref()}})
        .dump();
}

}  // namespace

domain::MessageKind KindOf(v1::MessageKind kind) {
    switch (kind) {
        case v1::MESSAGE_KIND_PUBLIC_REPLY:
            return domain::MessageKind::kPublicReply;
        case v1::MESSAGE_KIND_INTERNAL_NOTE:
            return domain::MessageKind::kInternalNote;
        default:
            return domain::MessageKind::kCustomerMessage;
    }
}

v1::MessageKind KindProto(domain::MessageKind kind) {
    switch (kind) {
        case domain::MessageKind::kPublicReply:
            return v1::MESSAGE_KIND_PUBLIC_REPLY;
        case domain::MessageKind::kInternalNote:
            return v1::MESSAGE_KIND_INTERNAL_NOTE;
        case domain::MessageKind::kCustomerMessage:
            return v1::MESSAGE_KIND_CUSTOMER_MESSAGE;
    }
    return v1::MESSAGE_KIND_CUSTOMER_MESSAGE;
}

v1::CaseMessage ForEvent(const v1::CaseMessage& message) {
    v1::CaseMessage out = message;
    if (message.kind() == v1::MESSAGE_KIND_INTERNAL_NOTE) {
        out.clear_body();
        out.clear_attachments();
        out.clear_phone_call();
    }
    return out;
}

std::pair<v1::CaseMessage, v1::Case> AddToCase(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                               const common::RequestContext& rc, v1::Case c,
                                               const v1::CaseMessage& message, const std::string& message_id,
                                               const std::string& author_id, int reopen_days, bool solve) {
    const std::int64_t now = cases::NowMicros();
    const domain::Status from = cases::StatusOf(c.status());
    domain::CaseState state{.status = from, .has_first_response = c.has_first_response_time()};
    if (c.has_solve_time()) state.solve_micros = TimeUtil::TimestampToMicroseconds(c.solve_time());
    domain::MessageEffect effect = domain::EffectOfMessage(state, KindOf(message.kind()), now, reopen_days);
    if (!effect.allowed) throw ApiError::FailedPrecondition(effect.refusal_message, effect.refusal_reason);
    if (solve) {  // a solving public reply: straight to SOLVED (from NEW too), one status change
        if (!domain::TransitionAllowed(from, domain::Status::kSolved)) {
            throw ApiError::FailedPrecondition(
                std::string("a case cannot move from ") + domain::StatusText(from) + " to SOLVED",
                "INVALID_TRANSITION");
        }
        effect.new_status = domain::Status::kSolved;
    }

    const std::string occur =
        message.has_occur_time() ? std::to_string(TimeUtil::TimestampToMicroseconds(message.occur_time())) : "";
    const std::string call = PhoneCallJson(message);
    // Every customer message is scored (sentiment area); a strongly negative one may raise the case's priority.
    const bool customer = KindOf(message.kind()) == domain::MessageKind::kCustomerMessage;
    const v1::MessageSentiment tone = sentiment::Score(customer ? message.body() : std::string());
    const std::string score = customer ? std::to_string(tone.score()) : std::string();
    const std::string label = customer ? v1::SentimentLabel_Name(tone.label()).substr(16) : std::string();
    // Sealed under the case's key, as the entry's events are.
    common::ColumnSealer sealer(db, tx, rc.tenant_id);
    const v1::CaseMessage stored = ReadMessage(
        rc.tenant_id, db.Exec(tx, sql::kInsertMessage, rc.tenant_id, message_id, c.id(),
                              domain::MessageKindText(KindOf(message.kind())),
                              domain::ChannelText(cases::ChannelOf(message.channel())), author_id,
                              sealer.Seal(c.id(), sealed::kAuthorName, message.author_name()),
                              sealer.Seal(c.id(), sealed::kBody, message.body()),
                              sealer.Seal(c.id(), sealed::kAttachments, AttachmentsJson(message)),
                              sealer.Seal(c.id(), sealed::kPhoneCall, call), message.external_id(),
                              common::NullIfEmpty(occur), common::NullIfEmpty(score), common::NullIfEmpty(label))[0]);
    const bool raised = customer && sentiment::RaisePriorityIfNegative(db, tx, rc.tenant_id, c, tone.score());

    const std::int64_t expected = c.version();
    c.set_message_count(c.message_count() + 1);
    if (effect.first_response) *c.mutable_first_response_time() = stored.create_time();
    cases::EventBatch batch;
    auto& added = batch.Add<ev1::CaseMessageAdded>();
    *added.mutable_message() = ForEvent(stored);
    added.set_first_response(effect.first_response);
    if (effect.new_status) {
        cases::ApplyStatus(c, *effect.new_status, now);
        auto& changed = batch.Add<ev1::CaseStatusChanged>();
        changed.set_from_status(cases::StatusProto(from));
        changed.set_to_status(cases::StatusProto(*effect.new_status));
        changed.set_reason(solve             ? "solved by a public reply"
                           : effect.reopened ? "customer replied to a solved case"
                                             : "conversation");
        changed.set_reopened(effect.reopened);
    }
    if (raised) batch.Add<ev1::CaseUpdated>().add_changed_paths("priority");
    const v1::Case written = cases::WriteCase(db, tx, rc.tenant_id, c, batch.size(), expected);
    batch.Append(db, outbox, tx, rc.tenant_id, rc.request_id, written);
    return {stored, written};
}

std::int64_t EraseAuthor(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                         const std::string& contact_id) {
    return static_cast<std::int64_t>(db.Exec(tx, sql::kEraseMessagesOf, tenant, contact_id).affected_rows());
}

std::optional<ThreadMatch> FindByMessageIds(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                            const std::vector<std::string>& ids) {
    if (ids.empty()) return std::nullopt;
    const pqxx::result rows = db.Exec(tx, sql::kCaseByMessageIds, tenant, nlohmann::json(ids).dump());
    for (const auto& id : ids) {
        for (const auto& row : rows) {
            if (row[2].as<std::string>() == id) return ThreadMatch{row[0].as<std::string>(), row[1].as<std::string>()};
        }
    }
    return std::nullopt;
}

v1::CaseMessage LoadMessage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                            const std::string& id) {
    return ReadMessage(tenant, db.Exec(tx, sql::kGetMessage, tenant, id).at(0));
}

std::vector<std::string> ThreadIds(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const std::string& case_id) {
    std::vector<std::string> out;
    for (const auto& row : db.Exec(tx, sql::kThreadIds, tenant, case_id)) out.push_back(row[0].as<std::string>());
    return out;
}

int MoveEntries(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& from,
                const std::string& to) {
    // An entry's columns are sealed under its case's key and bound to that case: opened with the loser's key and
    // sealed again under the survivor's, so that the survivor's conversation opens and the survivor's erasure (which
    // destroys its key) reaches them. The loser keeps its key for its own (now empty-handed) record.
    const pqxx::result rows = db.Exec(tx, sql::kLoserEntries, tenant, from);
    if (rows.empty()) return 0;
    common::ColumnSealer sealer(db, tx, tenant);
    std::vector<std::string> ids, names, bodies, attachments, calls;
    for (const auto& row : rows) {
        const common::ColumnKey key(tenant, from, row[15]);
        ids.push_back(row[0].c_str());
        names.push_back(sealer.Seal(to, sealed::kAuthorName, key.Open(sealed::kAuthorName, row[5].c_str())));
        bodies.push_back(sealer.Seal(to, sealed::kBody, key.Open(sealed::kBody, row[6].c_str())));
        attachments.push_back(sealer.Seal(to, sealed::kAttachments, key.Open(sealed::kAttachments, row[7].c_str())));
        calls.push_back(sealer.Seal(to, sealed::kPhoneCall, key.Open(sealed::kPhoneCall, row[8].c_str())));
    }
    return static_cast<int>(db.Exec(tx, sql::kMoveEntries, tenant, from, to, common::PgTextArray(ids),
                                    common::PgTextArray(names), common::PgTextArray(bodies),
                                    common::PgTextArray(attachments), common::PgTextArray(calls))
                                .affected_rows());
}

Conversation::Conversation(common::Db& db, common::Outbox& outbox, int reopen_days,
                           std::shared_ptr<email::Mailer> mailer, csat::Settings csat)
    : db_(db), outbox_(outbox), reopen_days_(reopen_days), mailer_(std::move(mailer)), csat_(std::move(csat)) {}

AddResult Conversation::Add(const common::RequestContext& rc, const std::string& case_id,
                            const v1::CaseMessage& message, const std::string& request_id, bool solve) {
    std::optional<email::Reply> reply;  // set when the entry is to be e-mailed
    AddResult result = db_.InTenant(rc, [&](pqxx::work& tx) {
        reply.reset();
        v1::Case c = cases::LoadCase(db_, tx, rc.tenant_id, case_id, true);
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "AddCaseMessage", request_id, id)) {
            const pqxx::result rows = db_.Exec(tx, sql::kGetMessage, rc.tenant_id, *first);
            return AddResult{.message = ReadMessage(rc.tenant_id, rows.at(0)),
                             .c = c,
                             .csat_survey_id = csat::SurveyOfReply(db_, tx, rc.tenant_id, *first).value_or("")};
        }
        // The customer speaks for the case's contact; agents (replies, notes) for themselves.
        const std::string author = message.kind() == v1::MESSAGE_KIND_CUSTOMER_MESSAGE ? c.contact_id() : rc.user_id;
        v1::CaseMessage entry = message;
        const bool mailed = mailer_ && message.kind() == v1::MESSAGE_KIND_PUBLIC_REPLY && !c.customer_email().empty();
        std::vector<std::string> thread;
        if (mailed) {
            thread = ThreadIds(db_, tx, rc.tenant_id, c.id());
            entry.set_channel(v1::CHANNEL_EMAIL);
            entry.set_external_id(mailer_->NewMessageId());
        }
        auto added = AddToCase(db_, outbox_, tx, rc, std::move(c), entry, id, author, reopen_days_, solve);
        AddResult out{.message = std::move(added.first), .c = std::move(added.second)};
        std::string survey_url;
        if (solve && mailed) {  // the survey goes with the e-mail (no address: nobody could answer it)
            const csat::Survey survey = csat::OpenSurvey(db_, tx, rc.tenant_id, out.c, id, rc.user_id, csat_);
            out.csat_survey_id = survey.id;
            survey_url = survey.url;
        }
        if (mailed) {
            reply = email::Reply{
                .c = out.c, .message = out.message, .thread = std::move(thread), .survey_url = std::move(survey_url)};
        }
        return out;
    });
    if (reply) {
        const std::string outcome = mailer_->Send(*reply);
        result.message = db_.InTenant(rc, [&](pqxx::work& tx) {
            return ReadMessage(rc.tenant_id,
                               db_.Exec(tx, sql::kSetDelivery, rc.tenant_id, result.message.id(), outcome).at(0));
        });
    }
    return result;
}

common::Page<v1::CaseMessage> Conversation::List(const common::RequestContext& rc, const ListQuery& q) {
    const std::string scope = nlohmann::json::array({"ListCaseMessages", q.case_id, q.public_only}).dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(q.page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::CaseMessage> messages = db_.InTenant(rc, [&](pqxx::work& tx) {
        cases::LoadCase(db_, tx, rc.tenant_id, q.case_id);  // NOT_FOUND for an unknown case
        std::vector<v1::CaseMessage> out;
        for (const auto& row : db_.Exec(tx, sql::kListMessages, rc.tenant_id, q.case_id, after.micros, after.id,
                                        q.public_only, q.page_size + 1)) {
            out.push_back(ReadMessage(rc.tenant_id, row));
        }
        return out;
    });
    return common::MakePage(std::move(messages), q.page_size, [&](const v1::CaseMessage& last) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope,
                                         {TimeUtil::TimestampToMicroseconds(last.create_time()), last.id()});
    });
}

}  // namespace crm::support::conversation
