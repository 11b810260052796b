#pragma once
// Running the steps of one claimed enrolment inside its transaction (see runner.hpp); internal to the area.
#include <crm/marketing/v1/marketing.pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crm/common/tls.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::sequences {

namespace v1 = crm::marketing::v1;

// Calls to the leads service on behalf of the author of a sequence version.
class LeadsCaller {
  public:
    LeadsCaller(const std::string& addr, const common::TlsFiles& tls, std::string internal_key,
                std::chrono::milliseconds timeout);
    ~LeadsCaller();
    struct Identity {
        std::string tenant, user_id, roles, request_id;
    };
    // "recorded" or "refused" (leads said no: not found, invalid, not allowed); throws common::ApiError UNAVAILABLE
    // when leads could not be reached.
    std::string RecordEngagement(const Identity& who, const std::string& lead_id, const std::string& type,
                                 const std::string& detail);
    std::string ChangeStatus(const Identity& who, const std::string& lead_id, const std::string& status,
                             const std::string& reason);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A claimed enrolment.
struct Enrolment {
    std::string tenant, id, sequence_id, person_id;
    std::int64_t version = 0;
    int next_step = 0;
    std::int64_t event_seq = 0;
};

struct RunResult {
    int steps = 0;                     // steps executed
    std::vector<std::string> actions;  // their actions, for the metrics
};

// Runs the enrolment's steps from next_step until a wait, a stop or the end, or an exit condition, and saves it.
RunResult RunEnrolment(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, LeadsCaller& leads,
                       const Enrolment& enrolment);

}  // namespace crm::marketing::sequences
