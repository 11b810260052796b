#include "csat/csat.hpp"

#include <crm/support/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <ctime>

#include "cases/cases.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/public_token.hpp"
#include "crm/common/sealed_columns.hpp"
#include "csat/sql.hpp"
#include "domain/csat.hpp"
#include "sealed.hpp"

namespace crm::support::csat {
namespace {

namespace ev1 = crm::support::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

constexpr std::int64_t kMicrosPerDay = 86400LL * 1000000;
constexpr int kMaxGroups = 500;

v1::CsatFigures Figures(const pqxx::row& r) {
    v1::CsatFigures f;
    f.set_count(r[4].as<std::int64_t>());
    f.set_mean_score(r[5].as<double>());
    f.set_satisfied_share(r[6].as<double>());
    return f;
}

}  // namespace

Survey OpenSurvey(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Case& solved,
                  const std::string& reply_id, const std::string& agent_id, const Settings& settings) {
    const std::int64_t solve = TimeUtil::TimestampToMicroseconds(solved.solve_time());
    const std::int64_t expire = solve + settings.valid_days * kMicrosPerDay;
    db.Exec(tx, sql::kInsertSurvey, tenant, common::NewUuid(), solved.id(), reply_id,
            common::NullIfEmpty(solved.contact_id()), agent_id, common::NullIfEmpty(solved.queue_id()), solve, expire);
    const pqxx::result row = db.Exec(tx, sql::kSurveyOfReply, tenant, reply_id);
    Survey s;
    s.id = row.at(0)[0].as<std::string>();
    const std::string token = common::SignPublicToken(
        kTokenPurpose, {.tenant = tenant, .fields = {s.id}, .expires_at = row[0][1].as<std::int64_t>() / 1000000},
        settings.internal_key);
    s.url = settings.public_base_url + "/csat/" + token;
    return s;
}

std::optional<std::string> SurveyOfReply(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                         const std::string& reply_id) {
    const pqxx::result row = db.Exec(tx, sql::kSurveyOfReply, tenant, reply_id);
    if (row.empty()) return std::nullopt;
    return row[0][0].as<std::string>();
}

std::int64_t EraseComments(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                           const std::string& contact_id) {
    if (!common::IsUuid(contact_id)) return 0;
    return static_cast<std::int64_t>(db.Exec(tx, sql::kEraseComments, tenant, contact_id).affected_rows());
}

void MoveContact(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& loser_id,
                 const std::string& survivor_id) {
    db.Exec(tx, sql::kMoveContact, tenant, loser_id, survivor_id);
}

Csat::Csat(common::Db& db, common::Outbox& outbox, Settings settings, common::Metrics& metrics)
    : db_(db),
      outbox_(outbox),
      settings_(std::move(settings)),
      answers_(prometheus::BuildCounter()
                   .Name("crm_support_csat_answers_total")
                   .Help("Satisfaction survey answers recorded, by score (1..5).")
                   .Register(metrics.registry())) {}

std::string Csat::SurveyOfToken(const common::RequestContext& rc, const std::string& token) const {
    // Whatever is wrong (forged, expired, another purpose or tenant), the same answer: nothing tells which part.
    const auto verified =
        common::VerifyPublicToken(kTokenPurpose, token, 1, settings_.internal_key, std::time(nullptr));
    if (!verified || verified->tenant != rc.tenant_id || !common::IsUuid(verified->fields[0])) {
        throw ApiError::NotFound("survey", "(token)");
    }
    return verified->fields[0];
}

v1::AnswerCsatSurveyResponse Csat::Answer(const common::RequestContext& rc, const std::string& survey_id, int score,
                                          const std::string& comment) {
    v1::AnswerCsatSurveyResponse out = db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const pqxx::result survey = db_.Exec(tx, sql::kGetSurvey, t, survey_id);
        if (survey.empty()) throw ApiError::NotFound("survey", "(token)");
        const auto refuse_answered = [] {
            return ApiError::FailedPrecondition("this survey has already been answered: an answer cannot be changed",
                                                "SURVEY_ALREADY_ANSWERED");
        };
        if (!survey[0][4].is_null()) throw refuse_answered();
        // The case first (every writer of a case takes its row first), then the survey.
        v1::Case c = cases::LoadCase(db_, tx, t, survey[0][0].as<std::string>(), true);
        common::ColumnSealer sealer(db_, tx, t);
        const pqxx::result answered =
            db_.Exec(tx, sql::kAnswer, t, survey_id, score, sealer.Seal(c.id(), sealed::kComment, comment));
        if (answered.empty()) throw refuse_answered();  // a concurrent answer won
        const std::int64_t answer_micros = answered[0][0].as<std::int64_t>();

        cases::EventBatch batch;
        auto& recorded = batch.Add<ev1::CsatRecorded>();
        recorded.set_survey_id(survey_id);
        recorded.set_score(score);
        recorded.set_has_comment(!comment.empty());
        recorded.set_agent_id(survey[0][1].as<std::string>());
        recorded.set_queue_id(survey[0][2].as<std::string>());
        *recorded.mutable_solve_time() = TimeUtil::MicrosecondsToTimestamp(survey[0][3].as<std::int64_t>());
        *recorded.mutable_answer_time() = TimeUtil::MicrosecondsToTimestamp(answer_micros);
        const std::int64_t expected = c.version();
        const v1::Case written = cases::WriteCase(db_, tx, t, c, batch.size(), expected);
        batch.Append(db_, outbox_, tx, t, rc.request_id, written);

        v1::AnswerCsatSurveyResponse r;
        r.set_survey_id(survey_id);
        r.set_score(score);
        *r.mutable_answer_time() = TimeUtil::MicrosecondsToTimestamp(answer_micros);
        return r;
    });
    answers_.Add({{"score", std::to_string(score)}}).Increment();
    return out;
}

std::string Csat::Page(const common::RequestContext& rc, const std::string& survey_id, int preselect) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result survey = db_.Exec(tx, sql::kGetSurvey, rc.tenant_id, survey_id);
        if (survey.empty()) throw ApiError::NotFound("survey", "(token)");
        domain::SurveyPage page;
        page.case_label = "CS-" + survey[0][6].as<std::string>();
        page.subject = common::ColumnKey(rc.tenant_id, survey[0][0].as<std::string>(), survey[0][8])
                           .Open(sealed::kSubject, survey[0][7].c_str());
        page.answered = !survey[0][4].is_null();
        page.score = page.answered ? survey[0][4].as<int>() : preselect;
        return domain::SurveyPageHtml(page);
    });
}

v1::GetCsatReportResponse Csat::Report(const common::RequestContext& rc, std::int64_t start_micros,
                                       std::int64_t end_micros, const std::string& unit) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::GetCsatReportResponse out;
        out.mutable_overall();  // zero figures when nobody answered
        for (const auto& row : db_.Exec(tx, sql::kReport, rc.tenant_id, start_micros, end_micros, unit)) {
            // GROUPING bits: 1 agent, 2 queue, 4 period aggregated over.
            switch (row[0].as<int>()) {
                case 7:
                    *out.mutable_overall() = Figures(row);
                    break;
                case 6:
                    if (out.by_agent_size() < kMaxGroups) {
                        auto* a = out.add_by_agent();
                        a->set_agent_id(row[1].as<std::string>());
                        *a->mutable_figures() = Figures(row);
                    }
                    break;
                case 5:
                    if (out.by_queue_size() < kMaxGroups) {
                        auto* q = out.add_by_queue();
                        q->set_queue_id(row[2].as<std::string>());
                        *q->mutable_figures() = Figures(row);
                    }
                    break;
                case 3: {
                    auto* p = out.add_by_period();
                    *p->mutable_period_start() = TimeUtil::MicrosecondsToTimestamp(row[3].as<std::int64_t>());
                    *p->mutable_figures() = Figures(row);
                    break;
                }
                default:
                    break;
            }
        }
        std::sort(out.mutable_by_period()->begin(), out.mutable_by_period()->end(),
                  [](const v1::CsatPeriodFigures& a, const v1::CsatPeriodFigures& b) {
                      return TimeUtil::TimestampToMicroseconds(a.period_start()) <
                             TimeUtil::TimestampToMicroseconds(b.period_start());
                  });
        return out;
    });
}

}  // namespace crm::support::csat
