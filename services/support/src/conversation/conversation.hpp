#pragma once
// The conversation area: the entries of a case (customer messages from every channel, public replies, internal
// notes) and what each does to its case (domain::EffectOfMessage): first response, opening, reopening. The entry, the
// case's new state and their events are written in one transaction.
#include <crm/support/v1/support.pb.h>

#include <string>
#include <utility>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "domain/case.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::support::conversation {

namespace v1 = crm::support::v1;

domain::MessageKind KindOf(v1::MessageKind kind);  // UNSPECIFIED -> CUSTOMER_MESSAGE (the handler refuses it)
v1::MessageKind KindProto(domain::MessageKind kind);

// The entry as events carry it: an internal note without its body, attachments and phone call.
v1::CaseMessage ForEvent(const v1::CaseMessage& message);

// Adds a (checked) entry to a case loaded for update in the caller's transaction: stores it, applies its effect to the
// case, writes the case with its events (CaseMessageAdded, then CaseStatusChanged when the status moved).
// FAILED_PRECONDITION (CASE_CLOSED, CASE_MERGED, REOPEN_WINDOW_PASSED) when the case cannot take it.
std::pair<v1::CaseMessage, v1::Case> AddToCase(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                               const common::RequestContext& rc, v1::Case c,
                                               const v1::CaseMessage& message, const std::string& message_id,
                                               const std::string& author_id, int reopen_days);

// Blanks what an erased person (a contact) wrote: body, author name, attachments, call details and external id of
// their customer messages; the entries stay, with erase_time set. Inside the caller's transaction (the consumer's).
void EraseAuthor(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& contact_id);

struct ListQuery {
    std::string case_id;
    int page_size = common::kDefaultPageSize;
    std::string page_token;
    bool public_only = false;
};

class Conversation {
  public:
    Conversation(common::Db& db, common::Outbox& outbox, int reopen_days);

    // The stored entry and the case after it; a retried request_id returns the first entry (and the case now).
    std::pair<v1::CaseMessage, v1::Case> Add(const common::RequestContext& rc, const std::string& case_id,
                                             const v1::CaseMessage& message, const std::string& request_id);
    // NOT_FOUND for an unknown case.
    common::Page<v1::CaseMessage> List(const common::RequestContext& rc, const ListQuery& query);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    int reopen_days_;
};

}  // namespace crm::support::conversation
