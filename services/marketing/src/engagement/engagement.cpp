#include "engagement/engagement.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "engagement/sql.hpp"
#include "records.hpp"

namespace crm::marketing::engagement {

common::Page<v1::PersonEngagement> Engagement::List(const common::RequestContext& rc, const std::string& person_id,
                                                    int page_size, const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListPersonEngagement", person_id}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::PersonEngagement> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        if (db_.Exec(tx, sql::kPersonExists, rc.tenant_id, person_id).empty()) {
            throw common::ApiError::NotFound("audience member", person_id);
        }
        std::vector<v1::PersonEngagement> out;
        for (const auto& r :
             db_.Exec(tx, sql::kListPage, rc.tenant_id, person_id, after.micros, after.id, page_size + 1)) {
            v1::PersonEngagement e;
            e.set_id(r[0].as<std::string>());
            e.set_type(r[1].as<std::string>());
            e.set_campaign_id(r[2].as<std::string>());
            e.set_campaign_name(r[3].as<std::string>());
            e.set_channel(r[4].as<std::string>());
            e.set_send_id(r[5].as<std::string>());
            SetMicros(e.mutable_occur_time(), r[6].as<std::int64_t>());
            out.push_back(std::move(e));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::PersonEngagement& e) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(e.occur_time()), e.id()});
    });
}

}  // namespace crm::marketing::engagement
