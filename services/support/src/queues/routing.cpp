// Routing: the rule that matches a case, the agent a queue gives it to (under the queue and agent locks), the case
// written with CaseAssigned and the routing kept as history.
#include "queues/routing.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cases/cases.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/support/events/v1/events.pb.h"
#include "queues/sql.hpp"
#include "sealed.hpp"

namespace crm::support::queues {
namespace {

namespace ev1 = crm::support::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

// Where a case goes: the queue (empty = nowhere), the rule that chose it (-1: none), the skills it asks for.
struct Target {
    std::string queue_id;
    int rule_index = -1;
    std::string rule_name;
    std::vector<std::string> required_skills;
};

domain::CaseTraits TraitsOf(const v1::Case& c) {
    return {.channel = domain::ChannelText(cases::ChannelOf(c.channel())),
            .category = c.category(),
            .language = c.language(),
            .priority = domain::PriorityText(cases::PriorityOf(c.priority())),
            .customer_tier = c.customer_tier()};
}

domain::RuleConditions ConditionsOf(const v1::RoutingRule& r) {
    domain::RuleConditions out;
    for (int ch : r.channels())
        out.channels.push_back(domain::ChannelText(cases::ChannelOf(static_cast<v1::Channel>(ch))));
    for (int p : r.priorities()) {
        out.priorities.push_back(domain::PriorityText(cases::PriorityOf(static_cast<v1::CasePriority>(p))));
    }
    out.categories.assign(r.categories().begin(), r.categories().end());
    out.languages.assign(r.languages().begin(), r.languages().end());
    out.customer_tiers.assign(r.customer_tiers().begin(), r.customer_tiers().end());
    out.required_skills.assign(r.required_skills().begin(), r.required_skills().end());
    return out;
}

bool IsActive(const v1::Case& c) {
    const domain::Status s = cases::StatusOf(c.status());
    return s == domain::Status::kNew || s == domain::Status::kOpen || s == domain::Status::kPendingCustomer ||
           s == domain::Status::kOnHold;
}

// By the tenant's rules; nullopt when the tenant has none.
std::optional<Target> ChooseByRules(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                    const v1::Case& c) {
    const pqxx::result rows = db.Exec(tx, sql::kGetRules, tenant);
    if (rows.empty()) return std::nullopt;
    v1::RoutingRules rules;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(rows[0][0].as<std::string>(), &rules, options).ok()) {
        throw std::runtime_error("support_routing_rules: stored rules do not parse");
    }
    std::vector<std::string> ids;
    for (const auto& r : rules.rules()) ids.push_back(r.queue_id());
    if (!rules.default_queue_id().empty()) ids.push_back(rules.default_queue_id());
    std::set<std::string> active;
    for (const auto& row : db.Exec(tx, sql::kActiveQueues, tenant, common::PgTextArray(ids))) {
        active.insert(row[0].as<std::string>());
    }
    const domain::CaseTraits traits = TraitsOf(c);
    for (int i = 0; i < rules.rules_size(); ++i) {
        const auto& r = rules.rules(i);
        const domain::RuleConditions conditions = ConditionsOf(r);
        if (active.count(r.queue_id()) == 0 || !domain::RuleMatches(conditions, traits)) continue;
        return Target{.queue_id = r.queue_id(),
                      .rule_index = i,
                      .rule_name = r.name(),
                      .required_skills = conditions.required_skills};
    }
    if (active.count(rules.default_queue_id()) > 0) return Target{.queue_id = rules.default_queue_id()};
    return Target{};
}

std::vector<domain::Member> LoadMembers(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                        const std::string& queue_id) {
    std::vector<domain::Member> out;
    for (const auto& row : db.Exec(tx, sql::kMembers, tenant, queue_id)) {
        out.push_back({.agent_id = row[0].as<std::string>(),
                       .skills = JsonStrings(row[1].as<std::string>()),
                       .languages = JsonStrings(row[2].as<std::string>()),
                       .capacity = row[3].as<int>()});
    }
    return out;
}

std::map<std::string, int> Loads(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                 const std::vector<std::string>& agents) {
    std::map<std::string, int> out;
    for (const auto& row : db.Exec(tx, sql::kLoads, tenant, common::PgTextArray(agents))) {
        out[row[0].as<std::string>()] = row[1].as<int>();
    }
    return out;
}

// The agent the queue gives the case to ("" = nobody eligible), with the queue and the candidates locked.
// current_assignee: an agent the case is assigned to now (its load counts the case, which is leaving them).
std::string PickInQueue(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const Target& t,
                        const v1::Case& c) {
    const pqxx::result queue = db.Exec(tx, sql::kLockQueue, tenant, t.queue_id);
    if (queue.empty() || !queue[0][1].as<bool>()) return {};
    const domain::Strategy strategy = queue[0][0].as<std::string>() == "LEAST_LOADED" ? domain::Strategy::kLeastLoaded
                                                                                      : domain::Strategy::kRoundRobin;
    const std::vector<domain::Member> members = LoadMembers(db, tx, tenant, t.queue_id);
    std::vector<std::string> ids;
    for (const auto& m : members) ids.push_back(m.agent_id);
    std::vector<std::string> available;
    for (const auto& row : db.Exec(tx, sql::kLockAvailable, tenant, common::PgTextArray(ids))) {
        available.push_back(row[0].as<std::string>());
    }
    const std::map<std::string, int> loads = Loads(db, tx, tenant, available);
    std::map<std::string, domain::AgentState> agents;
    for (const auto& a : available) {
        const auto it = loads.find(a);
        int load = it == loads.end() ? 0 : it->second;
        if (a == c.assignee_id() && IsActive(c)) --load;
        agents[a] = {.available = true, .load = load};
    }
    const auto pick =
        domain::PickAgent(members, agents, t.required_skills, c.language(), strategy, queue[0][2].as<std::string>());
    if (!pick) return {};
    db.Exec(tx, sql::kSetLastAgent, tenant, t.queue_id, *pick);
    return *pick;
}

v1::CaseRouting ReadRouting(const std::string& tenant, const pqxx::row& r) {
    auto str = [](const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); };
    v1::CaseRouting out;
    out.set_id(r[0].as<std::string>());
    out.set_case_id(r[1].as<std::string>());
    out.set_queue_id(str(r[2]));
    out.set_previous_queue_id(str(r[3]));
    out.set_rule_index(r[4].as<int>());
    out.set_rule_name(r[5].as<std::string>());
    out.set_assignee_id(r[6].as<std::string>());
    out.set_previous_assignee_id(r[7].as<std::string>());
    out.set_reason(r[8].as<std::string>());
    out.set_actor_id(r[9].as<std::string>());
    out.set_note(common::ColumnKey(tenant, out.case_id(), r[13]).Open(sealed::kNote, r[10].c_str()));
    *out.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r[11].as<std::int64_t>());
    for (const auto& s : JsonStrings(r[12].as<std::string>())) out.add_required_skills(s);
    return out;
}

// Gives the case to `assignee` in the target's queue: the case written with CaseAssigned when anything changed, and
// the routing kept whatever happened.
v1::CaseRouting Apply(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                      const common::RequestContext& rc, v1::Case& c, const Target& t, const std::string& assignee,
                      const char* reason, const std::string& note) {
    const std::string previous_queue = c.queue_id();
    const std::string previous_assignee = c.assignee_id();
    if (previous_queue != t.queue_id || previous_assignee != assignee) {
        const std::int64_t expected = c.version();
        c.set_queue_id(t.queue_id);
        c.set_assignee_id(assignee);
        cases::EventBatch batch;
        auto& assigned = batch.Add<ev1::CaseAssigned>();
        assigned.set_previous_assignee_id(previous_assignee);
        assigned.set_assignee_id(assignee);
        assigned.set_previous_queue_id(previous_queue);
        assigned.set_queue_id(t.queue_id);
        c = cases::WriteCase(db, tx, rc.tenant_id, c, batch.size(), expected);
        batch.Append(db, outbox, tx, rc.tenant_id, rc.request_id, c);
    }
    common::ColumnSealer sealer(db, tx, rc.tenant_id);
    return ReadRouting(
        rc.tenant_id,
        db.Exec(tx, sql::kInsertRouting, rc.tenant_id, common::NewUuid(), c.id(), common::NullIfEmpty(t.queue_id),
                common::NullIfEmpty(previous_queue), t.rule_index, t.rule_name, assignee, previous_assignee, reason,
                rc.user_id, sealer.Seal(c.id(), sealed::kNote, note), common::PgTextArray(t.required_skills))[0]);
}

}  // namespace

std::vector<std::string> JsonStrings(const std::string& json) {
    std::vector<std::string> out;
    const nlohmann::json parsed = nlohmann::json::parse(json);
    if (!parsed.is_array()) return out;
    for (const auto& s : parsed) out.push_back(s.get<std::string>());
    return out;
}

v1::Case RouteNewCase(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                      const common::RequestContext& rc, v1::Case c) {
    const std::optional<Target> target = ChooseByRules(db, tx, rc.tenant_id, c);
    if (!target) return c;
    const std::string assignee =
        target->queue_id.empty() ? std::string() : PickInQueue(db, tx, rc.tenant_id, *target, c);
    Apply(db, outbox, tx, rc, c, *target, assignee, "NEW_CASE", "");
    return c;
}

std::vector<std::string> TakeWaitingCases(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                          const common::RequestContext& rc, const std::string& agent_id,
                                          const std::vector<Membership>& queues) {
    std::vector<std::string> taken;
    if (queues.empty()) return taken;
    std::map<std::string, const domain::Member*> member_of;
    std::vector<std::string> queue_ids;
    for (const auto& q : queues) {
        member_of[q.queue_id] = &q.member;
        queue_ids.push_back(q.queue_id);
    }
    const std::map<std::string, int> loads = Loads(db, tx, rc.tenant_id, {agent_id});
    int load = loads.count(agent_id) ? loads.at(agent_id) : 0;
    for (const auto& row :
         db.Exec(tx, sql::kWaitingCases, rc.tenant_id, common::PgTextArray(queue_ids), domain::kMaxCapacity)) {
        const std::string queue_id = row[1].as<std::string>();
        const domain::Member& member = *member_of.at(queue_id);
        const std::vector<std::string> skills = JsonStrings(row[3].as<std::string>());
        const std::map<std::string, domain::AgentState> me = {{agent_id, {.available = true, .load = load}}};
        if (!domain::PickAgent({member}, me, skills, row[2].as<std::string>(), domain::Strategy::kRoundRobin, "")) {
            continue;
        }
        v1::Case c = cases::LoadCase(db, tx, rc.tenant_id, row[0].as<std::string>(), true);
        Apply(db, outbox, tx, rc, c, Target{.queue_id = queue_id, .required_skills = skills}, agent_id,
              "AGENT_AVAILABLE", "");
        db.Exec(tx, sql::kSetLastAgent, rc.tenant_id, queue_id, agent_id);
        taken.push_back(c.id());
        ++load;
    }
    return taken;
}

v1::RouteCaseResponse Queues::Route(const common::RequestContext& rc, const std::string& case_id,
                                    const std::string& queue_id, const std::string& note, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Case c = cases::LoadCase(db_, tx, rc.tenant_id, case_id, true);
        common::CheckEtag(etag, c.version());
        if (!IsActive(c)) {
            throw ApiError::FailedPrecondition("only an open case (not solved, closed or merged) can be routed",
                                               "CASE_NOT_ACTIVE");
        }
        Target target;
        if (!queue_id.empty()) {
            const pqxx::result queue = db_.Exec(tx, sql::kLockQueue, rc.tenant_id, queue_id);
            if (queue.empty()) throw ApiError::NotFound("queue", queue_id);
            if (!queue[0][1].as<bool>()) {
                throw ApiError::FailedPrecondition("the queue is inactive and takes no cases", "QUEUE_INACTIVE");
            }
            target.queue_id = queue_id;
        } else {
            auto by_rules = ChooseByRules(db_, tx, rc.tenant_id, c);
            if (!by_rules) {
                throw ApiError::FailedPrecondition("the tenant has no routing rules; name a queue_id",
                                                   "NO_ROUTING_RULES");
            }
            target = std::move(*by_rules);
            if (target.queue_id.empty()) {
                throw ApiError::FailedPrecondition("no routing rule matches the case and there is no default queue",
                                                   "NO_MATCHING_RULE");
            }
        }
        const std::string assignee =
            target.queue_id.empty() ? std::string() : PickInQueue(db_, tx, rc.tenant_id, target, c);
        v1::RouteCaseResponse out;
        *out.mutable_routing() = Apply(db_, outbox_, tx, rc, c, target, assignee, "REROUTE", note);
        *out.mutable_case_() = c;
        return out;
    });
}

common::Page<v1::CaseRouting> Queues::ListRoutings(const common::RequestContext& rc, const std::string& case_id,
                                                   int page_size, const std::string& page_token) {
    const std::string scope = nlohmann::json::array({"ListCaseRoutings", case_id}).dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::CaseRouting> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        cases::LoadCase(db_, tx, rc.tenant_id, case_id);  // NOT_FOUND for another tenant's case
        std::vector<v1::CaseRouting> out;
        for (const auto& row :
             db_.Exec(tx, sql::kListRoutings, rc.tenant_id, case_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadRouting(rc.tenant_id, row));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::CaseRouting& last) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope,
                                         {TimeUtil::TimestampToMicroseconds(last.create_time()), last.id()});
    });
}

}  // namespace crm::support::queues
