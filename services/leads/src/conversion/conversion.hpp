#pragma once
// The conversion area: ConvertLead. A QUALIFIED lead (or a WORKING one with allow_unqualified) is checked in one
// transaction, the saga (saga.hpp) creates or links its records in contacts and sales, and a second transaction marks
// it CONVERTED with every id (LeadConverted). Converting a converted lead returns the first result.
#include <crm/leads/v1/leads.pb.h>

#include <memory>
#include <string>

#include "conversion/saga.hpp"
#include "crm/common/rpc.hpp"

namespace prometheus {
class Counter;
class Histogram;
}  // namespace prometheus

namespace crm::common {
class Db;
class Metrics;
class Outbox;
}  // namespace crm::common

namespace crm::leads::conversion {

class Conversion {
  public:
    Conversion(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, const Settings& settings);
    ~Conversion();

    // req: checked by the handler (id, opportunity, etag).
    v1::ConvertLeadResponse Convert(const common::RequestContext& rc, const v1::ConvertLeadRequest& req);

  private:
    // The lead as it is; throws when it cannot be converted (a CONVERTED lead is returned as is).
    v1::Lead CheckConvertible(const common::RequestContext& rc, const v1::ConvertLeadRequest& req);
    // Marks it converted with the saga's ids, once: a lead converted meanwhile is returned unchanged.
    v1::Lead Complete(const common::RequestContext& rc, const v1::ConvertLeadRequest& req,
                      const v1::LeadConversion& ids);

    common::Db& db_;
    common::Outbox& outbox_;
    std::unique_ptr<Saga> saga_;
    prometheus::Counter& conversions_;
    prometheus::Counter& contacts_linked_;
    prometheus::Histogram& conversion_seconds_;
};

}  // namespace crm::leads::conversion
