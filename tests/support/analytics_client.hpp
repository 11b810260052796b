#pragma once
// Analytics through the gateway with one caller's token: the KPI reads (one Kpis overload per KPI RPC), the time
// series and the rebuild. Header-only.
#include <crm/analytics/v1/analytics.grpc.pb.h>

#include <chrono>
#include <memory>
#include <string>

#include "harness.hpp"

namespace crm::test {

class AnalyticsClient {
  public:
    explicit AnalyticsClient(std::string token)
        : token_(std::move(token)), stub_(crm::analytics::v1::AnalyticsService::NewStub(GatewayChannel())) {}

    grpc::Status Kpis(const crm::analytics::v1::GetKpisRequest& req, crm::analytics::v1::GetKpisResponse* resp) {
        grpc::ClientContext ctx;
        Prepare(ctx, token_);
        return stub_->GetKpis(&ctx, req, resp);
    }
    grpc::Status Kpis(const crm::analytics::v1::GetSupportKpisRequest& req,
                      crm::analytics::v1::GetSupportKpisResponse* resp) {
        grpc::ClientContext ctx;
        Prepare(ctx, token_);
        return stub_->GetSupportKpis(&ctx, req, resp);
    }
    grpc::Status Kpis(const crm::analytics::v1::GetFieldKpisRequest& req,
                      crm::analytics::v1::GetFieldKpisResponse* resp) {
        grpc::ClientContext ctx;
        Prepare(ctx, token_);
        return stub_->GetFieldKpis(&ctx, req, resp);
    }
    grpc::Status Kpis(const crm::analytics::v1::GetCampaignKpisRequest& req,
                      crm::analytics::v1::GetCampaignKpisResponse* resp) {
        grpc::ClientContext ctx;
        Prepare(ctx, token_);
        return stub_->GetCampaignKpis(&ctx, req, resp);
    }
    grpc::Status Series(const crm::analytics::v1::GetTimeSeriesRequest& req,
                        crm::analytics::v1::GetTimeSeriesResponse* resp) {
        grpc::ClientContext ctx;
        Prepare(ctx, token_);
        return stub_->GetTimeSeries(&ctx, req, resp);
    }
    // A rebuild reads the whole log: two minutes' deadline.
    grpc::Status Rebuild(const crm::analytics::v1::RebuildProjectionsRequest& req,
                         crm::analytics::v1::RebuildProjectionsResponse* resp) {
        grpc::ClientContext ctx;
        Prepare(ctx, token_, {}, std::chrono::seconds(120));
        return stub_->RebuildProjections(&ctx, req, resp);
    }

  private:
    std::string token_;
    std::unique_ptr<crm::analytics::v1::AnalyticsService::Stub> stub_;
};

}  // namespace crm::test
