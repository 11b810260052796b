// The visit-category RPCs of FieldService (see grpc_service.hpp).
#include <string>
#include <vector>

#include "cases/cases.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"

namespace crm::fieldservice {
namespace {

using common::RequestContext;

constexpr std::size_t kMaxVisitCategories = 100;

void CheckVisitCategory(common::Violations& v, const v1::VisitCategory& c, const std::string& f) {
    common::CheckText(v, c.category(), f + ".category", domain::kTitleRule);
    common::CheckToken(v, c.work_type(), f + ".work_type", domain::kMaxTokenLength, true);
    if (c.duration_minutes() < 1 || c.duration_minutes() > domain::kMaxDurationMinutes) {
        v.Add(f + ".duration_minutes", "must be 1 to 1440 minutes");
    }
    if (common::CheckListSize(v, c.required_skills_size(), f + ".required_skills", domain::kMaxRequiredSkills)) {
        std::vector<std::string> names;
        for (int i = 0; i < c.required_skills_size(); ++i) {
            const std::string s = f + ".required_skills[" + std::to_string(i) + "]";
            domain::CheckSkillName(v, c.required_skills(i).skill(), s + ".skill");
            domain::CheckLevel(v, c.required_skills(i).min_level(), s + ".min_level");
            names.push_back(c.required_skills(i).skill());
        }
        domain::CheckUnique(v, names, f + ".required_skills", "skill");
    }
    if (common::CheckListSize(v, c.checklist_size(), f + ".checklist", domain::kMaxChecklist)) {
        for (int i = 0; i < c.checklist_size(); ++i) {
            common::CheckText(v, c.checklist(i), f + ".checklist[" + std::to_string(i) + "]",
                              {.max_chars = 200, .required = true});
        }
    }
}

}  // namespace

grpc::Status FieldService::SetVisitCategories(grpc::ServerContext* sc, const v1::SetVisitCategoriesRequest* req,
                                              v1::SetVisitCategoriesResponse* resp) {
    return rpc_.Handle(sc, "SetVisitCategories", [&](const RequestContext& rc) {
        common::Violations v;
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        if (common::CheckListSize(v, req->categories_size(), "categories", kMaxVisitCategories)) {
            std::vector<std::string> names;
            for (int i = 0; i < req->categories_size(); ++i) {
                CheckVisitCategory(v, req->categories(i), "categories[" + std::to_string(i) + "]");
                names.push_back(req->categories(i).category());
            }
            domain::CheckUnique(v, names, "categories", "category");
        }
        v.ThrowIfAny();
        const auto set =
            cases::Set(db_, outbox_, rc, {req->categories().begin(), req->categories().end()}, req->etag());
        for (const auto& c : set.categories) *resp->add_categories() = c;
        resp->set_version(set.version);
        resp->set_etag(common::MakeEtag(set.version));
    });
}

grpc::Status FieldService::ListVisitCategories(grpc::ServerContext* sc, const v1::ListVisitCategoriesRequest*,
                                               v1::ListVisitCategoriesResponse* resp) {
    return rpc_.Handle(sc, "ListVisitCategories", [&](const RequestContext& rc) {
        const auto list = cases::List(db_, rc);
        for (const auto& c : list.categories) *resp->add_categories() = c;
        resp->set_version(list.version);
        resp->set_etag(common::MakeEtag(list.version));
    });
}

}  // namespace crm::fieldservice
