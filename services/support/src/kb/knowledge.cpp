#include "kb/knowledge.hpp"

#include <google/protobuf/util/time_util.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/support/events/v1/events.pb.h"
#include "kb/record.hpp"
#include "kb/sql.hpp"

namespace crm::support::kb {
namespace {

namespace ev1 = crm::support::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

void SetTime(const pqxx::field& f, google::protobuf::Timestamp* out) {
    if (!f.is_null()) *out = TimeUtil::MicrosecondsToTimestamp(f.as<std::int64_t>());
}

bool Named(const std::vector<std::string>& paths, const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

v1::ArticleVersion ReadVersion(const pqxx::row& r) {
    v1::ArticleVersion v;
    v.set_article_id(r[0].as<std::string>());
    v.set_version_number(r[1].as<std::int64_t>());
    v.set_title(r[2].as<std::string>());
    v.set_body(r[3].as<std::string>());
    v.set_category(r[4].as<std::string>());
    v.set_locale(r[5].as<std::string>());
    v.set_published_by(r[6].as<std::string>());
    SetTime(r[7], v.mutable_publish_time());
    v.set_live(r[8].as<bool>());
    return v;
}

}  // namespace

domain::ArticleState StateOf(v1::ArticleState state) {
    switch (state) {
        case v1::ARTICLE_STATE_IN_REVIEW:
            return domain::ArticleState::kInReview;
        case v1::ARTICLE_STATE_PUBLISHED:
            return domain::ArticleState::kPublished;
        case v1::ARTICLE_STATE_ARCHIVED:
            return domain::ArticleState::kArchived;
        default:
            return domain::ArticleState::kDraft;
    }
}

v1::ArticleState StateProto(domain::ArticleState state) {
    switch (state) {
        case domain::ArticleState::kInReview:
            return v1::ARTICLE_STATE_IN_REVIEW;
        case domain::ArticleState::kPublished:
            return v1::ARTICLE_STATE_PUBLISHED;
        case domain::ArticleState::kArchived:
            return v1::ARTICLE_STATE_ARCHIVED;
        case domain::ArticleState::kDraft:
            break;
    }
    return v1::ARTICLE_STATE_DRAFT;
}

v1::Article ReadArticle(const pqxx::row& r) {
    v1::Article a;
    a.set_id(r[0].as<std::string>());
    a.set_title(r[1].as<std::string>());
    a.set_body(r[2].as<std::string>());
    a.set_category(r[3].as<std::string>());
    a.set_locale(r[4].as<std::string>());
    a.set_state(StateProto(domain::ParseArticleState(r[5].as<std::string>()).value_or(domain::ArticleState::kDraft)));
    a.set_published_version(r[6].as<std::int64_t>());
    a.set_latest_version(r[7].as<std::int64_t>());
    SetTime(r[8], a.mutable_publish_time());
    a.set_author_id(r[9].as<std::string>());
    a.set_helpful_count(r[10].as<std::int64_t>());
    a.set_not_helpful_count(r[11].as<std::int64_t>());
    a.set_linked_case_count(r[12].as<std::int64_t>());
    a.set_version(r[13].as<std::int64_t>());
    a.set_etag(common::MakeEtag(a.version()));
    SetTime(r[14], a.mutable_create_time());
    SetTime(r[15], a.mutable_update_time());
    return a;
}

v1::Article LoadArticle(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                        bool for_update) {
    const pqxx::result r = db.Exec(tx, for_update ? sql::kGetArticleForUpdate : sql::kGetArticle, tenant, id);
    if (r.empty()) throw ApiError::NotFound("article", id);
    return ReadArticle(r[0]);
}

v1::ArticleHit ReadHit(const pqxx::row& r) {
    v1::ArticleHit h;
    h.set_article_id(r[0].as<std::string>());
    h.set_version_number(r[1].as<std::int64_t>());
    h.set_title(r[2].as<std::string>());
    h.set_category(r[3].as<std::string>());
    h.set_locale(r[4].as<std::string>());
    h.set_snippet(r[5].as<std::string>());
    h.set_rank(r[6].as<float>());
    h.set_helpful_count(r[7].as<std::int64_t>());
    h.set_not_helpful_count(r[8].as<std::int64_t>());
    return h;
}

Knowledge::Knowledge(common::Db& db, common::Outbox& outbox, common::Metrics& metrics) : db_(db), outbox_(outbox) {
    auto& seconds = prometheus::BuildHistogram()
                        .Name("crm_support_kb_search_seconds")
                        .Help("Time of a knowledge-base search or suggestion query (the database part), by kind.")
                        .Register(metrics.registry());
    auto& results = prometheus::BuildHistogram()
                        .Name("crm_support_kb_search_results")
                        .Help(
                            "Articles a knowledge-base search page or suggestion list returned, by kind (0 = none "
                            "found).")
                        .Register(metrics.registry());
    const prometheus::Histogram::BucketBoundaries counts = {0, 1, 2, 5, 10, 20, 50};
    search_metrics_ = {&seconds.Add({{"kind", "search"}}, common::Metrics::LatencyBuckets()),
                       &results.Add({{"kind", "search"}}, counts)};
    suggest_metrics_ = {&seconds.Add({{"kind", "suggest"}}, common::Metrics::LatencyBuckets()),
                        &results.Add({{"kind", "suggest"}}, counts)};
}

v1::Article Knowledge::Create(const common::RequestContext& rc, const domain::ArticleFields& f,
                              const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, rc.tenant_id, "CreateArticle", request_id, id)) {
            return LoadArticle(db_, tx, rc.tenant_id, *first);
        }
        return ReadArticle(
            db_.Exec(tx, sql::kInsertArticle, rc.tenant_id, id, f.title, f.body, f.category, f.locale, rc.user_id)[0]);
    });
}

v1::Article Knowledge::Get(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadArticle(db_, tx, rc.tenant_id, id); });
}

common::Page<v1::Article> Knowledge::List(const common::RequestContext& rc, const ListQuery& q) {
    const std::string scope = nlohmann::json::array({"ListArticles", q.state, q.locale, q.category}).dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(q.page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::Article> articles = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Article> out;
        for (const auto& row :
             db_.Exec(tx, sql::kListArticles, rc.tenant_id, after.micros, after.id, q.page_size + 1,
                      common::NullIfEmpty(q.state), common::NullIfEmpty(q.locale), common::NullIfEmpty(q.category))) {
            out.push_back(ReadArticle(row));
        }
        return out;
    });
    return common::MakePage(std::move(articles), q.page_size, [&](const v1::Article& last) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope,
                                         {TimeUtil::TimestampToMicroseconds(last.create_time()), last.id()});
    });
}

namespace {

// Writes the working copy and lifecycle columns of `a` (publish: publish_time = now).
v1::Article Write(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Article& a,
                  domain::ArticleState state, bool publish, std::int64_t expected_version) {
    const pqxx::result r = db.Exec(tx, sql::kWriteArticle, tenant, a.id(), a.title(), a.body(), a.category(),
                                   a.locale(), std::string(domain::ArticleStateText(state)), a.published_version(),
                                   a.latest_version(), publish, expected_version);
    if (r.empty()) {
        throw ApiError::Aborted("the article changed meanwhile; read it again", "CONCURRENT_MODIFICATION");
    }
    return ReadArticle(r[0]);
}

void RequireNotArchived(const v1::Article& a) {
    if (a.state() == v1::ARTICLE_STATE_ARCHIVED) {
        throw ApiError::FailedPrecondition("the article is archived; move it back to DRAFT first", "ARTICLE_ARCHIVED");
    }
}

}  // namespace

v1::Article Knowledge::Update(const common::RequestContext& rc, const std::string& id, const domain::ArticleFields& f,
                              const std::vector<std::string>& paths, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Article a = LoadArticle(db_, tx, rc.tenant_id, id, true);
        common::CheckEtag(etag, a.version());
        RequireNotArchived(a);
        bool changed = false;
        auto set = [&](const char* path, std::string* field, const std::string& value) {
            const bool wanted = Named(paths, path) || (paths.empty() && !value.empty());
            if (!wanted || *field == value) return;
            *field = value;
            changed = true;
        };
        set("title", a.mutable_title(), f.title);
        set("body", a.mutable_body(), f.body);
        set("category", a.mutable_category(), f.category);
        set("locale", a.mutable_locale(), f.locale);
        if (!changed) return a;
        return Write(db_, tx, rc.tenant_id, a, domain::EditedState(StateOf(a.state())), false, a.version());
    });
}

v1::Article Knowledge::ChangeState(const common::RequestContext& rc, const std::string& id, domain::ArticleState to,
                                   const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::Article a = LoadArticle(db_, tx, rc.tenant_id, id, true);
        const domain::ArticleState from = StateOf(a.state());
        if (from == to) return a;  // a retried call: nothing to do
        common::CheckEtag(etag, a.version());
        if (!domain::ArticleTransitionAllowed(from, to)) {
            throw ApiError::FailedPrecondition(std::string("an article cannot move from ") +
                                                   domain::ArticleStateText(from) + " to " +
                                                   domain::ArticleStateText(to),
                                               "TRANSITION_NOT_ALLOWED");
        }
        const std::int64_t expected = a.version();
        const std::int64_t previous = a.published_version();
        if (to == domain::ArticleState::kPublished) {
            const std::int64_t number = a.latest_version() + 1;
            const std::string language = domain::SearchLanguage(a.locale());
            db_.Exec(tx, sql::kUnsetLive, rc.tenant_id, id);
            db_.Exec(tx, sql::kInsertVersion, rc.tenant_id, id, number, a.title(), a.body(), a.category(), a.locale(),
                     language, std::string(domain::SearchConfig(language)), rc.user_id);
            db_.Exec(tx, sql::kDeleteTerms, rc.tenant_id, id);
            db_.Exec(tx, sql::kInsertTerms, rc.tenant_id, id, number);
            a.set_published_version(number);
            a.set_latest_version(number);
        } else if (to == domain::ArticleState::kArchived) {
            db_.Exec(tx, sql::kUnsetLive, rc.tenant_id, id);
            db_.Exec(tx, sql::kDeleteTerms, rc.tenant_id, id);
            a.set_published_version(0);
        }
        const bool publish = to == domain::ArticleState::kPublished;
        v1::Article written = Write(db_, tx, rc.tenant_id, a, to, publish, expected);
        if (publish) {
            ev1::ArticlePublished event;
            *event.mutable_article() = written;
            event.set_version_number(written.published_version());
            event.set_previous_version(previous);
            outbox_.Append(tx, rc, common::NewEvent{kAggregateType, written.id(), written.version(), event});
        }
        return written;
    });
}

common::Page<v1::ArticleVersion> Knowledge::ListVersions(const common::RequestContext& rc,
                                                         const std::string& article_id, int page_size,
                                                         const std::string& page_token) {
    const std::string scope = nlohmann::json::array({"ListArticleVersions", article_id}).dump();
    const std::vector<std::string> keys = common::DecodePageToken(page_token, rc.tenant_id, scope, 1);
    const std::int64_t below = keys.empty() ? std::numeric_limits<std::int32_t>::max() : std::stoll(keys[0]);
    std::vector<v1::ArticleVersion> versions = db_.InTenant(rc, [&](pqxx::work& tx) {
        LoadArticle(db_, tx, rc.tenant_id, article_id);  // NOT_FOUND for another tenant's id
        std::vector<v1::ArticleVersion> out;
        for (const auto& row : db_.Exec(tx, sql::kListVersions, rc.tenant_id, article_id, below, page_size + 1)) {
            out.push_back(ReadVersion(row));
        }
        return out;
    });
    return common::MakePage(std::move(versions), page_size, [&](const v1::ArticleVersion& last) {
        return common::EncodePageToken(rc.tenant_id, scope, {std::to_string(last.version_number())});
    });
}

}  // namespace crm::support::kb
