#pragma once
// The crm.sales.v1.SalesService implementation: one class, whose RPCs each area defines in its handlers.cpp
// (pipelines, opportunities, activities, catalogue, quotes, forecast). A handler checks the whole request with the
// kit's validators (every problem reported at once as field violations, before any lookup or write), calls its area's
// application code and fills the response; every error leaves as a crm::common::ApiError through the common RPC
// boundary. Include only from handlers and wiring: it pulls in the generated gRPC service.
#include <crm/sales/v1/sales.grpc.pb.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crm/clients/contacts.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"

namespace prometheus {
class Counter;
}

namespace crm::common {
class Db;
class Metrics;
class Outbox;
}  // namespace crm::common

namespace crm::sales {

namespace v1 = crm::sales::v1;

// The service's own metrics (crm_sales_*), next to the standard RPC metrics of the common runtime.
struct SalesMetrics {
    explicit SalesMetrics(common::Metrics& metrics);
    prometheus::Counter& won;
    prometheus::Counter& lost;
    prometheus::Counter& stage_changes;
    prometheus::Counter& quotes_needing_approval;
    prometheus::Counter& quotes_accepted;
    prometheus::Counter& snapshots_manual;
};

#define CRM_SALES_RPC(name) \
    grpc::Status name(grpc::ServerContext* sc, const v1::name##Request* req, v1::name##Response* resp) override;

class SalesService final : public v1::SalesService::Service {
  public:
    SalesService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db, common::Outbox& outbox,
                 std::shared_ptr<const clients::ContactsClient> links);

    // pipelines/handlers.cpp
    CRM_SALES_RPC(CreatePipeline)
    CRM_SALES_RPC(GetPipeline)
    CRM_SALES_RPC(GetDefaultPipeline)
    CRM_SALES_RPC(ListPipelines)
    CRM_SALES_RPC(UpdatePipeline)
    // opportunities/handlers.cpp
    CRM_SALES_RPC(CreateOpportunity)
    CRM_SALES_RPC(GetOpportunity)
    CRM_SALES_RPC(ListOpportunities)
    CRM_SALES_RPC(UpdateOpportunity)
    CRM_SALES_RPC(MoveOpportunityStage)
    CRM_SALES_RPC(WinOpportunity)
    CRM_SALES_RPC(LoseOpportunity)
    CRM_SALES_RPC(DeleteOpportunity)
    CRM_SALES_RPC(ListStageHistory)
    // activities/handlers.cpp
    CRM_SALES_RPC(CreateActivity)
    CRM_SALES_RPC(GetActivity)
    CRM_SALES_RPC(UpdateActivity)
    CRM_SALES_RPC(CompleteActivity)
    CRM_SALES_RPC(ListActivities)
    // catalogue/handlers.cpp
    CRM_SALES_RPC(CreateProduct)
    CRM_SALES_RPC(GetProduct)
    CRM_SALES_RPC(ListProducts)
    CRM_SALES_RPC(UpdateProduct)
    CRM_SALES_RPC(SetPriceBookEntry)
    CRM_SALES_RPC(ListPriceBookEntries)
    // quotes/handlers.cpp
    CRM_SALES_RPC(CreateQuote)
    CRM_SALES_RPC(GetQuote)
    CRM_SALES_RPC(ListQuotes)
    CRM_SALES_RPC(UpdateQuote)
    CRM_SALES_RPC(SubmitQuote)
    CRM_SALES_RPC(ApproveQuote)
    CRM_SALES_RPC(SendQuote)
    CRM_SALES_RPC(AcceptQuote)
    CRM_SALES_RPC(RejectQuote)
    CRM_SALES_RPC(GetSalesSettings)
    CRM_SALES_RPC(UpdateSalesSettings)
    // forecast/handlers.cpp
    CRM_SALES_RPC(GetForecast)
    CRM_SALES_RPC(TakeForecastSnapshot)
    CRM_SALES_RPC(ListForecastSnapshots)
    CRM_SALES_RPC(GetForecastAccuracy)

  private:
    // The paths an update changes: update_mask ("*" = every allowed path), or without a mask the allowed fields that
    // `is_set` finds given. A path that is unknown or read-only, given twice, or an update that names nothing is a
    // violation on "update_mask"; no paths are returned then.
    static std::vector<std::string> UpdatePaths(common::Violations& v, const google::protobuf::FieldMask& mask,
                                                const std::vector<std::string>& allowed,
                                                const std::function<bool(const std::string&)>& is_set);
    static bool Has(const std::vector<std::string>& paths, const char* path);
    static bool IsManager(const common::RequestContext& rc);
    // SubmitQuote, ApproveQuote, SendQuote: the id checked, then the quote's status transition.
    v1::Quote TransitionQuote(const common::RequestContext& rc, const std::string& id, const char* action,
                              const std::string& etag);

    common::RpcRuntime& rpc_;
    common::Db& db_;
    common::Outbox& outbox_;
    std::shared_ptr<const clients::ContactsClient> links_;
    SalesMetrics metrics_;
};

#undef CRM_SALES_RPC

}  // namespace crm::sales
