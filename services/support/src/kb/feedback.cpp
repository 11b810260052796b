// Votes on articles (one per user) and links of articles to the cases they answered.
#include <google/protobuf/util/time_util.h>

#include "cases/cases.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "kb/knowledge.hpp"
#include "kb/record.hpp"
#include "kb/sql.hpp"

namespace crm::support::kb {
namespace {

using common::ApiError;
using google::protobuf::util::TimeUtil;

void RequirePublished(const v1::Article& a) {
    if (a.published_version() == 0) {
        throw ApiError::FailedPrecondition("the article has no published version", "ARTICLE_NOT_PUBLISHED");
    }
}

v1::CaseArticleLink ReadLink(const pqxx::row& r) {
    v1::CaseArticleLink l;
    l.set_case_id(r[0].as<std::string>());
    l.set_article_id(r[1].as<std::string>());
    l.set_version_number(r[2].as<std::int64_t>());
    l.set_title(r[3].as<std::string>());
    l.set_linked_by(r[4].as<std::string>());
    *l.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r[5].as<std::int64_t>());
    return l;
}

}  // namespace

v1::Article Knowledge::Rate(const common::RequestContext& rc, const std::string& article_id, bool helpful) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        // The article row lock serializes the votes on it, so a user's two concurrent votes count once.
        const v1::Article a = LoadArticle(db_, tx, rc.tenant_id, article_id, true);
        RequirePublished(a);
        const pqxx::result before = db_.Exec(tx, sql::kGetVote, rc.tenant_id, article_id, rc.user_id);
        if (!before.empty() && before[0][0].as<bool>() == helpful) return a;  // the same vote again
        int helpful_delta = helpful ? 1 : 0;
        int not_helpful_delta = helpful ? 0 : 1;
        if (!before.empty()) (helpful ? not_helpful_delta : helpful_delta) = -1;  // the previous vote is replaced
        db_.Exec(tx, sql::kUpsertVote, rc.tenant_id, article_id, rc.user_id, helpful);
        return ReadArticle(
            db_.Exec(tx, sql::kAdjustVotes, rc.tenant_id, article_id, helpful_delta, not_helpful_delta)[0]);
    });
}

std::pair<v1::CaseArticleLink, bool> Knowledge::Link(const common::RequestContext& rc, const std::string& case_id,
                                                     const std::string& article_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        // The case row lock serializes the links of one case (the limit holds under concurrency).
        const v1::Case c = cases::LoadCase(db_, tx, rc.tenant_id, case_id, true);
        const v1::Article a = LoadArticle(db_, tx, rc.tenant_id, article_id, true);
        const pqxx::result existing = db_.Exec(tx, sql::kGetLink, rc.tenant_id, case_id, article_id);
        if (!existing.empty()) return std::make_pair(ReadLink(existing[0]), false);
        if (c.status() == v1::CASE_STATUS_MERGED) {
            throw ApiError::FailedPrecondition("the case was merged into " + c.merged_into_id() + "; link that one",
                                               "CASE_MERGED");
        }
        RequirePublished(a);
        const auto count = db_.Exec(tx, sql::kCountCaseLinks, rc.tenant_id, case_id)[0][0].as<std::int64_t>();
        if (count >= static_cast<std::int64_t>(domain::kMaxCaseArticleLinks)) {
            throw ApiError::FailedPrecondition("a case links at most 50 articles", "TOO_MANY_LINKS");
        }
        db_.Exec(tx, sql::kInsertLink, rc.tenant_id, case_id, article_id, a.published_version(), rc.user_id);
        db_.Exec(tx, sql::kCountLinked, rc.tenant_id, article_id);
        return std::make_pair(ReadLink(db_.Exec(tx, sql::kGetLink, rc.tenant_id, case_id, article_id)[0]), true);
    });
}

std::vector<v1::CaseArticleLink> Knowledge::ListCaseLinks(const common::RequestContext& rc,
                                                          const std::string& case_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        cases::LoadCase(db_, tx, rc.tenant_id, case_id);  // NOT_FOUND for another tenant's id
        std::vector<v1::CaseArticleLink> out;
        for (const auto& row :
             db_.Exec(tx, sql::kListCaseLinks, rc.tenant_id, case_id, static_cast<int>(domain::kMaxCaseArticleLinks))) {
            out.push_back(ReadLink(row));
        }
        return out;
    });
}

}  // namespace crm::support::kb
