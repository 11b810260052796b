#pragma once
// The capture area: how leads come in. CreateLead (API), ImportLeads (a stream of rows, each in its own transaction)
// and public web forms (definitions, signed single-use tokens, submissions with their bot and consent checks). A new
// lead is deduplicated by email against the tenant's open leads, scored, assigned by the rules when it has no owner,
// and given its first-touch deadline, all in the transaction that writes it with its LeadCreated event.
#include <crm/leads/v1/leads.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"

namespace prometheus {
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace crm::common {
class Db;
class Metrics;
class Outbox;
}  // namespace crm::common

namespace crm::leads::capture {

namespace v1 = crm::leads::v1;

struct Settings {
    std::string form_token_key;  // signs web-form tokens
};

// One row of an import as the handler checked it: the normalized lead, or why it is invalid.
struct ImportRow {
    v1::Lead lead;
    std::string request_id;
    common::Violations violations;
};

class Capture {
  public:
    Capture(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, Settings settings);

    // input: the request's lead, checked and normalized (only its client-settable fields are read). A retried
    // request_id returns the first lead. ALREADY_EXISTS (DUPLICATE_LEAD, metadata existing_id) when an open lead of the
    // tenant has the email.
    v1::Lead CreateLead(const common::RequestContext& rc, const v1::Lead& input, const std::string& request_id);
    // One transaction per valid row; a result per row, in order.
    v1::ImportLeadsResponse Import(const common::RequestContext& rc, const std::vector<ImportRow>& rows);

    v1::WebForm UpsertWebForm(const common::RequestContext& rc, const v1::WebForm& form);
    v1::WebForm GetWebForm(const common::RequestContext& rc, const std::string& id);
    v1::IssueWebFormTokenResponse IssueWebFormToken(const common::RequestContext& rc, const std::string& form_id);
    // Bots first (FAILED_PRECONDITION BOT: honeypot, token, fill time, reuse), then consent, then the fields
    // (INVALID_ARGUMENT). A new lead, or a web_form_submitted engagement on the open lead with the same email.
    v1::SubmitWebFormResponse SubmitWebForm(const common::RequestContext& rc, const v1::SubmitWebFormRequest& req);
    // Counts a refused submission (bot, consent, invalid) in crm_leads_web_form_rejections_total.
    void CountRejection(const char* reason);

    // Upkeep across tenants: drops the web-form nonces used more than two days ago. Returns the rows removed.
    std::int64_t DropUsedFormTokens();

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    Settings settings_;
    prometheus::Family<prometheus::Counter>& created_;
    prometheus::Family<prometheus::Counter>& import_rows_;
    prometheus::Family<prometheus::Counter>& web_form_rejections_;
};

}  // namespace crm::leads::capture
