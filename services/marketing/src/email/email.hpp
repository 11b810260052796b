#pragma once
// The email area: the tenant's sender settings, templates (merge fields checked when saved), sends (scheduled to a
// segment for a campaign) and the sender that delivers them (sender.hpp). The public side of a message (tracked links,
// one-click unsubscribe) is the tracking area.
#include <crm/marketing/v1/marketing.pb.h>

#include <string>
#include <vector>

#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::email {

namespace v1 = crm::marketing::v1;
using common::RequestContext;

inline constexpr char kSendAggregate[] = "email_send";
// The purpose unsubscribe tokens are signed for (common/public_token.hpp); fields: send id, person id.
inline constexpr char kUnsubscribePurpose[] = "unsubscribe";
// The purpose of the open-tracking pixel's tokens (the tracking area records the open); fields: send id, person id.
inline constexpr char kOpenPurpose[] = "email-open";

// Checks under "settings.", "template." and "send." (every field, before anything is read).
v1::EmailSettings CheckedSettings(const v1::EmailSettings& in, const std::vector<std::string>& paths,
                                  common::Violations& violations);
v1::EmailTemplate CheckedTemplate(const v1::EmailTemplate& in, common::Violations& violations);
v1::EmailSend CheckedSend(const v1::EmailSend& in, common::Violations& violations);

class Email {
  public:
    Email(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

    v1::EmailSettings GetSettings(const RequestContext& rc);
    v1::EmailSettings UpdateSettings(const RequestContext& rc, const v1::EmailSettings& in,
                                     const std::vector<std::string>& paths);
    v1::EmailTemplate CreateTemplate(const RequestContext& rc, const v1::EmailTemplate& in,
                                     const std::string& request_id);
    v1::EmailTemplate GetTemplate(const RequestContext& rc, const std::string& id);
    v1::EmailSend CreateSend(const RequestContext& rc, const v1::EmailSend& in, const std::string& request_id);
    v1::EmailSend GetSend(const RequestContext& rc, const std::string& id);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

// For the sender and the tracking area, inside their transaction.
v1::EmailSettings LoadSettings(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant);
v1::EmailTemplate LoadTemplate(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                               const std::string& id);
// The next aggregate version of a send's events.
std::int64_t NextSendEvent(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                           const std::string& send_id);

}  // namespace crm::marketing::email
