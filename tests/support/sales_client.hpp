#pragma once
// A thin typed client for crm.sales.v1 used by the integration tests and the benchmark.
#include <crm/sales/v1/sales.grpc.pb.h>

#include <map>
#include <memory>
#include <string>

#include "harness.hpp"

namespace crm::test {

namespace sv1 = crm::sales::v1;

template <class Resp>
struct SalesResult {
    grpc::Status status;
    Resp response;
    bool ok() const { return status.ok(); }
};

class SalesClient {
  public:
    // Through the gateway with a token (admin role unless the token says otherwise).
    explicit SalesClient(std::string token, std::shared_ptr<grpc::Channel> channel = GatewayChannel())
        : token_(std::move(token)), stub_(sv1::SalesService::NewStub(channel)) {}

#define CRM_SALES_RPC(Name)                                                                       \
    SalesResult<sv1::Name##Response> Name(const sv1::Name##Request& req,                          \
                                          const std::map<std::string, std::string>& extra = {}) { \
        SalesResult<sv1::Name##Response> r;                                                       \
        grpc::ClientContext ctx;                                                                  \
        PrepareFor(ctx, RpcName<sv1::SalesService>(#Name), token_, extra);                        \
        r.status = stub_->Name(&ctx, req, &r.response);                                           \
        return r;                                                                                 \
    }
    CRM_SALES_RPC(CreatePipeline)
    CRM_SALES_RPC(GetPipeline)
    CRM_SALES_RPC(GetDefaultPipeline)
    CRM_SALES_RPC(ListPipelines)
    CRM_SALES_RPC(UpdatePipeline)
    CRM_SALES_RPC(CreateOpportunity)
    CRM_SALES_RPC(GetOpportunity)
    CRM_SALES_RPC(ListOpportunities)
    CRM_SALES_RPC(UpdateOpportunity)
    CRM_SALES_RPC(MoveOpportunityStage)
    CRM_SALES_RPC(WinOpportunity)
    CRM_SALES_RPC(LoseOpportunity)
    CRM_SALES_RPC(DeleteOpportunity)
    CRM_SALES_RPC(ListStageHistory)
    CRM_SALES_RPC(CreateActivity)
    CRM_SALES_RPC(GetActivity)
    CRM_SALES_RPC(UpdateActivity)
    CRM_SALES_RPC(CompleteActivity)
    CRM_SALES_RPC(ListActivities)
    CRM_SALES_RPC(CreateProduct)
    CRM_SALES_RPC(GetProduct)
    CRM_SALES_RPC(ListProducts)
    CRM_SALES_RPC(UpdateProduct)
    CRM_SALES_RPC(SetPriceBookEntry)
    CRM_SALES_RPC(ListPriceBookEntries)
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
    CRM_SALES_RPC(GetForecast)
    CRM_SALES_RPC(TakeForecastSnapshot)
    CRM_SALES_RPC(ListForecastSnapshots)
    CRM_SALES_RPC(GetForecastAccuracy)
#undef CRM_SALES_RPC

    // Convenience helpers that REQUIRE success.
    sv1::Pipeline MustDefaultPipeline();
    sv1::Opportunity MustCreateOpportunity(const std::string& name, long long amount_minor,
                                           const std::string& currency = "EUR", const std::string& close_date = "",
                                           const std::string& owner = "", const std::string& request_id = "");
    sv1::Opportunity MustMove(const sv1::Opportunity& o, const std::string& stage_id);
    sv1::Product MustCreateProduct(const std::string& name, const std::string& sku = "");

  private:
    std::string token_;
    std::unique_ptr<sv1::SalesService::Stub> stub_;
};

// The stage of a pipeline at a position (REQUIREs it).
const sv1::Stage& StageAt(const sv1::Pipeline& pipeline, int position);

// Today's date in UTC, "YYYY-MM-DD".
std::string TodayUtc();

// Rows of a sales table for one tenant, counted by the superuser (RLS bypassed) — for "nothing written" checks.
long long CountRows(const std::string& table, const std::string& tenant);

}  // namespace crm::test
