#pragma once
// Repository of the sales service over PostgreSQL: every method runs one tenant transaction (row-level security
// scopes it), writes its events to the outbox in that same transaction, and returns the resources as the API's
// messages. Input is validated by the API layer before it gets here; what needs the database (ids of the tenant,
// stage rules against the stored stage, price book look-ups) is checked here. Include only from the service's .cpp
// files: it pulls in the generated protos.
#include <crm/sales/v1/sales.pb.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/rpc.hpp"
#include "domain/dates.hpp"
#include "domain/decimal.hpp"
#include "domain/pipeline.hpp"

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::sales::storage {

namespace v1 = crm::sales::v1;
using common::RequestContext;

template <class T>
struct Page {
    std::vector<T> items;
    std::string next_page_token;
};

struct OpportunityQuery {
    int page_size = 50;
    std::string page_token;
    std::string pipeline_id, stage_id, owner_id, status, close_from, close_to, contact_id, company_id;
    bool by_close_date = false;
    bool show_deleted = false;
};

// One quote line as validated by the API (decimals parsed).
struct QuoteLineSpec {
    std::string product_id;
    std::string description;
    domain::Fixed quantity, discount, tax;
    std::optional<std::int64_t> unit_price;  // minor units in the quote currency
    std::string unit_price_currency;         // as given (checked against the quote currency)
};

struct QuoteSpec {
    std::string opportunity_id, title, currency, valid_until;
    std::vector<QuoteLineSpec> lines;
};

struct ForecastQuery {
    domain::Period period;
    std::string currency, pipeline_id, owner_id;
};

// What UpdatePipeline changes: the name and/or the whole new stage list (ids: existing stages, "" = new) with the
// stages it removes. The API layer checked the syntax (UUIDs, stage layout rules).
struct PipelineChange {
    std::optional<std::string> name;
    std::optional<std::vector<domain::StageSpec>> stages;
    std::vector<domain::StageRemoval> removals;
};

struct PipelineUpdate {
    v1::Pipeline pipeline;
    int moved_opportunities = 0;
};

struct Accuracy {
    v1::ForecastSnapshot snapshot;
    v1::ForecastAccuracy total;
    std::vector<v1::ForecastAccuracy> by_owner;
};

class Repository {
  public:
    Repository(common::Db& db, common::Outbox& outbox);

    // Pipelines.
    v1::Pipeline CreatePipeline(const RequestContext& rc, const std::string& name,
                                const std::vector<domain::StageSpec>& stages, const std::string& request_id);
    v1::Pipeline GetPipeline(const RequestContext& rc, const std::string& id);
    v1::Pipeline GetDefaultPipeline(const RequestContext& rc);
    Page<v1::Pipeline> ListPipelines(const RequestContext& rc, int page_size, const std::string& page_token);
    // Renames and/or restructures a pipeline in one transaction: stages updated, added, reordered and archived, the
    // open opportunities of removed stages moved (history rows, OpportunityStageChanged each), PipelineUpdated.
    PipelineUpdate UpdatePipeline(const RequestContext& rc, const std::string& id, const PipelineChange& change,
                                  const std::string& etag);

    // Opportunities (input validated: name, amount >= 0, currency, date, ids).
    v1::Opportunity CreateOpportunity(const RequestContext& rc, const v1::Opportunity& in,
                                      const std::string& request_id);
    v1::Opportunity GetOpportunity(const RequestContext& rc, const std::string& id);
    // The opportunity an earlier CreateOpportunity with this request_id created, if any (a retry returns it as is).
    std::optional<v1::Opportunity> FindCreatedOpportunity(const RequestContext& rc, const std::string& request_id);
    Page<v1::Opportunity> ListOpportunities(const RequestContext& rc, const OpportunityQuery& q);
    v1::Opportunity UpdateOpportunity(const RequestContext& rc, const v1::Opportunity& in,
                                      const std::vector<std::string>& paths, const std::string& etag);
    v1::Opportunity MoveStage(const RequestContext& rc, const std::string& id, const std::string& stage_id,
                              int probability, const std::string& etag);
    v1::Opportunity Close(const RequestContext& rc, const std::string& id, bool won, const std::string& reason,
                          std::optional<std::int64_t> final_amount, const std::string& final_currency,
                          const std::string& etag);
    v1::Opportunity DeleteOpportunity(const RequestContext& rc, const std::string& id, const std::string& etag);
    std::vector<v1::StageHistoryEntry> ListStageHistory(const RequestContext& rc, const std::string& id);

    // Activities.
    v1::Activity CreateActivity(const RequestContext& rc, const v1::Activity& in, const std::string& request_id);
    v1::Activity GetActivity(const RequestContext& rc, const std::string& id);
    v1::Activity UpdateActivity(const RequestContext& rc, const v1::Activity& in, const std::vector<std::string>& paths,
                                const std::string& etag);
    v1::Activity CompleteActivity(const RequestContext& rc, const std::string& id, const std::string& outcome,
                                  const std::string& etag);
    Page<v1::Activity> ListActivities(const RequestContext& rc, v1::RecordType type, const std::string& record_id,
                                      int page_size, const std::string& page_token);
    // Scheduler: publishes ActivityDue for up to `limit` activities whose reminder time passed; returns how many.
    int PublishDueReminders(int limit);

    // Products and price book.
    v1::Product CreateProduct(const RequestContext& rc, const v1::Product& in, const std::string& request_id);
    v1::Product GetProduct(const RequestContext& rc, const std::string& id);
    Page<v1::Product> ListProducts(const RequestContext& rc, bool active_only, int page_size,
                                   const std::string& page_token);
    v1::Product UpdateProduct(const RequestContext& rc, const v1::Product& in, const std::vector<std::string>& paths,
                              const std::string& etag);
    v1::PriceBookEntry SetPriceBookEntry(const RequestContext& rc, const std::string& product_id,
                                         const std::string& currency, std::int64_t unit_price);
    Page<v1::PriceBookEntry> ListPriceBookEntries(const RequestContext& rc, const std::string& product_id,
                                                  const std::string& currency, int page_size,
                                                  const std::string& page_token);

    // Quotes.
    v1::Quote CreateQuote(const RequestContext& rc, const QuoteSpec& spec, const std::string& request_id);
    v1::Quote GetQuote(const RequestContext& rc, const std::string& id);
    Page<v1::Quote> ListQuotes(const RequestContext& rc, const std::string& opportunity_id, int page_size,
                               const std::string& page_token);
    v1::Quote UpdateQuote(const RequestContext& rc, const std::string& id, const std::optional<std::string>& title,
                          const std::optional<std::string>& valid_until,
                          const std::optional<std::vector<QuoteLineSpec>>& lines, const std::string& etag);
    // Status transitions: "submit", "approve", "send", "reject".
    v1::Quote ChangeQuoteStatus(const RequestContext& rc, const std::string& id, const std::string& action,
                                const std::string& reason, const std::string& etag);
    std::pair<v1::Quote, v1::Opportunity> AcceptQuote(const RequestContext& rc, const std::string& id, bool set_amount,
                                                      const std::string& etag);

    // Settings.
    v1::SalesSettings GetSettings(const RequestContext& rc);
    v1::SalesSettings UpdateSettings(const RequestContext& rc, const std::string& threshold, const std::string& etag);

    // Forecast.
    v1::GetForecastResponse GetForecast(const RequestContext& rc, const ForecastQuery& q);
    v1::ForecastSnapshot TakeSnapshot(const RequestContext& rc, const domain::Period& period,
                                      const std::string& currency, const std::string& request_id);
    Page<v1::ForecastSnapshot> ListSnapshots(const RequestContext& rc, const domain::Period& period,
                                             const std::string& currency, int page_size, const std::string& page_token);
    Accuracy GetAccuracy(const RequestContext& rc, const std::string& snapshot_id);
    // Scheduler: for every tenant, takes a snapshot of the current month and quarter per currency with open or won
    // deals in it when the last scheduled one is older than `interval_seconds`; returns how many it took.
    int TakeScheduledSnapshots(long interval_seconds);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

}  // namespace crm::sales::storage
