#pragma once
// The engagement area: a person's marketing history as one list, newest first (ListPersonEngagement): the outcome
// of every e-mail sent to them (from the senders' recipient rows) and every engagement recorded on them (opens,
// clicks, unsubscribes, form submissions, the leads service's engagements), each with its campaign's name.
#include <crm/marketing/v1/marketing.pb.h>

#include <string>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"

namespace crm::common {
class Db;
}

namespace crm::marketing::engagement {

namespace v1 = crm::marketing::v1;

class Engagement {
  public:
    explicit Engagement(common::Db& db) : db_(db) {}
    // person_id: a checked UUID. NOT_FOUND when the tenant has no such person (or it was erased); a token of another
    // person, tenant or method is INVALID_ARGUMENT (the kit's page tokens).
    common::Page<v1::PersonEngagement> List(const common::RequestContext& rc, const std::string& person_id,
                                            int page_size, const std::string& page_token);

  private:
    common::Db& db_;
};

}  // namespace crm::marketing::engagement
