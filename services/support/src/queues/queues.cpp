// Queues with their members, the agents' presence and the tenant's routing rules.
#include "queues/queues.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/case.hpp"
#include "queues/routing.hpp"
#include "queues/sql.hpp"

namespace crm::support::queues {
namespace {

using common::ApiError;
using google::protobuf::util::TimeUtil;

const char* StrategyText(v1::AssignmentStrategy s) {
    return s == v1::ASSIGNMENT_STRATEGY_LEAST_LOADED ? "LEAST_LOADED" : "ROUND_ROBIN";
}

std::string NameKey(const std::string& name) { return common::text::FoldForMatching(name); }

v1::Queue ReadQueue(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const pqxx::row& r) {
    v1::Queue q;
    q.set_id(r[0].as<std::string>());
    q.set_name(r[1].as<std::string>());
    q.set_description(r[2].as<std::string>());
    q.set_strategy(r[3].as<std::string>() == "LEAST_LOADED" ? v1::ASSIGNMENT_STRATEGY_LEAST_LOADED
                                                            : v1::ASSIGNMENT_STRATEGY_ROUND_ROBIN);
    q.set_active(r[4].as<bool>());
    q.set_version(r[5].as<std::int64_t>());
    q.set_etag(common::MakeEtag(q.version()));
    *q.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r[6].as<std::int64_t>());
    *q.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(r[7].as<std::int64_t>());
    q.set_waiting_count(r[8].as<int>());
    for (const auto& row : db.Exec(tx, sql::kMembers, tenant, q.id())) {
        auto* m = q.add_members();
        m->set_agent_id(row[0].as<std::string>());
        for (const auto& s : JsonStrings(row[1].as<std::string>())) m->add_skills(s);
        for (const auto& l : JsonStrings(row[2].as<std::string>())) m->add_languages(l);
        m->set_capacity(row[3].as<int>());
    }
    return q;
}

v1::Queue LoadQueue(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetQueue, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("queue", id);
    return ReadQueue(db, tx, tenant, rows[0]);
}

void WriteMembers(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& queue_id,
                  const std::vector<domain::Member>& members) {
    db.Exec(tx, sql::kDeleteMembers, tenant, queue_id);
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto& m = members[i];
        db.Exec(tx, sql::kInsertMember, tenant, queue_id, m.agent_id, static_cast<int>(i),
                common::PgTextArray(m.skills), common::PgTextArray(m.languages), m.capacity);
    }
}

int LoadOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& agent_id) {
    const pqxx::result rows = db.Exec(tx, sql::kLoads, tenant, common::PgTextArray({agent_id}));
    return rows.empty() ? 0 : rows[0][1].as<int>();
}

v1::AgentPresence ReadPresence(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                               const std::string& agent_id) {
    v1::AgentPresence p;
    p.set_agent_id(agent_id);
    p.set_presence(v1::PRESENCE_AWAY);
    const pqxx::result rows = db.Exec(tx, sql::kGetPresence, tenant, agent_id);
    if (!rows.empty()) {
        p.set_presence(rows[0][0].as<std::string>() == "AVAILABLE" ? v1::PRESENCE_AVAILABLE : v1::PRESENCE_AWAY);
        p.set_updated_by(rows[0][1].as<std::string>());
        *p.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][2].as<std::int64_t>());
    }
    p.set_active_cases(LoadOf(db, tx, tenant, agent_id));
    return p;
}

}  // namespace

CheckedQueue CheckQueue(const v1::Queue& q, const std::string& prefix, bool create, common::Violations& v) {
    CheckedQueue out;
    out.queue = q;
    out.queue.set_name(common::text::Trim(q.name()));
    common::CheckText(v, out.queue.name(), prefix + "name", {.max_chars = domain::kMaxQueueName, .required = create});
    common::CheckText(v, q.description(), prefix + "description",
                      {.max_chars = domain::kMaxQueueDescription, .multiline = true});
    if (!v1::AssignmentStrategy_IsValid(q.strategy())) v.Add(prefix + "strategy", "unknown strategy");
    domain::CheckEtagSyntax(v, q.etag(), prefix + "etag");
    for (const auto& m : q.members()) {
        out.members.push_back({.agent_id = m.agent_id(),
                               .skills = {m.skills().begin(), m.skills().end()},
                               .languages = {m.languages().begin(), m.languages().end()},
                               .capacity = m.capacity()});
    }
    v.Append(domain::NormalizeMembers(out.members, prefix + "members"));
    return out;
}

v1::RoutingRules CheckRules(const v1::RoutingRules& in, common::Violations& v) {
    v1::RoutingRules out;
    common::CheckListSize(v, in.rules_size(), "routing_rules.rules", domain::kMaxRules);
    for (int i = 0; i < in.rules_size(); ++i) {
        const auto& r = in.rules(i);
        const std::string at = "routing_rules.rules[" + std::to_string(i) + "].";
        auto* o = out.add_rules();
        o->set_name(common::text::Trim(r.name()));
        common::CheckText(v, o->name(), at + "name", common::kName);
        for (int ch : r.channels()) {
            if (ch == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(ch)) v.Add(at + "channels", "unknown channel");
        }
        for (int p : r.priorities()) {
            if (p == v1::CASE_PRIORITY_UNSPECIFIED || !v1::CasePriority_IsValid(p)) {
                v.Add(at + "priorities", "unknown priority");
            }
        }
        *o->mutable_channels() = r.channels();
        *o->mutable_priorities() = r.priorities();
        o->set_queue_id(common::CheckId(v, r.queue_id(), at + "queue_id"));
        domain::RuleConditions c{.categories = {r.categories().begin(), r.categories().end()},
                                 .languages = {r.languages().begin(), r.languages().end()},
                                 .customer_tiers = {r.customer_tiers().begin(), r.customer_tiers().end()},
                                 .required_skills = {r.required_skills().begin(), r.required_skills().end()}};
        v.Append(domain::NormalizeRule(c, at));
        for (const auto& x : c.categories) o->add_categories(x);
        for (const auto& x : c.languages) o->add_languages(x);
        for (const auto& x : c.customer_tiers) o->add_customer_tiers(x);
        for (const auto& x : c.required_skills) o->add_required_skills(x);
    }
    if (!in.default_queue_id().empty()) {
        out.set_default_queue_id(common::CheckId(v, in.default_queue_id(), "routing_rules.default_queue_id"));
    }
    domain::CheckEtagSyntax(v, in.etag(), "routing_rules.etag");
    out.set_etag(in.etag());
    return out;
}

v1::Queue Queues::Create(const common::RequestContext& rc, const CheckedQueue& q, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "CreateQueue", request_id, id)) {
            return LoadQueue(db_, tx, rc.tenant_id, *first);
        }
        const pqxx::result inserted =
            db_.Exec(tx, sql::kInsertQueue, rc.tenant_id, id, q.queue.name(), NameKey(q.queue.name()),
                     q.queue.description(), StrategyText(q.queue.strategy()), true);
        if (inserted.empty()) throw ApiError::AlreadyExists("a queue with this name exists already");
        WriteMembers(db_, tx, rc.tenant_id, id, q.members);
        return LoadQueue(db_, tx, rc.tenant_id, id);
    });
}

v1::Queue Queues::Get(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadQueue(db_, tx, rc.tenant_id, id); });
}

common::Page<v1::Queue> Queues::List(const common::RequestContext& rc, int page_size, const std::string& page_token) {
    const std::string scope = "ListQueues";
    const std::vector<std::string> after = page_token.empty()
                                               ? std::vector<std::string>{"", "00000000-0000-0000-0000-000000000000"}
                                               : common::DecodePageToken(page_token, rc.tenant_id, scope, 2);
    std::vector<std::pair<v1::Queue, std::string>> rows = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<std::pair<v1::Queue, std::string>> out;
        for (const auto& row : db_.Exec(tx, sql::kListQueues, rc.tenant_id, after[0], after[1], page_size + 1)) {
            out.emplace_back(ReadQueue(db_, tx, rc.tenant_id, row), row[9].as<std::string>());
        }
        return out;
    });
    auto page = common::MakePage(std::move(rows), page_size, [&](const std::pair<v1::Queue, std::string>& last) {
        return common::EncodePageToken(rc.tenant_id, scope, {last.second, last.first.id()});
    });
    common::Page<v1::Queue> out;
    out.next_page_token = page.next_page_token;
    for (auto& [q, key] : page.items) out.items.push_back(std::move(q));
    return out;
}

v1::Queue Queues::Update(const common::RequestContext& rc, const std::string& id, const CheckedQueue& p,
                         const std::vector<std::string>& paths, const std::string& etag) {
    auto named = [&](const char* path) { return std::find(paths.begin(), paths.end(), path) != paths.end(); };
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result locked = db_.Exec(tx, sql::kLockQueue, rc.tenant_id, id);
        if (locked.empty()) throw ApiError::NotFound("queue", id);
        common::CheckEtag(etag, locked[0][3].as<std::int64_t>());
        v1::Queue q = LoadQueue(db_, tx, rc.tenant_id, id);
        if (named("name")) q.set_name(p.queue.name());
        if (named("description")) q.set_description(p.queue.description());
        if (named("strategy")) q.set_strategy(p.queue.strategy());
        if (named("active")) q.set_active(p.queue.active());
        if (db_.Exec(tx, sql::kUpdateQueue, rc.tenant_id, id, q.name(), NameKey(q.name()), q.description(),
                     StrategyText(q.strategy()), q.active())
                .empty()) {
            throw ApiError::AlreadyExists("a queue with this name exists already");
        }
        if (named("members")) WriteMembers(db_, tx, rc.tenant_id, id, p.members);
        return LoadQueue(db_, tx, rc.tenant_id, id);
    });
}

v1::AgentPresence Queues::GetPresence(const common::RequestContext& rc, const std::string& agent_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return ReadPresence(db_, tx, rc.tenant_id, agent_id); });
}

PresenceResult Queues::SetPresence(const common::RequestContext& rc, const std::string& agent_id,
                                   v1::Presence presence) {
    if (agent_id != rc.user_id && !rc.HasRole("support_manager") && !rc.HasRole("admin")) {
        throw ApiError::PermissionDenied("an agent sets their own presence; a support manager sets anyone's");
    }
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        // Lock order as in routing: the agent's queues (in id order), then the agent's presence row, then cases.
        std::vector<Membership> queues;
        for (const auto& row : db_.Exec(tx, sql::kLockQueuesOfAgent, rc.tenant_id, agent_id)) {
            queues.push_back({.queue_id = row[0].as<std::string>(),
                              .member = {.agent_id = agent_id,
                                         .skills = JsonStrings(row[1].as<std::string>()),
                                         .languages = JsonStrings(row[2].as<std::string>()),
                                         .capacity = row[3].as<int>()}});
        }
        const bool available = presence == v1::PRESENCE_AVAILABLE;
        db_.Exec(tx, sql::kUpsertPresence, rc.tenant_id, agent_id, available ? "AVAILABLE" : "AWAY", rc.user_id);
        PresenceResult out;
        if (available) out.assigned_case_ids = TakeWaitingCases(db_, outbox_, tx, rc, agent_id, queues);
        out.presence = ReadPresence(db_, tx, rc.tenant_id, agent_id);
        return out;
    });
}

v1::RoutingRules Queues::GetRules(const common::RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::RoutingRules rules;
        const pqxx::result rows = db_.Exec(tx, sql::kGetRules, rc.tenant_id);
        if (rows.empty()) return rules;
        google::protobuf::util::JsonParseOptions options;
        options.ignore_unknown_fields = true;
        if (!google::protobuf::util::JsonStringToMessage(rows[0][0].as<std::string>(), &rules, options).ok()) {
            throw std::runtime_error("support_routing_rules: stored rules do not parse");
        }
        rules.set_version(rows[0][1].as<std::int64_t>());
        rules.set_etag(common::MakeEtag(rules.version()));
        *rules.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][2].as<std::int64_t>());
        return rules;
    });
}

v1::RoutingRules Queues::UpdateRules(const common::RequestContext& rc, const v1::RoutingRules& in) {
    db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result current = db_.Exec(tx, sql::kLockRules, rc.tenant_id);
        common::CheckEtag(in.etag(), current.empty() ? 0 : current[0][0].as<std::int64_t>());
        std::vector<std::string> ids;
        for (const auto& r : in.rules()) ids.push_back(r.queue_id());
        if (!in.default_queue_id().empty()) ids.push_back(in.default_queue_id());
        std::set<std::string> existing;
        for (const auto& row : db_.Exec(tx, sql::kExistingQueues, rc.tenant_id, common::PgTextArray(ids))) {
            existing.insert(row[0].as<std::string>());
        }
        common::Violations v;
        for (int i = 0; i < in.rules_size(); ++i) {
            if (existing.count(in.rules(i).queue_id()) == 0) {
                v.Add("routing_rules.rules[" + std::to_string(i) + "].queue_id", "no such queue");
            }
        }
        if (!in.default_queue_id().empty() && existing.count(in.default_queue_id()) == 0) {
            v.Add("routing_rules.default_queue_id", "no such queue");
        }
        v.ThrowIfAny();
        v1::RoutingRules body;
        *body.mutable_rules() = in.rules();
        body.set_default_queue_id(in.default_queue_id());
        std::string json;
        if (!google::protobuf::util::MessageToJsonString(body, &json).ok()) {
            throw std::runtime_error("routing rules do not serialize");
        }
        db_.Exec(tx, sql::kUpsertRules, rc.tenant_id, json);
    });
    return GetRules(rc);
}

}  // namespace crm::support::queues
