#pragma once
// The leads repository: every statement of the service, each in a transaction of the caller's tenant, with the
// events of a change appended to the outbox in the same transaction. Works on the generated proto messages of
// crm.leads.v1 (included only by the API and storage code of this service).
#include <crm/leads/v1/leads.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/rpc.hpp"
#include "domain/leads.hpp"

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::leads::storage {

namespace v1 = crm::leads::v1;

struct CreateOptions {
    v1::CaptureChannel channel = v1::CAPTURE_CHANNEL_API;
    std::string request_id;
    std::string operation = "CreateLead";  // idempotency scope
    std::string web_form_id;
    bool has_consent = false;
    bool consent_granted = false;
    std::string consent_text, consent_version;
};

struct ListQuery {
    int page_size = 50;
    std::string page_token;
    std::string status;  // "" = any
    std::string owner_id, source, campaign_id;
};

struct LeadPage {
    std::vector<v1::Lead> leads;
    std::string next_page_token;
};

// What ConvertLead recorded, or will record.
struct ConversionIds {
    std::string contact_id, company_id, opportunity_id;
    bool contact_existed = false, company_existed = false;
};

class Repository {
  public:
    Repository(common::Db& db, common::Outbox& outbox);

    // ALREADY_EXISTS (reason DUPLICATE_LEAD, ErrorInfo metadata existing_id) when an open lead has the email.
    v1::Lead CreateLead(const common::RequestContext& rc, const domain::LeadFields& fields,
                        const CreateOptions& options);
    v1::Lead GetLead(const common::RequestContext& rc, const std::string& id);
    LeadPage ListLeads(const common::RequestContext& rc, const ListQuery& query);
    v1::Lead UpdateLead(const common::RequestContext& rc, const std::string& id, const std::vector<std::string>& paths,
                        const domain::LeadFields& patch, const std::string& etag);
    v1::Lead ChangeStatus(const common::RequestContext& rc, const std::string& id, domain::Status to,
                          const std::string& reason, const std::string& etag);
    // Returns the lead after rescoring and the stored engagement.
    std::pair<v1::Lead, v1::Engagement> RecordEngagement(const common::RequestContext& rc, const std::string& lead_id,
                                                         const v1::Engagement& engagement,
                                                         const std::string& request_id);

    v1::ScoringRules GetScoringRules(const common::RequestContext& rc);
    v1::ScoringRules UpdateScoringRules(const common::RequestContext& rc, const v1::ScoringRules& rules);
    v1::ScoringModel TrainModel(const common::RequestContext& rc, int min_per_class, int open_negative_after_days);
    v1::PredictLeadConversionResponse Predict(const common::RequestContext& rc, const std::string& lead_id, int top);

    v1::AssignmentConfig GetAssignmentConfig(const common::RequestContext& rc);
    v1::AssignmentConfig UpdateAssignmentConfig(const common::RequestContext& rc, const v1::AssignmentConfig& config);
    v1::Lead AssignLead(const common::RequestContext& rc, const std::string& id, const std::string& owner_id,
                        const std::string& etag);

    // Conversion, in two steps around the calls to other services: Check returns the lead (and throws when it cannot
    // be converted; a CONVERTED lead is returned as is), Complete marks it converted with the ids (once: a lead
    // converted meanwhile is returned unchanged).
    v1::Lead CheckConvertible(const common::RequestContext& rc, const std::string& id, bool allow_unqualified,
                              const std::string& etag);
    v1::Lead CompleteConversion(const common::RequestContext& rc, const std::string& id, const ConversionIds& ids,
                                bool allow_unqualified);

    v1::WebForm UpsertWebForm(const common::RequestContext& rc, const v1::WebForm& form);
    v1::WebForm GetWebForm(const common::RequestContext& rc, const std::string& id);
    // Marks a form token's nonce used and writes the submission (a new lead, or an engagement on the open lead with
    // the same email) in one transaction. FAILED_PRECONDITION (BOT) when the nonce was used before.
    std::pair<std::string, bool> SubmitWebForm(const common::RequestContext& rc, const std::string& nonce,
                                               const domain::LeadFields& fields, const CreateOptions& options);

    // SLA scheduler: due leads of every tenant (tenant, id), then one breach per lead (false when it was touched,
    // breached by another replica meanwhile, or is locked by a writer right now).
    std::vector<std::pair<std::string, std::string>> DueSlaLeads(int limit);
    bool BreachSla(const std::string& tenant, const std::string& id);
    // Upkeep across tenants: drops web-form nonces used more than 2 days ago (every token has expired by then) and
    // idempotency keys older than 7 days. Returns the number of rows removed.
    std::int64_t Cleanup();

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

// Reads lead fields out of a proto (no normalization).
domain::LeadFields FieldsFromProto(const v1::Lead& lead);
// The domain form of a tenant's scoring rules.
domain::RuleSet RulesFromProto(const v1::ScoringRules& rules);

}  // namespace crm::leads::storage
