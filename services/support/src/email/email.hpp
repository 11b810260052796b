#pragma once
// The email area: e-mail in (IngestEmail: a raw RFC 5322 message threaded onto its case, or a new case with the
// sender linked to a contact) and out (Mailer: a public reply e-mailed through the kit's SMTP relay with Message-ID,
// In-Reply-To and References, so that the customer's answer threads back onto the case).
#include <crm/support/v1/support.pb.h>

#include <memory>
#include <string>
#include <vector>

#include "crm/common/mail.hpp"
#include "crm/common/rpc.hpp"
#include "domain/mime.hpp"

namespace crm::common {
class Db;
class Outbox;
class Metrics;
}  // namespace crm::common

namespace prometheus {
class Counter;
template <class T>
class Family;
}  // namespace prometheus

namespace crm::clients {
class ContactsClient;
}

namespace crm::support::email {

namespace v1 = crm::support::v1;

struct MailSettings {
    common::mail::RelaySettings relay;  // relay.url empty: replies are not e-mailed
    std::string from_address;           // the support address replies come from
    std::string from_name;
    std::string message_id_domain;  // right-hand side of the Message-IDs of replies
};

// A public reply to e-mail: the case after it, the stored entry (its external_id is the Message-ID), the Message-IDs
// of the case's earlier e-mails, oldest first, and the link of the survey a solving reply opened.
struct Reply {
    v1::Case c;
    v1::CaseMessage message;
    std::vector<std::string> thread;
    std::string survey_url;  // a solving reply's satisfaction survey (empty: none)
};

class Mailer {
  public:
    Mailer(MailSettings settings, common::Metrics& metrics);
    // "<uuid>@<message_id_domain>" without the angle brackets.
    std::string NewMessageId() const;
    // Builds and sends the reply; the outcome as stored: "SENT", "FAILED_TEMPORARY" or "FAILED_PERMANENT".
    std::string Send(const Reply& reply) const;

  private:
    MailSettings settings_;
    common::mail::Relay relay_;
    prometheus::Family<prometheus::Counter>& sent_;
};

struct IngestResult {
    v1::Case c;
    v1::CaseMessage message;
    bool created_case = false;
    bool duplicate = false;
};

class Email {
  public:
    Email(common::Db& db, common::Outbox& outbox, std::shared_ptr<clients::ContactsClient> contacts, int reopen_days);
    IngestResult Ingest(const common::RequestContext& rc, const domain::ParsedEmail& email);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    std::shared_ptr<clients::ContactsClient> contacts_;
    int reopen_days_;
};

}  // namespace crm::support::email
