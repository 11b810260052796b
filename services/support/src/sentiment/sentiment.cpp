#include "sentiment/sentiment.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "cases/cases.hpp"
#include "crm/common/db.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/resource.hpp"
#include "domain/case.hpp"
#include "domain/sentiment.hpp"
#include "domain/sla.hpp"
#include "prepared.hpp"
#include "sentiment/sql.hpp"

namespace crm::support::sentiment {
namespace {

using google::protobuf::util::TimeUtil;

v1::SentimentLabel LabelProto(domain::SentimentLabel label) {
    switch (label) {
        case domain::SentimentLabel::kNegative:
            return v1::SENTIMENT_LABEL_NEGATIVE;
        case domain::SentimentLabel::kPositive:
            return v1::SENTIMENT_LABEL_POSITIVE;
        case domain::SentimentLabel::kNeutral:
            break;
    }
    return v1::SENTIMENT_LABEL_NEUTRAL;
}

v1::SentimentRule ReadRule(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    v1::SentimentRule rule;
    rule.set_threshold(kDefaultThreshold);
    const pqxx::result rows = db.Exec(tx, sql::kGetRule, tenant);
    if (rows.empty()) return rule;
    rule.set_enabled(rows[0][0].as<bool>());
    rule.set_threshold(rows[0][1].as<double>());
    rule.set_version(rows[0][2].as<std::int64_t>());
    rule.set_etag(common::MakeEtag(rule.version()));
    *rule.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][3].as<std::int64_t>());
    return rule;
}

}  // namespace

v1::MessageSentiment Score(const std::string& text) {
    const domain::Sentiment s = domain::ScoreSentiment(text);
    v1::MessageSentiment out;
    out.set_score(std::round(s.score * 10000.0) / 10000.0);
    out.set_label(LabelProto(s.label));
    return out;
}

bool RaisePriorityIfNegative(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, v1::Case& c,
                             double score) {
    const v1::SentimentRule rule = ReadRule(db, tx, tenant);
    if (!domain::RaisesPriority(rule.enabled(), rule.threshold(), score)) return false;
    const domain::Priority now = cases::PriorityOf(c.priority());
    const domain::Priority raised = domain::Raised(now);
    if (raised == now) return false;
    c.set_priority(cases::PriorityProto(raised));
    return true;
}

v1::SentimentRule CheckRule(const v1::SentimentRule& in, common::Violations& v) {
    v1::SentimentRule out = in;
    if (out.threshold() == 0) out.set_threshold(kDefaultThreshold);
    if (!std::isfinite(out.threshold()) || out.threshold() < -1 || out.threshold() >= 0) {
        v.Add("sentiment_rule.threshold", "must be a score in [-1, 0) (0 = -0.6)");
    }
    domain::CheckEtagSyntax(v, in.etag(), "sentiment_rule.etag");
    return out;
}

v1::SentimentRule Sentiments::GetRule(const common::RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return ReadRule(db_, tx, rc.tenant_id); });
}

v1::SentimentRule Sentiments::UpdateRule(const common::RequestContext& rc, const v1::SentimentRule& rule) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result current = db_.Exec(tx, sql::kLockRule, rc.tenant_id);
        common::CheckEtag(rule.etag(), current.empty() ? 0 : current[0][0].as<std::int64_t>());
        db_.Exec(tx, sql::kUpsertRule, rc.tenant_id, rule.enabled(), rule.threshold());
        return ReadRule(db_, tx, rc.tenant_id);
    });
}

v1::GetCaseSentimentResponse Sentiments::CaseTrend(const common::RequestContext& rc, const std::string& case_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        cases::LoadCase(db_, tx, rc.tenant_id, case_id);  // NOT_FOUND for another tenant's case
        v1::GetCaseSentimentResponse out;
        out.set_case_id(case_id);
        for (const auto& row : db_.Exec(tx, sql::kCasePoints, rc.tenant_id, case_id)) {
            auto* p = out.add_points();
            p->set_message_id(row[0].as<std::string>());
            *p->mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(row[1].as<std::int64_t>());
            p->mutable_sentiment()->set_score(row[2].as<double>());
            v1::SentimentLabel label = v1::SENTIMENT_LABEL_NEUTRAL;
            v1::SentimentLabel_Parse("SENTIMENT_LABEL_" + row[3].as<std::string>(), &label);
            p->mutable_sentiment()->set_label(label);
        }
        std::reverse(out.mutable_points()->begin(), out.mutable_points()->end());
        std::vector<double> scores;
        for (const auto& p : out.points()) scores.push_back(p.sentiment().score());
        const domain::SentimentTrend t = domain::TrendOf(scores);
        out.set_average_score(t.average);
        out.set_latest_score(t.latest);
        out.set_trend(t.trend);
        return out;
    });
}

std::vector<v1::CaseSentimentTrend> TrendsOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                             const std::vector<std::string>& case_ids) {
    std::vector<v1::CaseSentimentTrend> out;
    if (case_ids.empty()) return out;
    std::map<std::string, std::vector<double>> scores;  // oldest first per case
    for (const auto& row :
         ExecPrepared(db, tx, sql::kRecentScores, tenant, common::PgTextArray(case_ids), kViewTrendPoints)) {
        auto& list = scores[row[0].as<std::string>()];
        const std::string text = row[1].as<std::string>();
        for (std::size_t at = 0; at < text.size();) {
            const std::size_t comma = std::min(text.find(',', at), text.size());
            list.push_back(std::stod(text.substr(at, comma - at)));
            at = comma + 1;
        }
    }
    for (const auto& id : case_ids) {
        const auto it = scores.find(id);
        if (it == scores.end()) continue;
        v1::CaseSentimentTrend trend;
        trend.set_case_id(id);
        for (const double s : it->second) trend.add_recent_scores(s);
        const domain::SentimentTrend t = domain::TrendOf(it->second);
        trend.set_average_score(t.average);
        trend.set_latest_score(t.latest);
        trend.set_trend(t.trend);
        switch (it->second.size() < 2 ? domain::TrendDirection::kSteady : domain::DirectionOf(t.trend)) {
            case domain::TrendDirection::kImproving:
                trend.set_direction(v1::SENTIMENT_DIRECTION_IMPROVING);
                break;
            case domain::TrendDirection::kWorsening:
                trend.set_direction(v1::SENTIMENT_DIRECTION_WORSENING);
                break;
            case domain::TrendDirection::kSteady:
                trend.set_direction(v1::SENTIMENT_DIRECTION_STEADY);
                break;
        }
        out.push_back(std::move(trend));
    }
    return out;
}

}  // namespace crm::support::sentiment
