#pragma once
// The CSAT area: a survey per solving reply (opened by the conversation area inside the reply's transaction, its
// signed link e-mailed with the reply), the customer's one answer through the public link (CsatRecorded on the case),
// the page the link shows, the report per agent, queue and period, and the blanking of an erased person's comments.
#include <crm/support/v1/csat.pb.h>
#include <crm/support/v1/support.pb.h>

#include <cstdint>
#include <optional>
#include <string>

#include "crm/common/rpc.hpp"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace crm::common {
class Db;
class Outbox;
class Metrics;
}  // namespace crm::common

namespace prometheus {
class Counter;
template <class T>
class Family;
}  // namespace prometheus

namespace crm::support::csat {

namespace v1 = crm::support::v1;

// The purpose the survey tokens are signed for (the gateway policy's public_tokens names it too).
inline constexpr char kTokenPurpose[] = "csat";

struct Settings {
    std::string public_base_url;  // the gateway's HTTP side as customers reach it: links are <base>/csat/<token>
    std::string internal_key;     // signs the tokens (CRM_INTERNAL_KEY)
    int valid_days = 30;          // how long a survey can be answered
};

struct Survey {
    std::string id;
    std::string url;  // <base>/csat/<token>
};

// Opens the survey of `solved` (just written as SOLVED by the reply `reply_id` of `agent_id`) in the caller's
// transaction: who solved it and the case's queue are kept for the report.
Survey OpenSurvey(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Case& solved,
                  const std::string& reply_id, const std::string& agent_id, const Settings& settings);

// The id of the survey a solving reply opened, if any (a retried reply's answer).
std::optional<std::string> SurveyOfReply(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                         const std::string& reply_id);

// Blanks the comments an erased contact wrote (inside the consumer's or a data-subject erasure's transaction); how
// many it blanked.
std::int64_t EraseComments(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                           const std::string& contact_id);

// A merged contact's surveys follow the survivor (inside the consumer's transaction).
void MoveContact(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& loser_id,
                 const std::string& survivor_id);

class Csat {
  public:
    Csat(common::Db& db, common::Outbox& outbox, Settings settings, common::Metrics& metrics);

    // The token's survey id when it is a survey token of the caller's tenant; NOT_FOUND otherwise.
    std::string SurveyOfToken(const common::RequestContext& rc, const std::string& token) const;
    // score and comment: checked (domain::CheckCsatAnswer).
    v1::AnswerCsatSurveyResponse Answer(const common::RequestContext& rc, const std::string& survey_id, int score,
                                        const std::string& comment);
    // The page's HTML.
    std::string Page(const common::RequestContext& rc, const std::string& survey_id, int preselect);
    // [start, end) in microseconds; unit: "day", "week" or "month".
    v1::GetCsatReportResponse Report(const common::RequestContext& rc, std::int64_t start_micros,
                                     std::int64_t end_micros, const std::string& unit);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    Settings settings_;
    prometheus::Family<prometheus::Counter>& answers_;
};

}  // namespace crm::support::csat
