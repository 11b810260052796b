// Full-text search over the live published versions and suggestions for a case (kb/sql.hpp: kSearch, kSuggest).
#include <prometheus/histogram.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "cases/cases.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "kb/knowledge.hpp"
#include "kb/record.hpp"
#include "kb/sql.hpp"

namespace crm::support::kb {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

common::Page<v1::ArticleHit> Knowledge::Search(const common::RequestContext& rc, const SearchQuery& q) {
    const std::string scope = nlohmann::json::array({"SearchArticles", q.query, q.language, q.category}).dump();
    const std::vector<std::string> keys = common::DecodePageToken(q.page_token, rc.tenant_id, scope, 2);
    const char* after_rank = keys.empty() ? nullptr : keys[0].c_str();
    const char* after_id = keys.empty() ? nullptr : keys[1].c_str();
    const std::string config = domain::SearchConfig(q.language);
    const auto start = std::chrono::steady_clock::now();
    std::vector<v1::ArticleHit> hits = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::ArticleHit> out;
        for (const auto& row : db_.Exec(tx, sql::kSearch, rc.tenant_id, q.language, config, q.query,
                                        common::NullIfEmpty(q.category), after_rank, after_id, q.page_size + 1)) {
            out.push_back(ReadHit(row));
        }
        return out;
    });
    search_metrics_.seconds->Observe(SecondsSince(start));
    search_metrics_.results->Observe(static_cast<double>(std::min<std::size_t>(hits.size(), q.page_size)));
    return common::MakePage(std::move(hits), q.page_size, [&](const v1::ArticleHit& last) {
        // The rank as PostgreSQL prints a real (the shortest text that reads back as the same value).
        char buf[32];
        const auto end = std::to_chars(buf, buf + sizeof buf, last.rank()).ptr;
        return common::EncodePageToken(rc.tenant_id, scope, {std::string(buf, end), last.article_id()});
    });
}

std::vector<v1::ArticleHit> Knowledge::Suggest(const common::RequestContext& rc, const SuggestQuery& q) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<v1::ArticleHit> hits = db_.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Case c = cases::LoadCase(db_, tx, rc.tenant_id, q.case_id);
        const std::string language = domain::SearchLanguage(!q.locale.empty() ? q.locale : c.language());
        const std::string config = domain::SearchConfig(language);
        std::vector<v1::ArticleHit> out;
        for (const auto& row :
             db_.Exec(tx, sql::kSuggest, rc.tenant_id, language, config, c.subject(), c.description(), q.page_size)) {
            out.push_back(ReadHit(row));
        }
        return out;
    });
    suggest_metrics_.seconds->Observe(SecondsSince(start));
    suggest_metrics_.results->Observe(static_cast<double>(hits.size()));
    return hits;
}

}  // namespace crm::support::kb
