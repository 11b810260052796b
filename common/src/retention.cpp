#include "crm/common/retention.hpp"

#include <crm/privacy/v1/retention.grpc.pb.h>

#include <chrono>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <regex>

#include "crm/common/audit.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "subject_keys.hpp"

namespace crm::common {
namespace {

namespace pv1 = crm::privacy::v1;

constexpr int kBatch = 500;
constexpr int kMaxAgeDays = 36500;
constexpr std::int64_t kMicrosPerDay = 86'400'000'000;

#define CRM_RET_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_RET_AT(n) "to_timestamp($" #n "::bigint / 1000000.0)"

const Sql kPolicies{"retention_policies",
                    "SELECT rule, max_age_days, action, enabled, " CRM_RET_MICROS("update_time") ", " CRM_RET_MICROS(
                        "last_run_time") " FROM crm_retention_policies WHERE tenant_id = $1"};
const Sql kUpsertPolicy{"retention_policy_upsert",
                        "INSERT INTO crm_retention_policies (tenant_id, rule, max_age_days, action, enabled) "
                        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, rule) DO UPDATE SET "
                        "max_age_days = EXCLUDED.max_age_days, action = EXCLUDED.action, enabled = EXCLUDED.enabled, "
                        "update_time = clock_timestamp()"};
// Serialises runs of one tenant's rule across calls and replicas; the scheduler skips a policy being run.
const Sql kLockPolicy{"retention_policy_lock",
                      "SELECT max_age_days, action FROM crm_retention_policies "
                      "WHERE tenant_id = $1 AND rule = $2 AND enabled FOR UPDATE"};
const Sql kLockPolicySkip{"retention_policy_lock_skip",
                          "SELECT max_age_days, action FROM crm_retention_policies "
                          "WHERE tenant_id = $1 AND rule = $2 AND enabled AND "
                          "(last_run_time IS NULL OR last_run_time < clock_timestamp() - make_interval(secs => $3)) "
                          "FOR UPDATE SKIP LOCKED"};
const Sql kMarkRun{"retention_policy_mark_run",
                   "UPDATE crm_retention_policies SET last_run_time = clock_timestamp() "
                   "WHERE tenant_id = $1 AND rule = $2"};
const Sql kInsertRun{"retention_run_insert",
                     "INSERT INTO crm_retention_runs (tenant_id, id, request_id, rule, action, max_age_days, cutoff, "
                     "rows_touched, dry_run, trigger, start_time, end_time) VALUES ($1, $2::uuid, $3, $4, $5, $6, "
                     "to_timestamp($7::bigint / 1000000.0), $8, $9, $10, clock_timestamp(), clock_timestamp())"};
const Sql kUpdateRun{"retention_run_update",
                     "UPDATE crm_retention_runs SET rows_touched = $3, end_time = clock_timestamp() "
                     "WHERE tenant_id = $1 AND id = $2::uuid"};
#define CRM_RET_RUN_COLUMNS                                  \
    "id::text, rule, action, max_age_days, " CRM_RET_MICROS( \
        "cutoff") ", rows_touched, dry_run, trigger, " CRM_RET_MICROS("start_time") ", " CRM_RET_MICROS("end_time")
const Sql kRunsOfRequest{"retention_runs_of_request",
                         "SELECT " CRM_RET_RUN_COLUMNS
                         " FROM crm_retention_runs WHERE tenant_id = $1 AND request_id = $2 "
                         "ORDER BY start_time, id"};
const Sql kRunById{"retention_run_get",
                   "SELECT " CRM_RET_RUN_COLUMNS " FROM crm_retention_runs WHERE tenant_id = $1 AND id = $2::uuid"};
const Sql kListRuns{"retention_runs_list",
                    "SELECT " CRM_RET_RUN_COLUMNS
                    " FROM crm_retention_runs WHERE tenant_id = $1 AND (start_time, id) < (" CRM_RET_AT(
                        2) ", $3::uuid) ORDER BY start_time DESC, id DESC LIMIT $4"};
// A cross-tenant read for the scheduler, allowed only by the maintenance policy of the transaction that sets this.
const Sql kMaintenanceOn{"retention_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
const Sql kDuePolicies{"retention_policies_due",
                       "SELECT tenant_id, rule FROM crm_retention_policies WHERE enabled AND "
                       "(last_run_time IS NULL OR last_run_time < clock_timestamp() - make_interval(secs => $1)) "
                       "ORDER BY last_run_time NULLS FIRST LIMIT 200"};

// The kit's own rules: the kit's tables.
const Sql kIdemCount{"retention_idempotency_count",
                     "SELECT count(*) FROM idempotency_keys WHERE tenant_id = $1 AND create_time < " CRM_RET_AT(
                         2) " AND $3::text <> ''"};
const Sql kIdemDelete{
    "retention_idempotency_delete",
    "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND (operation, request_id) IN ("
    "SELECT operation, request_id FROM idempotency_keys WHERE tenant_id = $1 AND create_time < " CRM_RET_AT(
        2) " LIMIT $3) RETURNING operation || ':' || request_id"};
const Sql kProcessedCount{
    "retention_processed_count",
    "SELECT count(*) FROM crm_processed_events WHERE tenant_id = $1 AND processed_at < " CRM_RET_AT(
        2) " AND $3::text <> ''"};
const Sql kProcessedDelete{"retention_processed_delete",
                           "DELETE FROM crm_processed_events WHERE tenant_id = $1 AND (consumer, event_id) IN ("
                           "SELECT consumer, event_id FROM crm_processed_events WHERE tenant_id = $1 AND "
                           "processed_at < " CRM_RET_AT(2) " LIMIT $3) RETURNING event_id::text"};

const char* ActionText(pv1::RetentionAction a) { return a == pv1::RETENTION_ACTION_DELETE ? "DELETE" : "ANONYMISE"; }
pv1::RetentionAction ActionOf(const std::string& text) {
    return text == "DELETE" ? pv1::RETENTION_ACTION_DELETE : pv1::RETENTION_ACTION_ANONYMISE;
}
bool Allows(const RetentionRule& rule, pv1::RetentionAction a) {
    return a == pv1::RETENTION_ACTION_DELETE ? rule.remove.text != nullptr : rule.anonymise.text != nullptr;
}

void SetTime(google::protobuf::Timestamp* t, std::int64_t micros) {
    t->set_seconds(micros / 1'000'000 - (micros % 1'000'000 < 0 ? 1 : 0));
    t->set_nanos(static_cast<int>(((micros % 1'000'000) + 1'000'000) % 1'000'000) * 1000);
}
std::int64_t NowMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

pv1::RetentionRun RunFromRow(const pqxx::row& r, const std::string& service) {
    pv1::RetentionRun run;
    run.set_run_id(r[0].as<std::string>());
    run.set_service(service);
    run.set_rule(r[1].as<std::string>());
    run.set_action(ActionOf(r[2].as<std::string>()));
    run.set_max_age_days(r[3].as<int>());
    SetTime(run.mutable_cutoff(), r[4].as<std::int64_t>());
    run.set_rows(r[5].as<std::int64_t>());
    run.set_dry_run(r[6].as<bool>());
    run.set_trigger(r[7].as<std::string>());
    SetTime(run.mutable_start_time(), r[8].as<std::int64_t>());
    SetTime(run.mutable_end_time(), r[9].as<std::int64_t>());
    return run;
}

void RequirePrivacyRole(const RequestContext& rc) {
    if (!rc.HasRole("admin") && !rc.HasRole("privacy_officer")) {
        throw ApiError::PermissionDenied("retention policies need the role privacy_officer or admin");
    }
}

}  // namespace

std::vector<RetentionRule> KitRetentionRules() {
    return {
        {.name = "idempotency_keys",
         .description = "request ids remembered for retried creates (a retry after this age creates again)",
         .resource_type = "idempotency_key",
         .min_age_days = 1,
         .count = kIdemCount,
         .remove = kIdemDelete,
         .anonymise = {nullptr, nullptr}},
        {.name = "processed_events",
         .description = "ids of the events this service's consumers applied (keep longer than the topics' retention)",
         .resource_type = "processed_event",
         .min_age_days = 7,
         .count = kProcessedCount,
         .remove = kProcessedDelete,
         .anonymise = {nullptr, nullptr}},
    };
}

struct Retention::Impl {
    std::string service;
    Db& db;
    Outbox& outbox;
    std::vector<RetentionRule> rules;

    const RetentionRule* Find(const std::string& name) const {
        for (const auto& r : rules) {
            if (r.name == name) return &r;
        }
        return nullptr;
    }

    struct PolicyRow {
        int max_age_days = 0;
        std::string action;
        bool enabled = false;
        std::int64_t update_us = 0;
        std::optional<std::int64_t> last_run_us;
    };
    std::map<std::string, PolicyRow> Policies(pqxx::transaction_base& tx, const std::string& tenant) {
        std::map<std::string, PolicyRow> out;
        for (const auto& r : db.Exec(tx, kPolicies, tenant)) {
            PolicyRow p;
            p.max_age_days = r[1].as<int>();
            p.action = r[2].as<std::string>();
            p.enabled = r[3].as<bool>();
            p.update_us = r[4].as<std::int64_t>();
            if (!r[5].is_null()) p.last_run_us = r[5].as<std::int64_t>();
            out.emplace(r[0].as<std::string>(), std::move(p));
        }
        return out;
    }

    void RuleToProto(const RetentionRule& rule, const PolicyRow* policy, pv1::RetentionRule* out) const {
        out->set_name(rule.name);
        out->set_description(rule.description);
        out->set_resource_type(rule.resource_type);
        if (rule.remove.text) out->add_allowed_actions(pv1::RETENTION_ACTION_DELETE);
        if (rule.anonymise.text) out->add_allowed_actions(pv1::RETENTION_ACTION_ANONYMISE);
        out->set_min_age_days(rule.min_age_days);
        if (!policy) return;
        auto* p = out->mutable_policy();
        p->set_max_age_days(policy->max_age_days);
        p->set_action(ActionOf(policy->action));
        p->set_enabled(policy->enabled);
        SetTime(p->mutable_update_time(), policy->update_us);
        if (policy->last_run_us) SetTime(p->mutable_last_run_time(), *policy->last_run_us);
    }

    // One rule's run for a tenant. rc: the caller (an RPC), or null (the scheduler, acting as the service).
    // Returns nothing when the scheduler found the policy taken by another replica or no longer due.
    std::optional<pv1::RetentionRun> RunRule(const std::string& tenant, const RetentionRule& rule, bool dry_run,
                                             const std::string& request_id, const RequestContext* rc,
                                             std::chrono::seconds every) {
        const std::string run_id = NewUuid();
        const std::string trigger = rc ? "rpc" : "schedule";
        int max_age_days = 0;
        std::string action;
        std::int64_t cutoff_us = 0;
        std::int64_t total = 0;
        bool more = true;
        for (std::int64_t batch = 1; more; ++batch) {
            const bool first = batch == 1;
            const bool done = db.InTenant(tenant, [&](pqxx::work& tx) {
                const pqxx::result p =
                    rc || !first ? db.Exec(tx, kLockPolicy, tenant, rule.name)
                                 : db.Exec(tx, kLockPolicySkip, tenant, rule.name, static_cast<double>(every.count()));
                if (p.empty()) return true;  // disabled or removed meanwhile; or (scheduler) taken or not due
                if (first) {
                    max_age_days = p[0][0].as<int>();
                    action = p[0][1].as<std::string>();
                    cutoff_us = NowMicros() - max_age_days * kMicrosPerDay;
                }
                if (dry_run) {
                    total = db.Exec(tx, rule.count, tenant, cutoff_us, action)[0][0].as<std::int64_t>();
                    db.Exec(tx, kInsertRun, tenant, run_id, request_id, rule.name, action, max_age_days, cutoff_us,
                            total, true, trigger);
                    more = false;
                    return false;
                }
                const Sql& statement = action == "DELETE" ? rule.remove : rule.anonymise;
                if (!statement.text) {
                    throw ApiError::FailedPrecondition("rule " + rule.name + " cannot " + action, "ACTION_NOT_ALLOWED");
                }
                const pqxx::result touched = db.Exec(tx, statement, tenant, cutoff_us, kBatch);
                total += static_cast<std::int64_t>(touched.size());
                more = touched.size() == static_cast<std::size_t>(kBatch);
                if (first) {
                    db.Exec(tx, kInsertRun, tenant, run_id, request_id, rule.name, action, max_age_days, cutoff_us,
                            total, false, trigger);
                    db.Exec(tx, kMarkRun, tenant, rule.name);
                } else {
                    db.Exec(tx, kUpdateRun, tenant, run_id, total);
                }
                if (!touched.empty()) {
                    pv1::RetentionApplied event;
                    auto* run = event.mutable_run();
                    run->set_run_id(run_id);
                    run->set_service(service);
                    run->set_rule(rule.name);
                    run->set_action(ActionOf(action));
                    run->set_max_age_days(max_age_days);
                    SetTime(run->mutable_cutoff(), cutoff_us);
                    run->set_rows(static_cast<std::int64_t>(touched.size()));
                    run->set_trigger(trigger);
                    event.set_resource_type(rule.resource_type);
                    for (const auto& row : touched) event.add_resource_ids(row[0].as<std::string>());
                    // What was deleted or anonymised is no longer readable in the events either: the records' data
                    // keys go (crypto-shredding, personal_fields.hpp; a no-op for rows that are not aggregates).
                    DestroySubjectKeys(db, tx, tenant, {event.resource_ids().begin(), event.resource_ids().end()});
                    const NewEvent ev{"retention_run", run_id, batch, event};
                    if (rc) {
                        outbox.Append(tx, *rc, ev);
                    } else {
                        outbox.Append(tx, tenant, "retention:" + run_id, ev);
                    }
                }
                return false;
            });
            if (done) {
                if (first) return std::nullopt;
                break;
            }
        }
        if (!dry_run) {
            log::Info("retention run", {{"tenant", tenant},
                                        {"rule", rule.name},
                                        {"action", action},
                                        {"rows", std::to_string(total)},
                                        {"trigger", trigger}});
        }
        return db.InTenant(
            tenant, [&](pqxx::work& tx) { return RunFromRow(db.Exec(tx, kRunById, tenant, run_id).at(0), service); });
    }
};

namespace {

class RetentionServiceImpl final : public pv1::RetentionService::Service {
  public:
    RetentionServiceImpl(Retention::Impl& impl, RpcRuntime& rpc) : impl_(impl), rpc_(rpc) {}

    grpc::Status ListRetentionRules(grpc::ServerContext* sc, const pv1::ListRetentionRulesRequest* req,
                                    pv1::ListRetentionRulesResponse* resp) override {
        return rpc_.Handle(sc, "ListRetentionRules", [&](const RequestContext& rc) {
            RequirePrivacyRole(rc);
            CheckService(req->service());
            const auto policies =
                impl_.db.InTenant(rc, [&](pqxx::work& tx) { return impl_.Policies(tx, rc.tenant_id); });
            resp->set_service(impl_.service);
            for (const auto& rule : impl_.rules) {
                const auto it = policies.find(rule.name);
                impl_.RuleToProto(rule, it == policies.end() ? nullptr : &it->second, resp->add_rules());
            }
        });
    }

    grpc::Status SetRetentionPolicy(grpc::ServerContext* sc, const pv1::SetRetentionPolicyRequest* req,
                                    pv1::SetRetentionPolicyResponse* resp) override {
        return rpc_.Handle(sc, "SetRetentionPolicy", [&](const RequestContext& rc) {
            RequirePrivacyRole(rc);
            Violations v;
            CheckServiceInto(v, req->service());
            const RetentionRule* rule = RuleInto(v, req->rule(), true);
            if (req->action() != pv1::RETENTION_ACTION_DELETE && req->action() != pv1::RETENTION_ACTION_ANONYMISE) {
                v.Add("action", "required: RETENTION_ACTION_DELETE or RETENTION_ACTION_ANONYMISE");
            } else if (rule && !Allows(*rule, req->action())) {
                v.Add("action", "rule " + rule->name + " does not allow " + ActionText(req->action()));
            }
            if (rule && (req->max_age_days() < rule->min_age_days || req->max_age_days() > kMaxAgeDays)) {
                v.Add("max_age_days", "must be between " + std::to_string(rule->min_age_days) +
                                          " (this rule's minimum) and " + std::to_string(kMaxAgeDays));
            }
            v.ThrowIfAny();
            impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                impl_.db.Exec(tx, kUpsertPolicy, rc.tenant_id, rule->name, req->max_age_days(),
                              std::string(ActionText(req->action())), req->enabled());
                AppendAudit(tx, rc,
                            {.rpc = "SetRetentionPolicy",
                             .resource_type = "retention_policy",
                             .resource_id = rule->name,
                             .changed_paths = {"max_age_days", "action", "enabled"}});
                const auto policies = impl_.Policies(tx, rc.tenant_id);
                impl_.RuleToProto(*rule, &policies.at(rule->name), resp->mutable_rule());
            });
        });
    }

    grpc::Status RunRetention(grpc::ServerContext* sc, const pv1::RunRetentionRequest* req,
                              pv1::RunRetentionResponse* resp) override {
        return rpc_.Handle(sc, "RunRetention", [&](const RequestContext& rc) {
            RequirePrivacyRole(rc);
            Violations v;
            CheckServiceInto(v, req->service());
            const RetentionRule* rule = req->rule().empty() ? nullptr : RuleInto(v, req->rule(), true);
            if (!req->request_id().empty() && !IsValidRequestId(req->request_id())) {
                v.Add("request_id", "printable ASCII without spaces, 1..128 characters");
            }
            v.ThrowIfAny();
            if (!req->request_id().empty()) {
                const bool repeated = impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                    const pqxx::result earlier = impl_.db.Exec(tx, kRunsOfRequest, rc.tenant_id, req->request_id());
                    for (const auto& r : earlier) *resp->add_runs() = RunFromRow(r, impl_.service);
                    return !earlier.empty();
                });
                if (repeated) return;
            }
            std::vector<const RetentionRule*> selected;
            const auto policies =
                impl_.db.InTenant(rc, [&](pqxx::work& tx) { return impl_.Policies(tx, rc.tenant_id); });
            if (rule) {
                const auto it = policies.find(rule->name);
                if (it == policies.end() || !it->second.enabled) {
                    throw ApiError::FailedPrecondition(
                        "the tenant has no enabled policy for rule " + rule->name + " (SetRetentionPolicy first)",
                        "NO_POLICY");
                }
                selected.push_back(rule);
            } else {
                for (const auto& r : impl_.rules) {
                    const auto it = policies.find(r.name);
                    if (it != policies.end() && it->second.enabled) selected.push_back(&r);
                }
            }
            for (const RetentionRule* r : selected) {
                auto run =
                    impl_.RunRule(rc.tenant_id, *r, req->dry_run(), req->request_id(), &rc, std::chrono::seconds(0));
                if (run) *resp->add_runs() = std::move(*run);
            }
        });
    }

    grpc::Status ListRetentionRuns(grpc::ServerContext* sc, const pv1::ListRetentionRunsRequest* req,
                                   pv1::ListRetentionRunsResponse* resp) override {
        return rpc_.Handle(sc, "ListRetentionRuns", [&](const RequestContext& rc) {
            RequirePrivacyRole(rc);
            CheckService(req->service());
            const int size = ResolvePageSize(req->page_size());
            const std::string scope = "ListRetentionRuns";
            const TimeIdKey after = DecodeTimeIdToken(req->page_token(), rc.tenant_id, scope, SortOrder::kDescending);
            auto runs = impl_.db.InTenant(rc, [&](pqxx::work& tx) {
                std::vector<pv1::RetentionRun> out;
                for (const auto& r : impl_.db.Exec(tx, kListRuns, rc.tenant_id, after.micros, after.id, size + 1)) {
                    out.push_back(RunFromRow(r, impl_.service));
                }
                return out;
            });
            auto page = MakePage(std::move(runs), size, [&](const pv1::RetentionRun& last) {
                const auto& t = last.start_time();
                return EncodeTimeIdToken(rc.tenant_id, scope,
                                         {t.seconds() * 1'000'000 + t.nanos() / 1000, last.run_id()});
            });
            for (auto& run : page.items) *resp->add_runs() = std::move(run);
            resp->set_next_page_token(page.next_page_token);
        });
    }

  private:
    void CheckServiceInto(Violations& v, const std::string& service) const {
        if (!service.empty() && service != impl_.service) {
            v.Add("service", "this is the " + impl_.service + " service: it serves its own rules only");
        }
    }
    void CheckService(const std::string& service) const {
        Violations v;
        CheckServiceInto(v, service);
        v.ThrowIfAny();
    }
    const RetentionRule* RuleInto(Violations& v, const std::string& name, bool required) const {
        if (name.empty()) {
            if (required) v.Add("rule", "required");
            return nullptr;
        }
        const RetentionRule* rule = impl_.Find(name);
        if (!rule) {
            std::string known;
            for (const auto& r : impl_.rules) known += (known.empty() ? "" : ", ") + r.name;
            v.Add("rule", "unknown rule of the " + impl_.service + " service; one of: " + known);
        }
        return rule;
    }

    Retention::Impl& impl_;
    RpcRuntime& rpc_;
};

}  // namespace

Retention::Retention(std::string service, Db& db, Outbox& outbox, std::vector<RetentionRule> rules)
    : impl_(std::make_unique<Impl>(Impl{std::move(service), db, outbox, std::move(rules)})) {
    static const std::regex kName("^[a-z][a-z0-9_]{0,62}$");
    for (const auto& r : impl_->rules) {
        if (!std::regex_match(r.name, kName) || !r.count.text || (!r.remove.text && !r.anonymise.text)) {
            throw std::logic_error("retention rule " + r.name + ": needs a name, a count and an action");
        }
    }
}

Retention::~Retention() = default;

std::shared_ptr<grpc::Service> Retention::MakeService(RpcRuntime& rpc) {
    return std::make_shared<RetentionServiceImpl>(*impl_, rpc);
}

std::int64_t Retention::RunDue(std::chrono::seconds every) {
    std::vector<std::pair<std::string, std::string>> due;
    impl_->db.InTenant(std::string(), [&](pqxx::work& tx) {
        impl_->db.Exec(tx, kMaintenanceOn);
        for (const auto& r : impl_->db.Exec(tx, kDuePolicies, static_cast<double>(every.count()))) {
            due.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
        }
    });
    std::int64_t total = 0;
    for (const auto& [tenant, name] : due) {
        const RetentionRule* rule = impl_->Find(name);
        if (!rule) continue;  // a rule this version no longer has
        try {
            if (auto run = impl_->RunRule(tenant, *rule, false, "", nullptr, every)) total += run->rows();
        } catch (const std::exception& e) {
            log::Warn("retention run failed; retried at the next turn",
                      {{"tenant", tenant}, {"rule", name}, {"error", e.what()}});
        }
    }
    return total;
}

}  // namespace crm::common
