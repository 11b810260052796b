#include "sales_client.hpp"

#include <catch2/catch.hpp>
#include <ctime>

namespace crm::test {

sv1::Pipeline SalesClient::MustDefaultPipeline() {
    auto r = GetDefaultPipeline({});
    INFO("GetDefaultPipeline: " << r.status.error_code() << " " << r.status.error_message());
    REQUIRE(r.ok());
    return r.response.pipeline();
}

sv1::Opportunity SalesClient::MustCreateOpportunity(const std::string& name, long long amount_minor,
                                                    const std::string& currency, const std::string& close_date,
                                                    const std::string& owner, const std::string& request_id) {
    sv1::CreateOpportunityRequest req;
    auto* o = req.mutable_opportunity();
    o->set_name(name);
    o->mutable_amount()->set_amount_minor(amount_minor);
    o->mutable_amount()->set_currency_code(currency);
    o->set_expected_close_date(close_date);
    o->set_owner_id(owner);
    req.set_request_id(request_id);
    auto r = CreateOpportunity(req);
    INFO("CreateOpportunity: " << r.status.error_code() << " " << r.status.error_message());
    REQUIRE(r.ok());
    return r.response.opportunity();
}

sv1::Opportunity SalesClient::MustMove(const sv1::Opportunity& o, const std::string& stage_id) {
    sv1::MoveOpportunityStageRequest req;
    req.set_id(o.id());
    req.set_stage_id(stage_id);
    auto r = MoveOpportunityStage(req);
    INFO("MoveOpportunityStage: " << r.status.error_code() << " " << r.status.error_message());
    REQUIRE(r.ok());
    return r.response.opportunity();
}

sv1::Product SalesClient::MustCreateProduct(const std::string& name, const std::string& sku) {
    sv1::CreateProductRequest req;
    req.mutable_product()->set_name(name);
    req.mutable_product()->set_sku(sku);
    auto r = CreateProduct(req);
    INFO("CreateProduct: " << r.status.error_code() << " " << r.status.error_message());
    REQUIRE(r.ok());
    return r.response.product();
}

const sv1::Stage& StageAt(const sv1::Pipeline& pipeline, int position) {
    REQUIRE(position < pipeline.stages_size());
    return pipeline.stages(position);
}

std::string TodayUtc() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

long long CountRows(const std::string& table, const std::string& tenant) {
    return std::stoll(QueryScalar("sales", "SELECT count(*) FROM " + table + " WHERE tenant_id = '" + tenant + "'"));
}

}  // namespace crm::test
