// RPCs of the assignment area: the assignment configuration and AssignLead.
#include <grpcpp/grpcpp.h>

#include <set>
#include <string>

#include "assignment/assignment.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/lead.hpp"
#include "grpc_service.hpp"

namespace crm::leads {
namespace {

using common::RequestContext;

constexpr std::size_t kMaxTeams = 50;
constexpr int kMaxMembers = 200;
constexpr std::size_t kMaxRules = 500;
constexpr int kMaxFirstTouchMinutes = 525600;  // a year

// Every problem of an assignment configuration, named under "assignment_config.".
common::Violations CheckConfig(const v1::AssignmentConfig& c) {
    common::Violations v;
    std::set<std::string> teams;
    common::CheckListSize(v, c.teams().size(), "assignment_config.teams", kMaxTeams);
    for (int i = 0; i < c.teams_size(); ++i) {
        const auto& t = c.teams(i);
        const std::string p = "assignment_config.teams[" + std::to_string(i) + "].";
        if (!domain::IsSlug(t.id())) v.Add(p + "id", "required; must match [a-z][a-z0-9_-]{0,62}");
        if (!teams.insert(t.id()).second) v.Add(p + "id", "team ids must be unique");
        common::CheckText(v, t.name(), p + "name", common::kName);
        if (t.members_size() < 1 || t.members_size() > kMaxMembers) v.Add(p + "members", "1 to 200 members");
        std::set<std::string> users;
        for (int j = 0; j < t.members_size(); ++j) {
            const auto& m = t.members(j);
            const std::string mp = p + "members[" + std::to_string(j) + "].";
            if (common::CheckToken(v, m.user_id(), mp + "user_id", domain::kMaxOwnerId, /*required=*/true) &&
                !users.insert(m.user_id()).second) {
                v.Add(mp + "user_id", "members must be distinct");
            }
            if (m.max_open_leads() < 0) v.Add(mp + "max_open_leads", "must not be negative");
        }
    }
    common::CheckListSize(v, c.rules().size(), "assignment_config.rules", kMaxRules);
    for (int i = 0; i < c.rules_size(); ++i) {
        const auto& r = c.rules(i);
        const std::string p = "assignment_config.rules[" + std::to_string(i) + "].";
        if (!teams.count(r.team_id())) v.Add(p + "team_id", "must name one of the teams");
        common::CheckText(v, r.country(), p + "country", {.max_chars = 2});
        common::CheckText(v, r.region(), p + "region", common::kName);
        common::CheckText(v, r.source(), p + "source", common::kName);
    }
    const std::string& default_team = c.default_team_id();
    if (!default_team.empty() && !teams.count(default_team)) {
        v.Add("assignment_config.default_team_id", "must name one of the teams");
    }
    std::set<int> priorities;
    for (int i = 0; i < c.sla_policies_size(); ++i) {
        const auto& s = c.sla_policies(i);
        const std::string p = "assignment_config.sla_policies[" + std::to_string(i) + "].";
        if (s.priority() == v1::LEAD_PRIORITY_UNSPECIFIED || !v1::LeadPriority_IsValid(s.priority())) {
            v.Add(p + "priority", "required");
        } else if (!priorities.insert(s.priority()).second) {
            v.Add(p + "priority", "at most one policy per priority");
        }
        if (s.first_touch_minutes() < 1 || s.first_touch_minutes() > kMaxFirstTouchMinutes) {
            v.Add(p + "first_touch_minutes", "1 to 525600");
        }
    }
    return v;
}

}  // namespace

grpc::Status LeadsService::GetAssignmentConfig(grpc::ServerContext* sc, const v1::GetAssignmentConfigRequest*,
                                               v1::GetAssignmentConfigResponse* resp) {
    return rpc_.Handle(sc, "GetAssignmentConfig", [&](const RequestContext& rc) {
        *resp->mutable_assignment_config() = areas_.assignment->GetConfig(rc);
    });
}

grpc::Status LeadsService::UpdateAssignmentConfig(grpc::ServerContext* sc, const v1::UpdateAssignmentConfigRequest* req,
                                                  v1::UpdateAssignmentConfigResponse* resp) {
    return rpc_.Handle(sc, "UpdateAssignmentConfig", [&](const RequestContext& rc) {
        CheckConfig(req->assignment_config()).ThrowIfAny();
        *resp->mutable_assignment_config() = areas_.assignment->UpdateConfig(rc, req->assignment_config());
    });
}

grpc::Status LeadsService::AssignLead(grpc::ServerContext* sc, const v1::AssignLeadRequest* req,
                                      v1::AssignLeadResponse* resp) {
    return rpc_.Handle(sc, "AssignLead", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        const std::string owner = common::text::Trim(req->owner_id());
        common::CheckToken(v, owner, "owner_id", domain::kMaxOwnerId);
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_lead() = areas_.assignment->AssignLead(rc, id, owner, req->etag());
    });
}

}  // namespace crm::leads
