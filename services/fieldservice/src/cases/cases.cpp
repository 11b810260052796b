// Visit categories and the lock of a case (see cases.hpp; the consumer of support's events is in events.cpp).
#include "cases/cases.hpp"

#include <crm/fieldservice/events/v1/events.pb.h>

#include <nlohmann/json.hpp>

#include "cases/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/resource.hpp"
#include "records.hpp"

namespace crm::fieldservice::cases {
namespace {

namespace ev = crm::fieldservice::events::v1;
using common::ApiError;
using nlohmann::json;

json ToJson(const v1::VisitCategory& c) {
    json skills = json::array();
    for (const auto& s : c.required_skills()) skills.push_back({{"skill", s.skill()}, {"min_level", s.min_level()}});
    json checklist = json::array();
    for (const auto& item : c.checklist()) checklist.push_back(item);
    return {{"category", c.category()},
            {"work_type", c.work_type()},
            {"duration_minutes", c.duration_minutes()},
            {"required_skills", std::move(skills)},
            {"checklist", std::move(checklist)}};
}

v1::VisitCategory FromJson(const json& j) {
    v1::VisitCategory c;
    c.set_category(j.at("category").get<std::string>());
    c.set_work_type(j.at("work_type").get<std::string>());
    c.set_duration_minutes(j.at("duration_minutes").get<int>());
    for (const auto& s : j.at("required_skills")) {
        auto* skill = c.add_required_skills();
        skill->set_skill(s.at("skill").get<std::string>());
        skill->set_min_level(s.at("min_level").get<int>());
    }
    for (const auto& item : j.at("checklist")) c.add_checklist(item.get<std::string>());
    return c;
}

std::string ListJson(const std::vector<v1::VisitCategory>& categories) {
    json out = json::array();
    for (const auto& c : categories) out.push_back(ToJson(c));
    return out.dump();
}

std::vector<v1::VisitCategory> ReadList(const std::string& text) {
    std::vector<v1::VisitCategory> out;
    for (const auto& j : json::parse(text)) out.push_back(FromJson(j));
    return out;
}

}  // namespace

std::optional<v1::VisitCategory> FindVisitCategory(common::Db& db, pqxx::transaction_base& tx,
                                                   const std::string& tenant, const std::string& category) {
    if (category.empty()) return std::nullopt;
    const pqxx::result rows = db.Exec(tx, sql::kFindVisitCategory, tenant, category);
    if (rows.empty()) return std::nullopt;
    return FromJson(json::parse(rows[0][0].as<std::string>()));
}

VisitCategories List(common::Db& db, const RequestContext& rc) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        VisitCategories out;
        const pqxx::result rows = db.Exec(tx, sql::kGetVisitCategories, rc.tenant_id);
        if (!rows.empty()) {
            out.categories = ReadList(rows[0][0].as<std::string>());
            out.version = rows[0][1].as<std::int64_t>();
        }
        return out;
    });
}

VisitCategories Set(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                    const std::vector<v1::VisitCategory>& categories, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        db.Exec(tx, sql::kEnsureVisitCategories, t, common::NewUuid());
        const pqxx::row current = db.Exec(tx, sql::kLockVisitCategories, t).at(0);
        const std::string list_id = current[0].as<std::string>();
        const std::int64_t version = current[2].as<std::int64_t>();
        if (!etag.empty()) common::CheckEtag(etag, version);
        const std::string next = ListJson(categories);
        if (version > 0 && json::parse(current[1].as<std::string>()) == json::parse(next)) {
            return VisitCategories{ReadList(current[1].as<std::string>()), version};
        }
        const pqxx::row written = db.Exec(tx, sql::kWriteVisitCategories, t, next).at(0);
        VisitCategories out{ReadList(next), written[0].as<std::int64_t>()};
        ev::VisitCategoriesSet event;
        for (const auto& c : out.categories) *event.add_categories() = c;
        event.set_version(out.version);
        Emit(outbox, tx, rc, "visit_categories", list_id, out.version, event,
             FromMicros(written[1].as<std::int64_t>()));
        return out;
    });
}

std::optional<CaseLinks> LockCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                  const std::string& case_id) {
    db.Exec(tx, sql::kLockCase, tenant, case_id);
    const pqxx::result rows = db.Exec(tx, sql::kGetCase, tenant, case_id);
    if (rows.empty()) return std::nullopt;
    return CaseLinks{rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
}

}  // namespace crm::fieldservice::cases
