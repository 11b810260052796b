#include "assignment/assignment.hpp"

#include <google/protobuf/util/time_util.h>

#include <vector>

#include "assignment/sql.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "domain/assignment.hpp"
#include "lifecycle/lifecycle.hpp"
#include "proto_json.hpp"

namespace crm::leads::assignment {
namespace {

namespace ev1 = crm::leads::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

const v1::Team* FindTeam(const v1::AssignmentConfig& config, const std::string& id) {
    if (id.empty()) return nullptr;
    for (const auto& t : config.teams()) {
        if (t.id() == id) return &t;
    }
    return nullptr;
}

// Round-robin pick in `team`, serialized per team by the cursor row lock; nullopt when every member is full.
std::optional<std::string> PickOwner(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                     const v1::Team& team) {
    db.Exec(tx, sql::kEnsureCursor, tenant, team.id());
    const std::int64_t position = db.Exec(tx, sql::kCursorForUpdate, tenant, team.id())[0][0].as<std::int64_t>();
    std::vector<domain::Member> members;
    for (const auto& m : team.members()) {
        domain::Member member{m.user_id(), m.max_open_leads(), 0};
        if (m.max_open_leads() > 0) {
            member.open_leads = db.Exec(tx, sql::kOpenLeadsOf, tenant, m.user_id())[0][0].as<int>();
        }
        members.push_back(std::move(member));
    }
    const auto pick = domain::PickRoundRobin(members, position);
    if (!pick) return std::nullopt;
    db.Exec(tx, sql::kAdvanceCursor, tenant, team.id(), static_cast<std::int64_t>(*pick) + 1);
    return members[*pick].user_id;
}

}  // namespace

v1::AssignmentConfig LoadConfig(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    const pqxx::result rows = db.Exec(tx, sql::kGetConfig, tenant);
    v1::AssignmentConfig config;
    if (!rows.empty()) {
        config = FromStoredJson<v1::AssignmentConfig>(rows[0][0].as<std::string>());
        *config.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][1].as<std::int64_t>());
    }
    return config;
}

std::optional<Pick> Route(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                          const v1::AssignmentConfig& config, const v1::Lead& lead) {
    std::vector<domain::RouteRule> rules;
    for (const auto& r : config.rules()) rules.push_back({r.country(), r.region(), r.source(), r.team_id()});
    const v1::Team* team = FindTeam(
        config, domain::RouteTeam(rules, config.default_team_id(), lead.country(), lead.region(), lead.source()));
    if (team == nullptr) return std::nullopt;
    return Pick{PickOwner(db, tx, tenant, *team).value_or(""), team->id()};
}

Assignment::Assignment(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

v1::AssignmentConfig Assignment::GetConfig(const common::RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadConfig(db_, tx, rc.tenant_id); });
}

v1::AssignmentConfig Assignment::UpdateConfig(const common::RequestContext& rc, const v1::AssignmentConfig& config) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::AssignmentConfig stored = config;
        stored.clear_update_time();
        const pqxx::result rows = db_.Exec(tx, sql::kPutConfig, rc.tenant_id, ToStoredJson(stored));
        *stored.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][0].as<std::int64_t>());
        return stored;
    });
}

v1::Lead Assignment::AssignLead(const common::RequestContext& rc, const std::string& id, const std::string& owner_id,
                                const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Lead lead = lifecycle::LoadLead(db_, tx, rc.tenant_id, id, true);
        common::CheckEtag(etag, lead.version());
        lifecycle::RequireNotConverted(lead);
        const std::string previous_owner = lead.owner_id();
        const std::int64_t expected = lead.version();
        ev1::AssignmentMethod method = ev1::ASSIGNMENT_METHOD_MANUAL;
        if (!owner_id.empty()) {
            lead.set_owner_id(owner_id);
            lead.set_team_id("");
        } else {
            const auto pick = Route(db_, tx, rc.tenant_id, LoadConfig(db_, tx, rc.tenant_id), lead);
            if (!pick) {
                throw ApiError::FailedPrecondition("no assignment rule or default team matches this lead",
                                                   "NO_MATCHING_TEAM");
            }
            if (pick->owner_id.empty()) {
                throw ApiError::FailedPrecondition("every member of team " + pick->team_id + " is at capacity",
                                                   "TEAM_AT_CAPACITY");
            }
            lead.set_owner_id(pick->owner_id);
            lead.set_team_id(pick->team_id);
            method = ev1::ASSIGNMENT_METHOD_ROUND_ROBIN;
        }
        lifecycle::EventBatch batch;
        auto& assigned = batch.Add<ev1::LeadAssigned>();
        assigned.set_previous_owner_id(previous_owner);
        assigned.set_owner_id(lead.owner_id());
        assigned.set_team_id(lead.team_id());
        assigned.set_method(method);
        const v1::Lead written = lifecycle::WriteLead(db_, tx, rc.tenant_id, lead, batch.size(), false, expected);
        batch.Append(outbox_, tx, rc.tenant_id, rc.request_id, written);
        return written;
    });
}

}  // namespace crm::leads::assignment
