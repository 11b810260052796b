// Tenant isolation on every SalesService RPC that names a resource: another tenant's id is NOT_FOUND, exactly like an
// id that never existed, and changes nothing; lists of the other tenant never show the resources. Also: bad ids and
// page sizes on every RPC that takes them are INVALID_ARGUMENT, and a token without a sales role is refused.
#include <catch2/catch.hpp>

#include "../support/sales_client.hpp"

using namespace crm::test;

namespace {

constexpr auto kNotFound = grpc::StatusCode::NOT_FOUND;

struct Owned {
    sv1::Pipeline pipeline;
    sv1::Opportunity deal;
    sv1::Activity activity;
    sv1::Product product;
    sv1::Quote quote;
    sv1::ForecastSnapshot snapshot;
};

Owned MakeOwned(SalesClient& api) {
    Owned o;
    o.pipeline = api.MustDefaultPipeline();
    o.deal = api.MustCreateOpportunity("Theirs", 100, "EUR", TodayUtc());
    sv1::CreateActivityRequest act;
    act.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_CALL);
    act.mutable_activity()->set_subject("Call");
    act.mutable_activity()->set_opportunity_id(o.deal.id());
    o.activity = api.CreateActivity(act).response.activity();
    o.product = api.MustCreateProduct("Theirs");
    sv1::SetPriceBookEntryRequest price;
    price.mutable_entry()->set_product_id(o.product.id());
    price.mutable_entry()->mutable_unit_price()->set_amount_minor(100);
    price.mutable_entry()->mutable_unit_price()->set_currency_code("EUR");
    REQUIRE(api.SetPriceBookEntry(price).ok());
    sv1::CreateQuoteRequest quote;
    quote.mutable_quote()->set_opportunity_id(o.deal.id());
    quote.mutable_quote()->set_title("Q");
    quote.mutable_quote()->add_line_items()->set_product_id(o.product.id());
    quote.mutable_quote()->mutable_line_items(0)->set_quantity("1");
    auto q = api.CreateQuote(quote);
    REQUIRE(q.ok());
    o.quote = q.response.quote();
    sv1::TakeForecastSnapshotRequest snap;
    snap.mutable_period()->set_type(sv1::PERIOD_TYPE_MONTH);
    snap.mutable_period()->set_start_date(TodayUtc());
    snap.set_currency_code("EUR");
    o.snapshot = api.TakeForecastSnapshot(snap).response.snapshot();
    REQUIRE(!o.activity.id().empty());
    REQUIRE(!o.snapshot.id().empty());
    return o;
}

}  // namespace

TEST_CASE("sales: another tenant's ids are NOT_FOUND on every RPC and change nothing",
          "[integration][sales][tenancy]") {
    const std::string owner_tenant = UniqueTenant("st");
    SalesClient owner(TokenFor(owner_tenant));
    const Owned o = MakeOwned(owner);
    SalesClient other(TokenFor(UniqueTenant("st")));  // admin of another tenant: every method allowed
    const std::string outbox_before =
        QueryScalar("sales", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + owner_tenant + "'");

    {
        sv1::GetPipelineRequest r;
        r.set_id(o.pipeline.id());
        CHECK(other.GetPipeline(r).status.error_code() == kNotFound);
        sv1::UpdatePipelineRequest u;
        u.mutable_pipeline()->set_id(o.pipeline.id());
        u.mutable_pipeline()->set_name("Hijacked");
        u.mutable_update_mask()->add_paths("name");
        CHECK(other.UpdatePipeline(u).status.error_code() == kNotFound);
        sv1::CreateOpportunityRequest c;
        c.mutable_opportunity()->set_name("In their pipeline");
        c.mutable_opportunity()->set_pipeline_id(o.pipeline.id());
        c.mutable_opportunity()->mutable_amount()->set_amount_minor(1);
        c.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
        CHECK(other.CreateOpportunity(c).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        sv1::GetForecastRequest f;
        f.mutable_period()->set_type(sv1::PERIOD_TYPE_MONTH);
        f.mutable_period()->set_start_date(TodayUtc());
        f.set_currency_code("EUR");
        f.set_pipeline_id(o.pipeline.id());
        CHECK(other.GetForecast(f).status.error_code() == kNotFound);
    }
    {
        const std::string id = o.deal.id();
        sv1::GetOpportunityRequest g;
        g.set_id(id);
        CHECK(other.GetOpportunity(g).status.error_code() == kNotFound);
        sv1::UpdateOpportunityRequest u;
        u.mutable_opportunity()->set_id(id);
        u.mutable_opportunity()->set_name("Hijacked");
        u.mutable_update_mask()->add_paths("name");
        CHECK(other.UpdateOpportunity(u).status.error_code() == kNotFound);
        sv1::MoveOpportunityStageRequest m;
        m.set_id(id);
        m.set_stage_id(o.pipeline.stages(1).id());
        CHECK(other.MoveOpportunityStage(m).status.error_code() == kNotFound);
        sv1::WinOpportunityRequest w;
        w.set_id(id);
        CHECK(other.WinOpportunity(w).status.error_code() == kNotFound);
        sv1::LoseOpportunityRequest l;
        l.set_id(id);
        l.set_reason("x");
        CHECK(other.LoseOpportunity(l).status.error_code() == kNotFound);
        sv1::DeleteOpportunityRequest d;
        d.set_id(id);
        CHECK(other.DeleteOpportunity(d).status.error_code() == kNotFound);
        sv1::ListStageHistoryRequest h;
        h.set_opportunity_id(id);
        CHECK(other.ListStageHistory(h).status.error_code() == kNotFound);
        sv1::ListActivitiesRequest t;
        t.set_record_type(sv1::RECORD_TYPE_OPPORTUNITY);
        t.set_record_id(id);
        CHECK(other.ListActivities(t).status.error_code() == kNotFound);
        sv1::ListQuotesRequest lq;
        lq.set_opportunity_id(id);
        CHECK(other.ListQuotes(lq).status.error_code() == kNotFound);
        sv1::CreateActivityRequest ca;
        ca.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_TASK);
        ca.mutable_activity()->set_subject("on their deal");
        ca.mutable_activity()->set_opportunity_id(id);
        CHECK(other.CreateActivity(ca).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        sv1::CreateQuoteRequest cq;
        cq.mutable_quote()->set_opportunity_id(id);
        cq.mutable_quote()->set_title("on their deal");
        auto* line = cq.mutable_quote()->add_line_items();
        line->set_description("x");
        line->set_quantity("1");
        line->mutable_unit_price()->set_amount_minor(1);
        CHECK(other.CreateQuote(cq).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
        const std::string id = o.activity.id();
        sv1::GetActivityRequest g;
        g.set_id(id);
        CHECK(other.GetActivity(g).status.error_code() == kNotFound);
        sv1::UpdateActivityRequest u;
        u.mutable_activity()->set_id(id);
        u.mutable_activity()->set_subject("Hijacked");
        u.mutable_update_mask()->add_paths("subject");
        CHECK(other.UpdateActivity(u).status.error_code() == kNotFound);
        sv1::CompleteActivityRequest c;
        c.set_id(id);
        CHECK(other.CompleteActivity(c).status.error_code() == kNotFound);
    }
    {
        const std::string id = o.product.id();
        sv1::GetProductRequest g;
        g.set_id(id);
        CHECK(other.GetProduct(g).status.error_code() == kNotFound);
        sv1::UpdateProductRequest u;
        u.mutable_product()->set_id(id);
        u.mutable_product()->set_name("Hijacked");
        u.mutable_update_mask()->add_paths("name");
        CHECK(other.UpdateProduct(u).status.error_code() == kNotFound);
        sv1::SetPriceBookEntryRequest p;
        p.mutable_entry()->set_product_id(id);
        p.mutable_entry()->mutable_unit_price()->set_amount_minor(1);
        p.mutable_entry()->mutable_unit_price()->set_currency_code("EUR");
        CHECK(other.SetPriceBookEntry(p).status.error_code() == kNotFound);
        sv1::ListPriceBookEntriesRequest l;
        l.set_product_id(id);
        CHECK(other.ListPriceBookEntries(l).status.error_code() == kNotFound);
    }
    {
        const std::string id = o.quote.id();
        sv1::GetQuoteRequest g;
        g.set_id(id);
        CHECK(other.GetQuote(g).status.error_code() == kNotFound);
        sv1::UpdateQuoteRequest u;
        u.mutable_quote()->set_id(id);
        u.mutable_quote()->set_title("Hijacked");
        u.mutable_update_mask()->add_paths("title");
        CHECK(other.UpdateQuote(u).status.error_code() == kNotFound);
        sv1::SubmitQuoteRequest s;
        s.set_id(id);
        CHECK(other.SubmitQuote(s).status.error_code() == kNotFound);
        sv1::ApproveQuoteRequest a;
        a.set_id(id);
        CHECK(other.ApproveQuote(a).status.error_code() == kNotFound);
        sv1::SendQuoteRequest se;
        se.set_id(id);
        CHECK(other.SendQuote(se).status.error_code() == kNotFound);
        sv1::AcceptQuoteRequest ac;
        ac.set_id(id);
        CHECK(other.AcceptQuote(ac).status.error_code() == kNotFound);
        sv1::RejectQuoteRequest rj;
        rj.set_id(id);
        rj.set_reason("x");
        CHECK(other.RejectQuote(rj).status.error_code() == kNotFound);
    }
    {
        sv1::GetForecastAccuracyRequest a;
        a.set_snapshot_id(o.snapshot.id());
        CHECK(other.GetForecastAccuracy(a).status.error_code() == kNotFound);
    }
    // Lists and settings of the other tenant show nothing of the owner's.
    sv1::ListOpportunitiesRequest lo;
    CHECK(other.ListOpportunities(lo).response.opportunities_size() == 0);
    sv1::ListProductsRequest lp;
    CHECK(other.ListProducts(lp).response.products_size() == 0);
    sv1::ListQuotesRequest lq;
    CHECK(other.ListQuotes(lq).response.quotes_size() == 0);
    sv1::ListPriceBookEntriesRequest le;
    CHECK(other.ListPriceBookEntries(le).response.entries_size() == 0);
    sv1::ListPipelinesRequest lpi;
    auto pipes = other.ListPipelines(lpi);
    REQUIRE(pipes.ok());
    for (const auto& p : pipes.response.pipelines()) CHECK(p.id() != o.pipeline.id());
    sv1::ListForecastSnapshotsRequest ls;
    ls.mutable_period()->set_type(sv1::PERIOD_TYPE_MONTH);
    ls.mutable_period()->set_start_date(TodayUtc());
    ls.set_currency_code("EUR");
    const auto others = other.ListForecastSnapshots(ls);  // kept alive: the loop reads into it
    REQUIRE(others.ok());
    for (const auto& s : others.response.snapshots()) CHECK(s.id() != o.snapshot.id());
    sv1::GetForecastRequest f;
    f.mutable_period()->set_type(sv1::PERIOD_TYPE_MONTH);
    f.mutable_period()->set_start_date(TodayUtc());
    f.set_currency_code("EUR");
    CHECK(other.GetForecast(f).response.totals().open_count() == 0);

    // Nothing of the owner's changed.
    sv1::GetOpportunityRequest g;
    g.set_id(o.deal.id());
    const auto deal = owner.GetOpportunity(g).response.opportunity();
    CHECK(deal.version() == o.deal.version());
    CHECK(deal.name() == "Theirs");
    CHECK(QueryScalar("sales", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + owner_tenant + "'") ==
          outbox_before);
}

TEST_CASE("sales: malformed ids and page sizes are INVALID_ARGUMENT on every RPC that takes them",
          "[integration][sales]") {
    SalesClient api(TokenFor(UniqueTenant("st")));
    auto bad = [](const grpc::Status& s, const char* field) {
        INFO(field << ": " << s.error_message());
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(s, field));
    };
    const std::string x = "not-a-uuid";
    {
        sv1::GetPipelineRequest r;
        r.set_id(x);
        bad(api.GetPipeline(r).status, "id");
    }
    {
        sv1::UpdatePipelineRequest r;
        r.mutable_pipeline()->set_id(x);
        bad(api.UpdatePipeline(r).status, "pipeline.id");
    }
    {
        sv1::ListPipelinesRequest r;
        r.set_page_size(-1);
        bad(api.ListPipelines(r).status, "page_size");
    }
    {
        sv1::GetOpportunityRequest r;
        r.set_id(x);
        bad(api.GetOpportunity(r).status, "id");
    }
    {
        sv1::UpdateOpportunityRequest r;
        r.mutable_opportunity()->set_id(x);
        bad(api.UpdateOpportunity(r).status, "opportunity.id");
    }
    {
        sv1::MoveOpportunityStageRequest r;
        r.set_id(x);
        bad(api.MoveOpportunityStage(r).status, "stage_id");
    }
    {
        sv1::WinOpportunityRequest r;
        r.set_id(x);
        bad(api.WinOpportunity(r).status, "id");
    }
    {
        sv1::LoseOpportunityRequest r;
        r.set_id(x);
        bad(api.LoseOpportunity(r).status, "id");
    }
    {
        sv1::DeleteOpportunityRequest r;
        r.set_id(x);
        bad(api.DeleteOpportunity(r).status, "id");
    }
    {
        sv1::ListStageHistoryRequest r;
        r.set_opportunity_id(x);
        bad(api.ListStageHistory(r).status, "opportunity_id");
    }
    {
        sv1::ListOpportunitiesRequest r;
        r.set_stage_id(x);
        bad(api.ListOpportunities(r).status, "stage_id");
    }
    {
        sv1::GetActivityRequest r;
        r.set_id(x);
        bad(api.GetActivity(r).status, "id");
    }
    {
        sv1::UpdateActivityRequest r;
        r.mutable_activity()->set_id(x);
        bad(api.UpdateActivity(r).status, "activity.id");
    }
    {
        sv1::CompleteActivityRequest r;
        r.set_id(x);
        bad(api.CompleteActivity(r).status, "id");
    }
    {
        sv1::CreateProductRequest r;
        bad(api.CreateProduct(r).status, "product.name");
    }
    {
        sv1::GetProductRequest r;
        r.set_id(x);
        bad(api.GetProduct(r).status, "id");
    }
    {
        sv1::UpdateProductRequest r;
        r.mutable_product()->set_id(x);
        bad(api.UpdateProduct(r).status, "product.id");
    }
    {
        sv1::ListProductsRequest r;
        r.set_page_size(-5);
        bad(api.ListProducts(r).status, "page_size");
    }
    {
        sv1::SetPriceBookEntryRequest r;
        r.mutable_entry()->set_product_id(x);
        bad(api.SetPriceBookEntry(r).status, "entry.product_id");
    }
    {
        sv1::SetPriceBookEntryRequest r;
        r.mutable_entry()->set_product_id(crm::common::NewUuid());
        r.mutable_entry()->mutable_unit_price()->set_amount_minor(-1);
        bad(api.SetPriceBookEntry(r).status, "entry.unit_price.amount_minor");
    }
    {
        sv1::ListPriceBookEntriesRequest r;
        r.set_currency_code("eu");
        bad(api.ListPriceBookEntries(r).status, "currency_code");
    }
    {
        sv1::CreateQuoteRequest r;
        bad(api.CreateQuote(r).status, "quote.opportunity_id");
    }
    {
        sv1::GetQuoteRequest r;
        r.set_id(x);
        bad(api.GetQuote(r).status, "id");
    }
    {
        sv1::ListQuotesRequest r;
        r.set_opportunity_id(x);
        bad(api.ListQuotes(r).status, "opportunity_id");
    }
    {
        sv1::UpdateQuoteRequest r;
        r.mutable_quote()->set_id(x);
        bad(api.UpdateQuote(r).status, "quote.id");
    }
    {
        sv1::SubmitQuoteRequest r;
        r.set_id(x);
        bad(api.SubmitQuote(r).status, "id");
    }
    {
        sv1::ApproveQuoteRequest r;
        r.set_id(x);
        bad(api.ApproveQuote(r).status, "id");
    }
    {
        sv1::SendQuoteRequest r;
        r.set_id(x);
        bad(api.SendQuote(r).status, "id");
    }
    {
        sv1::AcceptQuoteRequest r;
        r.set_id(x);
        bad(api.AcceptQuote(r).status, "id");
    }
    {
        sv1::RejectQuoteRequest r;
        r.set_id(x);
        bad(api.RejectQuote(r).status, "id");
    }
    {
        sv1::UpdateSalesSettingsRequest r;
        r.mutable_settings()->set_discount_approval_threshold_percent("101");
        bad(api.UpdateSalesSettings(r).status, "settings.discount_approval_threshold_percent");
    }
    {
        sv1::ListForecastSnapshotsRequest r;
        bad(api.ListForecastSnapshots(r).status, "currency_code");
    }
    {
        sv1::GetForecastAccuracyRequest r;
        bad(api.GetForecastAccuracy(r).status, "snapshot_id");
    }
    {
        sv1::CreateActivityRequest r;
        r.set_request_id(std::string(65, 'r'));
        bad(api.CreateActivity(r).status, "request_id");
    }
}

TEST_CASE("sales: the gateway enforces the sales roles", "[integration][sales][authz]") {
    const std::string tenant = UniqueTenant("st");
    SalesClient technician(TokenFor(tenant, {"technician"}));
    SalesClient read_only(TokenFor(tenant, {"read_only"}));
    SalesClient rep(TokenFor(tenant, {"sales_rep"}));
    sv1::ListOpportunitiesRequest list;
    CHECK(technician.ListOpportunities(list).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(read_only.ListOpportunities(list).ok());
    sv1::CreateOpportunityRequest create;
    create.mutable_opportunity()->set_name("x");
    create.mutable_opportunity()->mutable_amount()->set_amount_minor(1);
    create.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    CHECK(read_only.CreateOpportunity(create).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(rep.CreateOpportunity(create).ok());
    sv1::CreateProductRequest product;
    product.mutable_product()->set_name("x");
    CHECK(rep.CreateProduct(product).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(CountRows("products", tenant) == 0);
}
