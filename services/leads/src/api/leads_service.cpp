#include "api/leads_service.hpp"

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/contacts/v1/contacts.grpc.pb.h"
#include "crm/leads/v1/leads.grpc.pb.h"
#include "crm/sales/v1/sales.grpc.pb.h"
#include "storage/repository.hpp"

namespace crm::leads::api {
namespace {

namespace v1 = crm::leads::v1;
namespace cv1 = crm::contacts::v1;
namespace sv1 = crm::sales::v1;
using common::ApiError;
using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

constexpr int kMaxImportRows = 10000;
constexpr size_t kMaxConsentText = 2000;
constexpr size_t kMaxConsentVersion = 64;

const std::set<std::string> kUpdatable = {"given_name", "family_name", "email",     "phone",  "company_name",
                                          "job_title",  "country",     "region",    "source", "campaign_id",
                                          "priority",   "notes",       "attributes"};
const std::set<std::string> kFormTargets = {"given_name", "family_name", "email",  "phone", "company_name",
                                            "job_title",  "country",     "region", "notes"};

domain::Priority PriorityOf(v1::LeadPriority p) {
    switch (p) {
        case v1::LEAD_PRIORITY_LOW:
            return domain::Priority::kLow;
        case v1::LEAD_PRIORITY_HIGH:
            return domain::Priority::kHigh;
        case v1::LEAD_PRIORITY_URGENT:
            return domain::Priority::kUrgent;
        default:
            return domain::Priority::kMedium;
    }
}

void ThrowIf(const domain::Violations& violations) {
    if (!violations.empty()) throw ApiError::InvalidArgument(violations);
}

void CheckPriority(domain::Violations& v, v1::LeadPriority p, const std::string& field) {
    if (!v1::LeadPriority_IsValid(p)) v.push_back({field, "unknown priority"});
}

// Lead fields of a create request, normalized; violations prefixed with `prefix`.
domain::LeadFields CheckedFields(const v1::Lead& lead, const std::string& prefix, domain::Violations& v) {
    domain::LeadFields f = storage::FieldsFromProto(lead);
    f.priority = PriorityOf(lead.priority());
    CheckPriority(v, lead.priority(), prefix + "priority");
    for (auto& violation : domain::NormalizeLead(f, prefix)) v.push_back(std::move(violation));
    if (lead.has_consent()) {
        if (lead.consent().text().size() > kMaxConsentText)
            v.push_back({prefix + "consent.text", "at most 2000 characters"});
        if (lead.consent().version().size() > kMaxConsentVersion) {
            v.push_back({prefix + "consent.version", "at most 64 characters"});
        }
    }
    return f;
}

std::string ExpectedEtag(const std::string& request_etag, const std::string& resource_etag) {
    return request_etag.empty() ? resource_etag : request_etag;
}

// A failed call to another service, as our client should see it.
[[noreturn]] void ThrowDownstream(const char* service, const char* rpc, const grpc::Status& s) {
    common::log::Warn(
        "downstream call failed",
        {{"target", service}, {"target_rpc", rpc}, {"target_code", common::StatusCodeName(s.error_code())}});
    switch (s.error_code()) {
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::FAILED_PRECONDITION:
            throw ApiError::FailedPrecondition(
                std::string(service) + " refused the lead's data (" + rpc + "): " + s.error_message(),
                "DOWNSTREAM_REJECTED");
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            throw ApiError::DeadlineExceeded(std::string(service) + " did not answer in time");
        default:
            throw ApiError::Unavailable(std::string(service) + " is unavailable; retry the conversion");
    }
}

struct LeadsMetrics {
    prometheus::Family<prometheus::Counter>& created;
    prometheus::Family<prometheus::Counter>& import_rows;
    prometheus::Family<prometheus::Counter>& web_form_rejections;
    prometheus::Counter& conversions;
    prometheus::Counter& contacts_linked;
    prometheus::Histogram& conversion_seconds;
    prometheus::Counter& models_trained;

    explicit LeadsMetrics(common::Metrics& m)
        : created(prometheus::BuildCounter()
                      .Name("crm_leads_created_total")
                      .Help("Leads created, by capture channel (api, import, web_form).")
                      .Register(m.registry())),
          import_rows(prometheus::BuildCounter()
                          .Name("crm_leads_import_rows_total")
                          .Help("Rows of ImportLeads, by outcome (created, duplicate, invalid).")
                          .Register(m.registry())),
          web_form_rejections(prometheus::BuildCounter()
                                  .Name("crm_leads_web_form_rejections_total")
                                  .Help("Web-form submissions refused, by reason (bot, consent, invalid).")
                                  .Register(m.registry())),
          conversions(prometheus::BuildCounter()
                          .Name("crm_leads_conversions_total")
                          .Help("Leads converted (first conversions only, not repeated calls).")
                          .Register(m.registry())
                          .Add({})),
          contacts_linked(prometheus::BuildCounter()
                              .Name("crm_leads_conversion_contacts_linked_total")
                              .Help("Conversions that linked an existing contact instead of creating one.")
                              .Register(m.registry())
                              .Add({})),
          conversion_seconds(prometheus::BuildHistogram()
                                 .Name("crm_leads_conversion_seconds")
                                 .Help("Duration of first conversions, calls to contacts and sales included.")
                                 .Register(m.registry())
                                 .Add({}, common::Metrics::LatencyBuckets())),
          models_trained(prometheus::BuildCounter()
                             .Name("crm_leads_models_trained_total")
                             .Help("Predictive scoring models trained.")
                             .Register(m.registry())
                             .Add({})) {}
};

class LeadsService final : public v1::LeadsService::Service {
  public:
    LeadsService(common::RpcRuntime& rpc, common::Metrics& metrics, std::shared_ptr<storage::Repository> repository,
                 Settings settings)
        : rpc_(rpc), metrics_(metrics), repo_(std::move(repository)), settings_(std::move(settings)) {
        const auto credentials = common::MakeChannelCredentials(settings_.upstream_tls);
        if (!settings_.contacts_addr.empty()) {
            contacts_ =
                cv1::ContactsService::NewStub(common::MakeDownstreamChannel(settings_.contacts_addr, credentials));
        }
        if (!settings_.sales_addr.empty()) {
            sales_ = sv1::SalesService::NewStub(common::MakeDownstreamChannel(settings_.sales_addr, credentials));
        }
    }

    Status CreateLead(ServerContext* sc, const v1::CreateLeadRequest* req, v1::CreateLeadResponse* resp) override {
        return rpc_.Handle(sc, "CreateLead", [&](const RequestContext& rc) {
            domain::Violations v;
            CheckRequestId(v, req->request_id());
            const domain::LeadFields f = CheckedFields(req->lead(), "lead.", v);
            ThrowIf(v);
            storage::CreateOptions o;
            o.request_id = req->request_id();
            CopyConsent(req->lead(), o);
            *resp->mutable_lead() = repo_->CreateLead(rc, f, o);
            metrics_.created.Add({{"channel", "api"}}).Increment();
        });
    }

    Status GetLead(ServerContext* sc, const v1::GetLeadRequest* req, v1::GetLeadResponse* resp) override {
        return rpc_.Handle(sc, "GetLead", [&](const RequestContext& rc) {
            *resp->mutable_lead() = repo_->GetLead(rc, Id(req->id(), "id"));
        });
    }

    Status ListLeads(ServerContext* sc, const v1::ListLeadsRequest* req, v1::ListLeadsResponse* resp) override {
        return rpc_.Handle(sc, "ListLeads", [&](const RequestContext& rc) {
            storage::ListQuery q;
            q.page_size = common::ResolvePageSize(req->page_size());
            q.page_token = req->page_token();
            domain::Violations v;
            if (!v1::LeadStatus_IsValid(req->status())) v.push_back({"status", "unknown status"});
            ThrowIf(v);
            if (req->status() != v1::LEAD_STATUS_UNSPECIFIED) {
                q.status = v1::LeadStatus_Name(req->status()).substr(std::string("LEAD_STATUS_").size());
            }
            q.owner_id = domain::Trim(req->owner_id());
            q.source = domain::Lower(domain::Trim(req->source()));
            q.campaign_id = domain::Trim(req->campaign_id());
            storage::LeadPage page = repo_->ListLeads(rc, q);
            for (auto& lead : page.leads) *resp->add_leads() = std::move(lead);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status UpdateLead(ServerContext* sc, const v1::UpdateLeadRequest* req, v1::UpdateLeadResponse* resp) override {
        return rpc_.Handle(sc, "UpdateLead", [&](const RequestContext& rc) {
            domain::Violations v;
            const std::string id = CheckIdInto(v, req->lead().id(), "lead.id");
            std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
            std::set<std::string> seen;
            for (const auto& path : paths) {
                if (!kUpdatable.count(path)) {
                    v.push_back({"update_mask", "path \"" + path + "\" cannot be updated here"});
                } else if (!seen.insert(path).second) {
                    v.push_back({"update_mask", "path \"" + path + "\" is repeated"});
                }
            }
            domain::LeadFields f = storage::FieldsFromProto(req->lead());
            f.priority = PriorityOf(req->lead().priority());
            CheckPriority(v, req->lead().priority(), "lead.priority");
            for (auto& violation : domain::NormalizeLead(f, "lead.", false)) v.push_back(std::move(violation));
            if (!req->lead().owner_id().empty()) v.push_back({"lead.owner_id", "change the owner with AssignLead"});
            ThrowIf(v);
            *resp->mutable_lead() = repo_->UpdateLead(rc, id, paths, f, ExpectedEtag(req->etag(), req->lead().etag()));
        });
    }

    Status ChangeLeadStatus(ServerContext* sc, const v1::ChangeLeadStatusRequest* req,
                            v1::ChangeLeadStatusResponse* resp) override {
        return rpc_.Handle(sc, "ChangeLeadStatus", [&](const RequestContext& rc) {
            domain::Violations v;
            const std::string id = CheckIdInto(v, req->id(), "id");
            std::optional<domain::Status> to;
            if (v1::LeadStatus_IsValid(req->status()) && req->status() != v1::LEAD_STATUS_UNSPECIFIED) {
                to = domain::ParseStatus(v1::LeadStatus_Name(req->status()).substr(12));
            }
            if (!to) {
                v.push_back({"status", "required: the target status"});
            } else if (*to == domain::Status::kConverted) {
                v.push_back({"status", "CONVERTED is reached only through ConvertLead"});
            }
            if (req->reason().size() > 500) v.push_back({"reason", "at most 500 characters"});
            ThrowIf(v);
            *resp->mutable_lead() = repo_->ChangeStatus(rc, id, *to, domain::Trim(req->reason()), req->etag());
        });
    }

    Status ImportLeads(ServerContext* sc, grpc::ServerReader<v1::ImportLeadsRequest>* reader,
                       v1::ImportLeadsResponse* resp) override {
        return rpc_.Handle(sc, "ImportLeads", [&](const RequestContext& rc) {
            // The whole stream is read first, so a stream above the limit is refused before any row is written.
            std::vector<v1::ImportLeadsRequest> rows;
            v1::ImportLeadsRequest next;
            while (reader->Read(&next)) {
                if (static_cast<int>(rows.size()) >= kMaxImportRows) {
                    throw ApiError::InvalidArgument("lead",
                                                    "at most 10000 rows per ImportLeads call; nothing imported");
                }
                rows.push_back(std::move(next));
                next.Clear();
            }
            int index = 0;
            for (const auto& row : rows) {
                v1::ImportRowResult* result = resp->add_results();
                result->set_row(index++);
                domain::Violations v;
                CheckRequestId(v, row.request_id());
                const domain::LeadFields f = CheckedFields(row.lead(), "lead.", v);
                if (!v.empty()) {
                    result->set_outcome(v1::IMPORT_OUTCOME_INVALID);
                    for (const auto& violation : v) result->add_reasons(violation.field + ": " + violation.description);
                    continue;
                }
                storage::CreateOptions o;
                o.channel = v1::CAPTURE_CHANNEL_IMPORT;
                o.request_id = row.request_id();
                CopyConsent(row.lead(), o);
                try {
                    const v1::Lead lead = repo_->CreateLead(rc, f, o);
                    result->set_outcome(v1::IMPORT_OUTCOME_CREATED);
                    result->set_lead_id(lead.id());
                } catch (const ApiError& e) {
                    if (e.code() != grpc::StatusCode::ALREADY_EXISTS) throw;
                    result->set_outcome(v1::IMPORT_OUTCOME_DUPLICATE);
                    const auto existing = e.metadata().find("existing_id");
                    if (existing != e.metadata().end()) {
                        result->set_lead_id(existing->second);
                        result->set_existing_lead_id(existing->second);
                    }
                }
            }
            for (const auto& r : resp->results()) {
                switch (r.outcome()) {
                    case v1::IMPORT_OUTCOME_CREATED:
                        resp->set_created_count(resp->created_count() + 1);
                        break;
                    case v1::IMPORT_OUTCOME_DUPLICATE:
                        resp->set_duplicate_count(resp->duplicate_count() + 1);
                        break;
                    default:
                        resp->set_invalid_count(resp->invalid_count() + 1);
                }
            }
            metrics_.created.Add({{"channel", "import"}}).Increment(resp->created_count());
            metrics_.import_rows.Add({{"outcome", "created"}}).Increment(resp->created_count());
            metrics_.import_rows.Add({{"outcome", "duplicate"}}).Increment(resp->duplicate_count());
            metrics_.import_rows.Add({{"outcome", "invalid"}}).Increment(resp->invalid_count());
        });
    }

    Status RecordEngagement(ServerContext* sc, const v1::RecordEngagementRequest* req,
                            v1::RecordEngagementResponse* resp) override {
        return rpc_.Handle(sc, "RecordEngagement", [&](const RequestContext& rc) {
            domain::Violations v;
            const std::string id = CheckIdInto(v, req->lead_id(), "lead_id");
            CheckRequestId(v, req->request_id());
            const v1::Engagement& e = req->engagement();
            if (!domain::IsKey(e.type())) v.push_back({"engagement.type", "required; must match [a-z][a-z0-9_]{0,62}"});
            if (e.direction() != v1::ENGAGEMENT_DIRECTION_INBOUND &&
                e.direction() != v1::ENGAGEMENT_DIRECTION_OUTBOUND) {
                v.push_back({"engagement.direction", "required: INBOUND or OUTBOUND"});
            }
            if (e.detail().size() > 500) v.push_back({"engagement.detail", "at most 500 characters"});
            if (e.has_occur_time()) {
                const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
                if (e.occur_time().seconds() > now + 60 || e.occur_time().seconds() < 0 || e.occur_time().nanos() < 0 ||
                    e.occur_time().nanos() > 999999999) {
                    v.push_back({"engagement.occur_time", "must be a valid time, not in the future"});
                }
            }
            ThrowIf(v);
            auto [lead, engagement] = repo_->RecordEngagement(rc, id, e, req->request_id());
            *resp->mutable_lead() = std::move(lead);
            *resp->mutable_engagement() = std::move(engagement);
        });
    }

    Status GetScoringRules(ServerContext* sc, const v1::GetScoringRulesRequest*,
                           v1::GetScoringRulesResponse* resp) override {
        return rpc_.Handle(sc, "GetScoringRules", [&](const RequestContext& rc) {
            *resp->mutable_scoring_rules() = repo_->GetScoringRules(rc);
        });
    }

    Status UpdateScoringRules(ServerContext* sc, const v1::UpdateScoringRulesRequest* req,
                              v1::UpdateScoringRulesResponse* resp) override {
        return rpc_.Handle(sc, "UpdateScoringRules", [&](const RequestContext& rc) {
            domain::Violations v;
            v1::ScoringRules rules = req->scoring_rules();
            if (rules.engagement_half_life_days() == 0) rules.set_engagement_half_life_days(30);
            for (int i = 0; i < rules.rules_size(); ++i) {
                const auto& r = rules.rules(i);
                const std::string p = "scoring_rules.rules[" + std::to_string(i) + "].";
                if (r.condition_case() == v1::ScoringRule::CONDITION_NOT_SET) {
                    v.push_back({p + "condition", "required: attribute or engagement"});
                }
                if (r.has_attribute() && (r.attribute().operator_() == v1::CONDITION_OPERATOR_UNSPECIFIED ||
                                          !v1::ConditionOperator_IsValid(r.attribute().operator_()))) {
                    v.push_back({p + "attribute.operator", "required"});
                }
            }
            for (auto& violation : domain::ValidateRules(storage::RulesFromProto(rules), "scoring_rules.")) {
                v.push_back(std::move(violation));
            }
            ThrowIf(v);
            *resp->mutable_scoring_rules() = repo_->UpdateScoringRules(rc, rules);
        });
    }

    Status TrainScoringModel(ServerContext* sc, const v1::TrainScoringModelRequest* req,
                             v1::TrainScoringModelResponse* resp) override {
        return rpc_.Handle(sc, "TrainScoringModel", [&](const RequestContext& rc) {
            domain::Violations v;
            int min = req->min_examples_per_class() == 0 ? 20 : req->min_examples_per_class();
            int days = req->open_lead_negative_after_days() == 0 ? 90 : req->open_lead_negative_after_days();
            if (min < 5 || min > 100000) v.push_back({"min_examples_per_class", "0 (= 20) or 5 to 100000"});
            if (days < 1 || days > 3650) v.push_back({"open_lead_negative_after_days", "0 (= 90) or 1 to 3650"});
            ThrowIf(v);
            *resp->mutable_model() = repo_->TrainModel(rc, min, days);
            metrics_.models_trained.Increment();
        });
    }

    Status PredictLeadConversion(ServerContext* sc, const v1::PredictLeadConversionRequest* req,
                                 v1::PredictLeadConversionResponse* resp) override {
        return rpc_.Handle(sc, "PredictLeadConversion", [&](const RequestContext& rc) {
            domain::Violations v;
            const std::string id = CheckIdInto(v, req->lead_id(), "lead_id");
            if (req->top_factors() < 0 || req->top_factors() > 20) v.push_back({"top_factors", "0 (= 5) to 20"});
            ThrowIf(v);
            *resp = repo_->Predict(rc, id, req->top_factors() == 0 ? 5 : req->top_factors());
        });
    }

    Status GetAssignmentConfig(ServerContext* sc, const v1::GetAssignmentConfigRequest*,
                               v1::GetAssignmentConfigResponse* resp) override {
        return rpc_.Handle(sc, "GetAssignmentConfig", [&](const RequestContext& rc) {
            *resp->mutable_assignment_config() = repo_->GetAssignmentConfig(rc);
        });
    }

    Status UpdateAssignmentConfig(ServerContext* sc, const v1::UpdateAssignmentConfigRequest* req,
                                  v1::UpdateAssignmentConfigResponse* resp) override {
        return rpc_.Handle(sc, "UpdateAssignmentConfig", [&](const RequestContext& rc) {
            const v1::AssignmentConfig& c = req->assignment_config();
            domain::Violations v;
            std::set<std::string> teams;
            if (c.teams_size() > 50) v.push_back({"assignment_config.teams", "at most 50 teams"});
            for (int i = 0; i < c.teams_size(); ++i) {
                const auto& t = c.teams(i);
                const std::string p = "assignment_config.teams[" + std::to_string(i) + "].";
                if (!domain::IsSlug(t.id())) v.push_back({p + "id", "required; must match [a-z][a-z0-9_-]{0,62}"});
                if (!teams.insert(t.id()).second) v.push_back({p + "id", "team ids must be unique"});
                if (t.name().size() > 200) v.push_back({p + "name", "at most 200 characters"});
                if (t.members_size() < 1 || t.members_size() > 200) v.push_back({p + "members", "1 to 200 members"});
                std::set<std::string> users;
                for (int j = 0; j < t.members_size(); ++j) {
                    const auto& m = t.members(j);
                    const std::string mp = p + "members[" + std::to_string(j) + "].";
                    if (m.user_id().empty() || m.user_id().size() > 128) {
                        v.push_back({mp + "user_id", "required, at most 128 characters"});
                    }
                    if (!users.insert(m.user_id()).second) v.push_back({mp + "user_id", "members must be distinct"});
                    if (m.max_open_leads() < 0) v.push_back({mp + "max_open_leads", "must not be negative"});
                }
            }
            if (c.rules_size() > 500) v.push_back({"assignment_config.rules", "at most 500 rules"});
            for (int i = 0; i < c.rules_size(); ++i) {
                const auto& r = c.rules(i);
                const std::string p = "assignment_config.rules[" + std::to_string(i) + "].";
                if (!teams.count(r.team_id())) v.push_back({p + "team_id", "must name one of the teams"});
                if (r.country().size() > 2) v.push_back({p + "country", "an ISO 3166-1 alpha-2 code or empty"});
                if (r.region().size() > 200 || r.source().size() > 200) {
                    v.push_back({p + "region", "region and source at most 200 characters"});
                }
            }
            if (!c.default_team_id().empty() && !teams.count(c.default_team_id())) {
                v.push_back({"assignment_config.default_team_id", "must name one of the teams"});
            }
            std::set<int> priorities;
            for (int i = 0; i < c.sla_policies_size(); ++i) {
                const auto& s = c.sla_policies(i);
                const std::string p = "assignment_config.sla_policies[" + std::to_string(i) + "].";
                if (s.priority() == v1::LEAD_PRIORITY_UNSPECIFIED || !v1::LeadPriority_IsValid(s.priority())) {
                    v.push_back({p + "priority", "required"});
                } else if (!priorities.insert(s.priority()).second) {
                    v.push_back({p + "priority", "at most one policy per priority"});
                }
                if (s.first_touch_minutes() < 1 || s.first_touch_minutes() > 525600) {
                    v.push_back({p + "first_touch_minutes", "1 to 525600"});
                }
            }
            ThrowIf(v);
            *resp->mutable_assignment_config() = repo_->UpdateAssignmentConfig(rc, c);
        });
    }

    Status AssignLead(ServerContext* sc, const v1::AssignLeadRequest* req, v1::AssignLeadResponse* resp) override {
        return rpc_.Handle(sc, "AssignLead", [&](const RequestContext& rc) {
            domain::Violations v;
            const std::string id = CheckIdInto(v, req->id(), "id");
            const std::string owner = domain::Trim(req->owner_id());
            if (owner.size() > 128) v.push_back({"owner_id", "at most 128 characters"});
            ThrowIf(v);
            *resp->mutable_lead() = repo_->AssignLead(rc, id, owner, req->etag());
        });
    }

    Status ConvertLead(ServerContext* sc, const v1::ConvertLeadRequest* req, v1::ConvertLeadResponse* resp) override {
        return rpc_.Handle(sc, "ConvertLead", [&](const RequestContext& rc) { Convert(rc, *req, *resp); });
    }

    Status UpsertWebForm(ServerContext* sc, const v1::UpsertWebFormRequest* req,
                         v1::UpsertWebFormResponse* resp) override {
        return rpc_.Handle(sc, "UpsertWebForm", [&](const RequestContext& rc) {
            v1::WebForm form = req->web_form();
            domain::Violations v;
            if (!domain::IsSlug(form.id())) v.push_back({"web_form.id", "required; must match [a-z][a-z0-9_-]{0,62}"});
            if (form.name().size() > 200) v.push_back({"web_form.name", "at most 200 characters"});
            if (form.field_mapping_size() > 50) v.push_back({"web_form.field_mapping", "at most 50 fields"});
            for (const auto& [name, target] : form.field_mapping()) {
                const bool attribute = target.rfind("attributes.", 0) == 0 && domain::IsKey(target.substr(11));
                if (name.empty() || name.size() > 64 || !(kFormTargets.count(target) || attribute)) {
                    v.push_back({"web_form.field_mapping", "\"" + name + "\" → \"" + target +
                                                               "\": names of 1 to 64 characters mapped to a lead "
                                                               "field or attributes.<key>"});
                }
            }
            form.set_default_source(domain::Lower(domain::Trim(form.default_source())));
            if (form.default_source().size() > 200) v.push_back({"web_form.default_source", "at most 200 characters"});
            if (form.default_campaign_id().size() > 200) {
                v.push_back({"web_form.default_campaign_id", "at most 200 characters"});
            }
            CheckPriority(v, form.default_priority(), "web_form.default_priority");
            if (form.consent_text().empty() || form.consent_text().size() > kMaxConsentText) {
                v.push_back({"web_form.consent_text", "required, at most 2000 characters"});
            }
            if (form.consent_version().empty() || form.consent_version().size() > kMaxConsentVersion) {
                v.push_back({"web_form.consent_version", "required, at most 64 characters"});
            }
            if (form.min_fill_seconds() == 0) form.set_min_fill_seconds(3);
            if (form.token_ttl_seconds() == 0) form.set_token_ttl_seconds(3600);
            if (form.min_fill_seconds() < 1 || form.min_fill_seconds() > 3600) {
                v.push_back({"web_form.min_fill_seconds", "0 (= 3) or 1 to 3600"});
            }
            if (form.token_ttl_seconds() <= form.min_fill_seconds() || form.token_ttl_seconds() > 86400) {
                v.push_back({"web_form.token_ttl_seconds", "0 (= 3600), or above min_fill_seconds and at most 86400"});
            }
            ThrowIf(v);
            *resp->mutable_web_form() = repo_->UpsertWebForm(rc, form);
        });
    }

    Status GetWebForm(ServerContext* sc, const v1::GetWebFormRequest* req, v1::GetWebFormResponse* resp) override {
        return rpc_.Handle(sc, "GetWebForm", [&](const RequestContext& rc) {
            if (!domain::IsSlug(req->id())) throw ApiError::InvalidArgument("id", "must match [a-z][a-z0-9_-]{0,62}");
            *resp->mutable_web_form() = repo_->GetWebForm(rc, req->id());
        });
    }

    Status IssueWebFormToken(ServerContext* sc, const v1::IssueWebFormTokenRequest* req,
                             v1::IssueWebFormTokenResponse* resp) override {
        return rpc_.Handle(sc, "IssueWebFormToken", [&](const RequestContext& rc) {
            if (!domain::IsSlug(req->form_id())) {
                throw ApiError::InvalidArgument("form_id", "must match [a-z][a-z0-9_-]{0,62}");
            }
            const v1::WebForm form = repo_->GetWebForm(rc, req->form_id());
            const std::int64_t now_ms = UnixMillisNow();
            resp->set_form_token(
                domain::SignFormToken({rc.tenant_id, form.id(), now_ms, common::NewUuid()}, settings_.form_token_key));
            resp->mutable_issue_time()->set_seconds(now_ms / 1000);
            resp->mutable_issue_time()->set_nanos(static_cast<int>(now_ms % 1000) * 1000000);
            resp->mutable_expire_time()->set_seconds(now_ms / 1000 + form.token_ttl_seconds());
            resp->mutable_expire_time()->set_nanos(static_cast<int>(now_ms % 1000) * 1000000);
            resp->set_consent_text(form.consent_text());
            resp->set_consent_version(form.consent_version());
        });
    }

    Status SubmitWebForm(ServerContext* sc, const v1::SubmitWebFormRequest* req,
                         v1::SubmitWebFormResponse* resp) override {
        return rpc_.Handle(sc, "SubmitWebForm", [&](const RequestContext& rc) {
            if (!domain::IsSlug(req->form_id())) {
                Reject("invalid");
                throw ApiError::InvalidArgument("form_id", "must match [a-z][a-z0-9_-]{0,62}");
            }
            const v1::WebForm form = repo_->GetWebForm(rc, req->form_id());
            // Bots first: they learn nothing about validation.
            const auto claims = domain::VerifyFormToken(req->form_token(), settings_.form_token_key);
            const std::int64_t age_ms = claims ? UnixMillisNow() - claims->issued_unix_ms : 0;
            std::string bot;
            if (!req->honeypot().empty()) {
                bot = "the hidden field was filled";
            } else if (!claims || claims->tenant != rc.tenant_id || claims->form_id != form.id()) {
                bot = "the form token is not valid for this form";
            } else if (age_ms < std::int64_t{form.min_fill_seconds()} * 1000) {
                bot = "the form was submitted too fast";
            } else if (age_ms > std::int64_t{form.token_ttl_seconds()} * 1000) {
                bot = "the form token expired; reload the form";
            }
            if (!bot.empty()) {
                Reject("bot");
                throw ApiError::FailedPrecondition("submission refused: " + bot, "BOT");
            }
            domain::Violations v;
            if (!req->consent_granted()) v.push_back({"consent_granted", "consent is required"});
            if (req->consent_text() != form.consent_text()) {
                v.push_back({"consent_text", "must be the form's consent text as shown"});
            }
            if (req->consent_version() != form.consent_version()) {
                v.push_back({"consent_version", "must be the form's current consent version"});
            }
            if (!v.empty()) {
                Reject("consent");
                ThrowIf(v);
            }
            if (req->fields_size() > 50) v.push_back({"fields", "at most 50 fields"});
            domain::LeadFields f;
            std::map<std::string, std::string> submitted_name;  // lead field -> submitted field
            for (const auto& [name, value] : req->fields()) {
                if (value.size() > 2000) v.push_back({"fields." + name, "at most 2000 characters"});
                auto it = form.field_mapping().find(name);
                if (it == form.field_mapping().end()) continue;
                const std::string& target = it->second;
                submitted_name[target] = name;
                if (target.rfind("attributes.", 0) == 0) {
                    f.attributes[target.substr(11)] = value;
                    continue;
                }
                std::string* slot = target == "given_name"     ? &f.given_name
                                    : target == "family_name"  ? &f.family_name
                                    : target == "email"        ? &f.email
                                    : target == "phone"        ? &f.phone
                                    : target == "company_name" ? &f.company_name
                                    : target == "job_title"    ? &f.job_title
                                    : target == "country"      ? &f.country
                                    : target == "region"       ? &f.region
                                                               : &f.notes;
                *slot = value;
            }
            f.source = form.default_source();
            f.campaign_id = form.default_campaign_id();
            f.priority = PriorityOf(form.default_priority());
            for (auto& violation : domain::NormalizeLead(f, "")) {
                auto it = submitted_name.find(violation.field);
                const std::string field = it != submitted_name.end() ? it->second : violation.field;
                v.push_back({"fields." + field, violation.description});
            }
            if (!v.empty()) {
                Reject("invalid");
                ThrowIf(v);
            }
            storage::CreateOptions o;
            o.channel = v1::CAPTURE_CHANNEL_WEB_FORM;
            o.web_form_id = form.id();
            o.has_consent = true;
            o.consent_granted = true;
            o.consent_text = form.consent_text();
            o.consent_version = form.consent_version();
            auto [lead_id, created] = repo_->SubmitWebForm(rc, claims->nonce, f, o);
            resp->set_lead_id(lead_id);
            resp->set_created(created);
            if (created) metrics_.created.Add({{"channel", "web_form"}}).Increment();
        });
    }

  private:
    static std::int64_t UnixMillisNow() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    static std::string CheckIdInto(domain::Violations& out, const std::string& value, const std::string& field) {
        common::Violations v;
        std::string id = common::CheckId(v, value, field);
        out.insert(out.end(), v.list().begin(), v.list().end());
        return id;
    }

    static std::string Id(const std::string& value, const std::string& field) {
        common::Violations v;
        std::string id = common::CheckId(v, value, field);
        v.ThrowIfAny();
        return id;
    }

    static void CheckRequestId(domain::Violations& out, const std::string& value) {
        common::Violations v;
        common::CheckRequestId(v, value);
        out.insert(out.end(), v.list().begin(), v.list().end());
    }

    static void CopyConsent(const v1::Lead& lead, storage::CreateOptions& o) {
        if (!lead.has_consent()) return;
        o.has_consent = true;
        o.consent_granted = lead.consent().granted();
        o.consent_text = lead.consent().text();
        o.consent_version = lead.consent().version();
    }

    void Reject(const char* reason) { metrics_.web_form_rejections.Add({{"reason", reason}}).Increment(); }

    void Prepare(grpc::ClientContext& ctx, const RequestContext& rc) const {
        common::PrepareDownstreamCall(ctx, rc, settings_.internal_key, settings_.call_timeout);
    }

    void Convert(const RequestContext& rc, const v1::ConvertLeadRequest& req, v1::ConvertLeadResponse& resp) {
        domain::Violations v;
        const std::string id = CheckIdInto(v, req.id(), "id");
        if (req.create_opportunity()) {
            const auto& o = req.opportunity();
            if (o.name().empty() || o.name().size() > 200) {
                v.push_back({"opportunity.name", "required, at most 200 characters"});
            }
            if (o.amount().amount_minor() < 0) {
                v.push_back({"opportunity.amount.amount_minor", "must not be negative"});
            }
            const std::string& currency = o.amount().currency_code();
            if (currency.size() != 3 ||
                !std::all_of(currency.begin(), currency.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
                v.push_back({"opportunity.amount.currency_code", "required: an ISO 4217 code such as EUR"});
            }
            if (o.pipeline_id().size() > 64) v.push_back({"opportunity.pipeline_id", "at most 64 characters"});
            if (!o.expected_close_date().empty() && o.expected_close_date().size() != 10) {
                v.push_back({"opportunity.expected_close_date", "a date YYYY-MM-DD"});
            }
        } else if (req.has_opportunity()) {
            v.push_back({"opportunity", "set create_opportunity to create one"});
        }
        ThrowIf(v);
        const auto start = std::chrono::steady_clock::now();
        const v1::Lead lead = repo_->CheckConvertible(rc, id, req.allow_unqualified(), req.etag());
        if (lead.status() == v1::LEAD_STATUS_CONVERTED) {  // converting twice returns the first result
            *resp.mutable_lead() = lead;
            *resp.mutable_conversion() = lead.conversion();
            return;
        }
        if (req.create_opportunity() && !sales_) {
            throw ApiError::FailedPrecondition("opportunities cannot be created: no sales service is configured",
                                               "SALES_NOT_CONFIGURED");
        }
        if (!contacts_) throw ApiError::Unavailable("no contacts service is configured");
        storage::ConversionIds ids;
        // Idempotency keys derived from the lead id: a retry after any failure gets the same records back.
        const std::string key = "lead-" + lead.id();
        if (!lead.company_name().empty() && !req.skip_company()) {
            cv1::CreateCompanyRequest creq;
            creq.set_request_id(key + "-company");
            creq.mutable_company()->set_name(lead.company_name());
            creq.mutable_company()->set_owner_id(lead.owner_id());
            cv1::CreateCompanyResponse cresp;
            grpc::ClientContext ctx;
            Prepare(ctx, rc);
            const grpc::Status s = contacts_->CreateCompany(&ctx, creq, &cresp);
            if (s.ok()) {
                ids.company_id = cresp.company().id();
            } else if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
                ids.company_id = ExistingId(s, "CreateCompany");
                ids.company_existed = true;
            } else {
                ThrowDownstream("contacts", "CreateCompany", s);
            }
        }
        // Without an email contacts cannot refuse a duplicate person; the same phone and a similar name identify one.
        if (lead.email().empty() && !lead.phone().empty()) {
            ids.contact_id = SamePersonByPhone(rc, lead);
            ids.contact_existed = !ids.contact_id.empty();
        }
        if (ids.contact_id.empty()) {
            cv1::CreateContactRequest preq;
            preq.set_request_id(key + "-contact");
            auto* c = preq.mutable_contact();
            c->set_given_name(lead.given_name());
            c->set_family_name(lead.family_name());
            c->set_email(lead.email());
            c->set_phone(lead.phone());
            c->set_job_title(lead.job_title());
            c->set_company_id(ids.company_id);
            c->set_owner_id(lead.owner_id());
            cv1::CreateContactResponse presp;
            grpc::ClientContext ctx;
            Prepare(ctx, rc);
            const grpc::Status s = contacts_->CreateContact(&ctx, preq, &presp);
            if (s.ok()) {
                ids.contact_id = presp.contact().id();
            } else if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
                ids.contact_id = ExistingId(s, "CreateContact");
                ids.contact_existed = true;
            } else {
                ThrowDownstream("contacts", "CreateContact", s);
            }
        }
        if (settings_.failpoint == "convert_after_contacts") {
            common::log::Error("failpoint convert_after_contacts: exiting after the contacts calls",
                               {{"lead_id", lead.id()}});
            std::_Exit(3);
        }
        if (req.create_opportunity()) ids.opportunity_id = CreateOpportunity(rc, lead, req.opportunity(), ids, key);
        const v1::Lead converted = repo_->CompleteConversion(rc, id, ids, req.allow_unqualified());
        *resp.mutable_lead() = converted;
        *resp.mutable_conversion() = converted.conversion();
        if (converted.conversion().contact_id() == ids.contact_id) {
            metrics_.conversions.Increment();
            if (ids.contact_existed) metrics_.contacts_linked.Increment();
            metrics_.conversion_seconds.Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
    }

    // The active record that contacts refused to duplicate (the same normalized company domain or name, the same
    // contact email): contacts names it in the ErrorInfo metadata of its ALREADY_EXISTS status.
    static std::string ExistingId(const grpc::Status& s, const char* method) {
        const common::ErrorDetail detail = common::ReadErrorDetail(s);
        const auto it = detail.metadata.find("existing_id");
        if (it == detail.metadata.end() || !common::IsUuid(it->second)) ThrowDownstream("contacts", method, s);
        return it->second;
    }

    // The active contact with the lead's phone (exactly, after normalization) and a similar name, if contacts knows
    // one; "" otherwise. Read-only, so a retried conversion decides the same way (or links the contact that the
    // interrupted attempt created).
    std::string SamePersonByPhone(const RequestContext& rc, const v1::Lead& lead) {
        cv1::FindDuplicatesRequest req;
        req.mutable_candidate()->set_given_name(lead.given_name());
        req.mutable_candidate()->set_family_name(lead.family_name());
        req.mutable_candidate()->set_phone(lead.phone());
        cv1::FindDuplicatesResponse resp;
        grpc::ClientContext ctx;
        Prepare(ctx, rc);
        const grpc::Status s = contacts_->FindDuplicates(&ctx, req, &resp);
        if (!s.ok()) ThrowDownstream("contacts", "FindDuplicates", s);
        for (const auto& match : resp.matches()) {  // best first
            bool phone = false, name = false;
            for (int reason : match.reasons()) {
                phone |= reason == cv1::DUPLICATE_REASON_PHONE_EXACT;
                name |= reason == cv1::DUPLICATE_REASON_NAME_SIMILAR;
            }
            if (phone && name) return match.contact().id();
        }
        return "";
    }

    std::string CreateOpportunity(const RequestContext& rc, const v1::Lead& lead, const v1::OpportunitySpec& spec,
                                  const storage::ConversionIds& ids, const std::string& key) {
        sv1::CreateOpportunityRequest req;
        req.set_request_id(key + "-opportunity");
        auto* o = req.mutable_opportunity();
        o->set_name(spec.name());
        *o->mutable_amount() = spec.amount();
        o->set_expected_close_date(spec.expected_close_date());
        o->set_pipeline_id(spec.pipeline_id());
        o->set_owner_id(lead.owner_id());
        o->set_contact_id(ids.contact_id);
        o->set_company_id(ids.company_id);
        o->set_source_campaign_id(lead.campaign_id());
        o->set_lead_id(lead.id());
        sv1::CreateOpportunityResponse resp;
        grpc::ClientContext ctx;
        Prepare(ctx, rc);
        const grpc::Status s = sales_->CreateOpportunity(&ctx, req, &resp);
        if (!s.ok()) ThrowDownstream("sales", "CreateOpportunity", s);
        return resp.opportunity().id();
    }

    common::RpcRuntime& rpc_;
    LeadsMetrics metrics_;
    std::shared_ptr<storage::Repository> repo_;
    Settings settings_;
    std::unique_ptr<cv1::ContactsService::Stub> contacts_;
    std::unique_ptr<sv1::SalesService::Stub> sales_;
};

}  // namespace

std::shared_ptr<grpc::Service> MakeLeadsService(common::RpcRuntime& rpc, common::Metrics& metrics,
                                                std::shared_ptr<storage::Repository> repository, Settings settings) {
    return std::make_shared<LeadsService>(rpc, metrics, std::move(repository), std::move(settings));
}

}  // namespace crm::leads::api
