#pragma once
// The conversation area: the entries of a case (customer messages from every channel, public replies, internal
// notes) and what each does to its case (domain::EffectOfMessage): first response, opening, reopening. The entry, the
// case's new state and their events are written in one transaction.
#include <crm/support/v1/support.pb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "csat/csat.hpp"
#include "domain/case.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::support::email {
class Mailer;
}

namespace crm::support::conversation {

namespace v1 = crm::support::v1;

domain::MessageKind KindOf(v1::MessageKind kind);  // UNSPECIFIED -> CUSTOMER_MESSAGE (the handler refuses it)
v1::MessageKind KindProto(domain::MessageKind kind);

// The entry as events carry it: an internal note without its body, attachments and phone call.
v1::CaseMessage ForEvent(const v1::CaseMessage& message);

// Adds a (checked) entry to a case loaded for update in the caller's transaction: stores it, applies its effect to the
// case, writes the case with its events (CaseMessageAdded, then CaseStatusChanged when the status moved).
// FAILED_PRECONDITION (CASE_CLOSED, CASE_MERGED, REOPEN_WINDOW_PASSED) when the case cannot take it. solve (a public
// reply only): the case moves to SOLVED instead (INVALID_TRANSITION when it cannot, e.g. already solved).
std::pair<v1::CaseMessage, v1::Case> AddToCase(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                               const common::RequestContext& rc, v1::Case c,
                                               const v1::CaseMessage& message, const std::string& message_id,
                                               const std::string& author_id, int reopen_days, bool solve = false);

// Blanks what an erased person (a contact) wrote: body, author name, attachments, call details and external id of
// their customer messages; the entries stay, with erase_time set. Inside the caller's transaction (the consumer's, or
// a data-subject erasure's). Returns how many entries it blanked (0 when none was left).
std::int64_t EraseAuthor(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                         const std::string& contact_id);

// --- e-mail threading (the email area) ------------------------------------------------------------------------
struct ThreadMatch {
    std::string case_id, message_id;
};
// The most recent entry whose Message-ID (external_id) is one of `ids` (in the order given: the first id that matches
// wins), if any.
std::optional<ThreadMatch> FindByMessageIds(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                            const std::vector<std::string>& ids);
v1::CaseMessage LoadMessage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                            const std::string& id);
// The Message-IDs of a case's e-mails, oldest first.
std::vector<std::string> ThreadIds(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const std::string& case_id);

// Moves every entry of case `from` to case `to` (a merge); returns how many moved.
int MoveEntries(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& from,
                const std::string& to);

struct ListQuery {
    std::string case_id;
    int page_size = common::kDefaultPageSize;
    std::string page_token;
    bool public_only = false;
};

struct AddResult {
    v1::CaseMessage message;
    v1::Case c;
    std::string csat_survey_id;  // the survey a solving reply opened
};

class Conversation {
  public:
    // mailer: e-mails public replies of cases with a customer address (null: never); csat: the surveys' links.
    Conversation(common::Db& db, common::Outbox& outbox, int reopen_days, std::shared_ptr<email::Mailer> mailer,
                 csat::Settings csat);

    // The stored entry and the case after it; a retried request_id returns the first entry (and the case now). A
    // public reply on a case with a customer e-mail address gets a Message-ID and is e-mailed after the commit, with
    // In-Reply-To and References of the case's e-mails; the entry says what the relay answered (email_delivery).
    // solve (a public reply): the case is solved with it and a satisfaction survey opened, whose link the e-mail
    // carries.
    AddResult Add(const common::RequestContext& rc, const std::string& case_id, const v1::CaseMessage& message,
                  const std::string& request_id, bool solve);
    // NOT_FOUND for an unknown case.
    common::Page<v1::CaseMessage> List(const common::RequestContext& rc, const ListQuery& query);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    int reopen_days_;
    std::shared_ptr<email::Mailer> mailer_;
    csat::Settings csat_;
};

}  // namespace crm::support::conversation
