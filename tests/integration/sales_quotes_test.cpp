// Products, the price book and quotes through the gateway: exact totals by the half-even rule, the approval of large
// discounts by a sales manager (checked by the gateway and again by the service), sending, acceptance that sets the
// deal's amount, and the events of each step.
#include <crm/sales/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "../support/events.hpp"
#include "../support/sales_client.hpp"

using namespace crm::test;
namespace sev = crm::sales::events::v1;

namespace {

sv1::CreateQuoteRequest QuoteOf(const std::string& opportunity, const std::string& product, const std::string& qty,
                                const std::string& discount, const std::string& tax) {
    sv1::CreateQuoteRequest req;
    req.mutable_quote()->set_opportunity_id(opportunity);
    req.mutable_quote()->set_title("Offer");
    auto* line = req.mutable_quote()->add_line_items();
    line->set_product_id(product);
    line->set_quantity(qty);
    line->set_discount_percent(discount);
    line->set_tax_percent(tax);
    return req;
}

}  // namespace

TEST_CASE("sales: 3 x 19.99 with 10% discount and 7.5% tax totals 58.02 EUR, and the quote is accepted into the deal",
          "[integration][sales]") {
    const std::string tenant = UniqueTenant("sq");
    SalesClient manager(TokenFor(tenant, {"sales_manager"}));
    SalesClient rep(TokenFor(tenant, {"sales_rep"}));
    EventTap tap("crm.sales.v1");
    tap.Ignore("crm.sales.events.v1.ForecastSnapshotTaken");  // the scheduler may snapshot the tenant any time

    const sv1::Product widget = manager.MustCreateProduct("Widget", "W-1");
    CHECK(widget.active());
    sv1::SetPriceBookEntryRequest price;
    price.mutable_entry()->set_product_id(widget.id());
    price.mutable_entry()->mutable_unit_price()->set_amount_minor(1999);
    price.mutable_entry()->mutable_unit_price()->set_currency_code("EUR");
    REQUIRE(manager.SetPriceBookEntry(price).ok());
    price.mutable_entry()->mutable_unit_price()->set_amount_minor(2199);
    price.mutable_entry()->mutable_unit_price()->set_currency_code("USD");
    REQUIRE(manager.SetPriceBookEntry(price).ok());
    sv1::ListPriceBookEntriesRequest prices;
    prices.set_product_id(widget.id());
    auto listed = rep.ListPriceBookEntries(prices);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.entries_size() == 2);
    CHECK(listed.response.entries(0).unit_price().currency_code() == "EUR");

    const sv1::Opportunity deal = rep.MustCreateOpportunity("Widgets for ACME", 10000, "EUR");
    auto created = rep.CreateQuote(QuoteOf(deal.id(), widget.id(), "3", "10", "7.5"));
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const sv1::Quote q = created.response.quote();
    CHECK(q.status() == sv1::QUOTE_STATUS_DRAFT);
    CHECK(q.currency_code() == "EUR");
    REQUIRE(q.line_items_size() == 1);
    const auto& line = q.line_items(0);
    CHECK(line.description() == "Widget");
    CHECK(line.unit_price().amount_minor() == 1999);  // from the price book
    CHECK(line.subtotal().amount_minor() == 5997);
    CHECK(line.discount().amount_minor() == 600);  // 5.997 -> 6.00
    CHECK(line.net().amount_minor() == 5397);
    CHECK(line.tax().amount_minor() == 405);  // 4.04775 -> 4.05
    CHECK(line.total().amount_minor() == 5802);
    CHECK(q.total().amount_minor() == 5802);
    CHECK(q.total().currency_code() == "EUR");
    CHECK(q.max_discount_percent() == "10");

    sv1::SubmitQuoteRequest submit;
    submit.set_id(q.id());
    auto submitted = rep.SubmitQuote(submit);
    REQUIRE(submitted.ok());
    CHECK(submitted.response.quote().status() == sv1::QUOTE_STATUS_APPROVED);  // 10% <= the default threshold 20%
    sv1::SendQuoteRequest send;
    send.set_id(q.id());
    REQUIRE(rep.SendQuote(send).ok());
    sv1::AcceptQuoteRequest accept;
    accept.set_id(q.id());
    accept.set_set_opportunity_amount(true);
    auto accepted = rep.AcceptQuote(accept);
    INFO(accepted.status.error_message());
    REQUIRE(accepted.ok());
    CHECK(accepted.response.quote().status() == sv1::QUOTE_STATUS_ACCEPTED);
    CHECK(accepted.response.opportunity().amount().amount_minor() == 5802);
    CHECK(accepted.response.opportunity().accepted_quote_id() == q.id());
    CHECK(rep.AcceptQuote(accept).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

    // product created, 2 prices, deal (+ default pipeline), quote created, submitted, sent, accepted, deal updated.
    auto events = tap.WaitFor(tenant, 10, std::chrono::seconds(20));
    std::vector<std::string> quote_types;
    for (const auto& e : events) {
        if (e.envelope.aggregate_id() == q.id()) quote_types.push_back(e.envelope.event_type());
    }
    CHECK(quote_types ==
          std::vector<std::string>{"crm.sales.events.v1.QuoteCreated", "crm.sales.events.v1.QuoteStatusChanged",
                                   "crm.sales.events.v1.QuoteStatusChanged", "crm.sales.events.v1.QuoteAccepted"});
    int product_events = 0, deal_updates = 0;
    for (const auto& e : events) {
        if (e.envelope.aggregate_id() == widget.id()) {
            ++product_events;
            CHECK(e.envelope.aggregate_version() == product_events);  // 1 created, 2 and 3 the prices
        }
        if (e.envelope.event_type() == "crm.sales.events.v1.OpportunityUpdated") {
            ++deal_updates;
            sev::OpportunityUpdated u;
            REQUIRE(e.envelope.payload().UnpackTo(&u));
            CHECK(u.opportunity().amount().amount_minor() == 5802);
            CHECK(u.previous_amount().amount_minor() == 10000);
        }
    }
    CHECK(product_events == 3);
    CHECK(deal_updates == 1);
}

TEST_CASE("sales: a discount above the tenant's threshold needs a sales manager's approval", "[integration][sales]") {
    const std::string tenant = UniqueTenant("sq");
    SalesClient manager(TokenFor(tenant, {"sales_manager"}));
    SalesClient rep(TokenFor(tenant, {"sales_rep"}));
    sv1::UpdateSalesSettingsRequest settings;
    settings.mutable_settings()->set_discount_approval_threshold_percent("15");
    CHECK(rep.UpdateSalesSettings(settings).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    auto set = manager.UpdateSalesSettings(settings);
    REQUIRE(set.ok());
    CHECK(set.response.settings().discount_approval_threshold_percent() == "15");

    const sv1::Opportunity deal = rep.MustCreateOpportunity("Big discount", 100000, "EUR");
    sv1::CreateQuoteRequest req;
    req.mutable_quote()->set_opportunity_id(deal.id());
    req.mutable_quote()->set_title("Discounted");
    auto* line = req.mutable_quote()->add_line_items();
    line->set_description("Consulting day");
    line->set_quantity("2.5");
    line->mutable_unit_price()->set_amount_minor(80000);
    line->mutable_unit_price()->set_currency_code("EUR");
    line->set_discount_percent("15.01");
    line->set_tax_percent("19");
    auto created = rep.CreateQuote(req);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const sv1::Quote q = created.response.quote();
    // 2.5 x 800.00 = 2000.00; discount 15.01% = 300.20; net 1699.80; tax 19% = 322.962 -> 322.96; total 2022.76.
    CHECK(q.subtotal().amount_minor() == 200000);
    CHECK(q.discount_total().amount_minor() == 30020);
    CHECK(q.net_total().amount_minor() == 169980);
    CHECK(q.tax_total().amount_minor() == 32296);
    CHECK(q.total().amount_minor() == 202276);

    sv1::SubmitQuoteRequest submit;
    submit.set_id(q.id());
    auto submitted = rep.SubmitQuote(submit);
    REQUIRE(submitted.ok());
    CHECK(submitted.response.quote().status() == sv1::QUOTE_STATUS_NEEDS_APPROVAL);
    sv1::SendQuoteRequest send;
    send.set_id(q.id());
    CHECK(rep.SendQuote(send).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

    sv1::ApproveQuoteRequest approve;
    approve.set_id(q.id());
    // The gateway refuses a rep; the service itself refuses a rep's signed identity that reaches it directly.
    CHECK(rep.ApproveQuote(approve).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    SalesClient direct("", DirectChannel("CRM_TEST_SALES"));
    auto direct_rep = direct.ApproveQuote(approve, SignedIdentity(tenant, {"sales_rep"}));
    CHECK(direct_rep.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    sv1::GetQuoteRequest get;
    get.set_id(q.id());
    CHECK(rep.GetQuote(get).response.quote().status() == sv1::QUOTE_STATUS_NEEDS_APPROVAL);

    auto approved = manager.ApproveQuote(approve);
    REQUIRE(approved.ok());
    CHECK(approved.response.quote().status() == sv1::QUOTE_STATUS_APPROVED);
    CHECK(approved.response.quote().approved_by() == "test-user");
    REQUIRE(rep.SendQuote(send).ok());
    sv1::RejectQuoteRequest reject;
    reject.set_id(q.id());
    CHECK(rep.RejectQuote(reject).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    reject.set_reason("budget cut");
    auto rejected = rep.RejectQuote(reject);
    REQUIRE(rejected.ok());
    CHECK(rejected.response.quote().status() == sv1::QUOTE_STATUS_REJECTED);
    CHECK(rejected.response.quote().rejection_reason() == "budget cut");
}

TEST_CASE("sales: draft quotes are updated with recomputed totals - bad quote input writes nothing",
          "[integration][sales]") {
    const std::string tenant = UniqueTenant("sq");
    SalesClient manager(TokenFor(tenant, {"sales_manager"}));
    const sv1::Opportunity deal = manager.MustCreateOpportunity("Quote edits", 1, "EUR");
    const sv1::Product unpriced = manager.MustCreateProduct("Unpriced");

    auto bad = QuoteOf(deal.id(), "", "three", "150", "7.5.1");
    bad.mutable_quote()->set_title("");
    bad.mutable_quote()->set_currency_code("euro");
    auto refused = manager.CreateQuote(bad);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"quote.title", "quote.currency_code", "quote.line_items[0].quantity", "quote.line_items[0].discount_percent",
          "quote.line_items[0].tax_percent", "quote.line_items[0].description", "quote.line_items[0].unit_price"}) {
        INFO(field);
        CHECK(HasViolation(refused.status, field));
    }
    sv1::CreateQuoteRequest empty;
    empty.mutable_quote()->set_opportunity_id(deal.id());
    empty.mutable_quote()->set_title("No lines");
    CHECK(HasViolation(manager.CreateQuote(empty).status, "quote.line_items"));
    auto no_price = manager.CreateQuote(QuoteOf(deal.id(), unpriced.id(), "1", "", ""));
    CHECK(no_price.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(no_price.status) == "NO_PRICE_BOOK_ENTRY");
    CHECK(CountRows("quotes", tenant) == 0);

    auto req = QuoteOf(deal.id(), unpriced.id(), "1", "", "");
    req.mutable_quote()->mutable_line_items(0)->mutable_unit_price()->set_amount_minor(333);
    req.set_request_id("quote-1");
    auto created = manager.CreateQuote(req);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    CHECK(created.response.quote().total().amount_minor() == 333);
    CHECK(manager.CreateQuote(req).response.quote().id() == created.response.quote().id());
    CHECK(CountRows("quotes", tenant) == 1);

    sv1::UpdateQuoteRequest update;
    update.mutable_quote()->set_id(created.response.quote().id());
    auto* l = update.mutable_quote()->add_line_items();
    l->set_description("Half units");
    l->set_quantity("0.5");
    l->mutable_unit_price()->set_amount_minor(101);  // 0.505 -> 0.50 (half-even)
    update.mutable_update_mask()->add_paths("line_items");
    auto updated = manager.UpdateQuote(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.quote().total().amount_minor() == 50);
    CHECK(updated.response.quote().version() == 2);

    sv1::SubmitQuoteRequest submit;
    submit.set_id(created.response.quote().id());
    REQUIRE(manager.SubmitQuote(submit).ok());
    CHECK(manager.UpdateQuote(update).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

    sv1::ListQuotesRequest list;
    list.set_opportunity_id(deal.id());
    auto quotes = manager.ListQuotes(list);
    REQUIRE(quotes.ok());
    CHECK(quotes.response.quotes_size() == 1);

    sv1::CreateProductRequest dup;
    dup.mutable_product()->set_name("Other");
    dup.mutable_product()->set_sku("SKU-DUP");
    REQUIRE(manager.CreateProduct(dup).ok());
    CHECK(manager.CreateProduct(dup).status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    sv1::UpdateProductRequest deactivate;
    deactivate.mutable_product()->set_id(unpriced.id());
    deactivate.mutable_update_mask()->add_paths("active");
    auto inactive = manager.UpdateProduct(deactivate);
    REQUIRE(inactive.ok());
    CHECK_FALSE(inactive.response.product().active());
    auto with_inactive = QuoteOf(deal.id(), unpriced.id(), "1", "", "");
    with_inactive.mutable_quote()->mutable_line_items(0)->mutable_unit_price()->set_amount_minor(1);
    auto r = manager.CreateQuote(with_inactive);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(r.status, "quote.line_items[0].product_id"));
    sv1::ListProductsRequest active_only;
    active_only.set_active_only(true);
    CHECK(manager.ListProducts(active_only).response.products_size() == 1);
}

TEST_CASE("sales: the service's own metrics move with the calls", "[integration][sales][metrics]") {
    const std::string address = RequireEnv("CRM_TEST_SALES_METRICS");
    SalesClient api(TokenFor(UniqueTenant("sm"), {"sales_manager"}));
    const std::string before = ScrapeMetrics(address);
    const sv1::Opportunity deal = api.MustCreateOpportunity("Metered", 100, "EUR");
    sv1::WinOpportunityRequest win;
    win.set_id(deal.id());
    REQUIRE(api.WinOpportunity(win).ok());
    const std::string after = ScrapeMetrics(address);
    const std::vector<std::string> won = {"outcome=\"won\""};
    CHECK(MetricSample(after, "crm_sales_opportunities_closed_total", won) >=
          std::max(0.0, MetricSample(before, "crm_sales_opportunities_closed_total", won)) + 1);
    const std::vector<std::string> handled = {"service=\"sales\"", "method=\"WinOpportunity\"", "code=\"OK\""};
    CHECK(MetricSample(after, "crm_grpc_server_handled_total", handled) >=
          std::max(0.0, MetricSample(before, "crm_grpc_server_handled_total", handled)) + 1);
    CHECK(after.find("crm_sales_reminders_published_total") != std::string::npos);
    CHECK(MetricSample(after, "crm_db_query_duration_seconds_count", {"query=\"sales_opportunity_move\""}) > 0);
}
