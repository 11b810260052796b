#include "api/sales_service.hpp"

#include <crm/sales/v1/sales.grpc.pb.h>
#include <google/protobuf/util/time_util.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>

#include "api/links.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "domain/dates.hpp"
#include "domain/decimal.hpp"
#include "domain/pipeline.hpp"
#include "storage/repository.hpp"

namespace crm::sales::api {
namespace {

using common::ApiError;
using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;
using storage::Repository;

constexpr std::size_t kMaxOwnerLength = 128;
constexpr int kMaxLines = 100;
constexpr std::int64_t kMaxQuantityUnits = 1'000'000'000;  // 1,000,000 at scale 3

// Collects the problems of one request so that the client hears all of them at once.
class Checks {
  public:
    std::string Id(const std::string& value, const std::string& field) {
        return common::CheckId(errors_, value, field);
    }
    std::string OptionalId(const std::string& value, const std::string& field) {
        return value.empty() ? std::string() : Id(value, field);
    }
    void RequestId(const std::string& value) { common::CheckRequestId(errors_, value); }
    void Text(const std::string& value, const std::string& field, bool required, std::size_t max) {
        if (required && value.empty()) Add(field, "required");
        if (value.size() > max) Add(field, "at most " + std::to_string(max) + " characters");
    }
    void Currency(const std::string& value, const std::string& field) {
        const bool ok =
            value.size() == 3 && std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
        if (!ok) Add(field, "an ISO 4217 code of three upper-case letters, e.g. EUR");
    }
    void Money(const crm::common::v1::Money& m, const std::string& field) {
        if (m.amount_minor() < 0) Add(field + ".amount_minor", "must not be negative");
        Currency(m.currency_code(), field + ".currency_code");
    }
    void Date(const std::string& value, const std::string& field) {
        if (!value.empty() && !domain::ParseDate(value)) Add(field, "a date YYYY-MM-DD");
    }
    void Time(const google::protobuf::Timestamp& t, bool present, const std::string& field) {
        if (present && (t.seconds() < 0 || t.seconds() > 253402300799 || t.nanos() < 0 || t.nanos() > 999999999)) {
            Add(field, "is not a valid timestamp");
        }
    }
    void Probability(int value, const std::string& field) {
        if (value < 0 || value > 100) Add(field, "0 to 100");
    }
    std::optional<domain::Fixed> Decimal(const std::string& value, int scale, const std::string& field,
                                         const std::string& what) {
        auto parsed = domain::ParseFixed(value, scale);
        if (!parsed) Add(field, what);
        return parsed;
    }
    void Add(const std::string& field, const std::string& description) { errors_.Add(field, description); }
    void Append(const common::Violations& more) { errors_.Append(more.list()); }
    void ThrowIfAny() const { errors_.ThrowIfAny(); }

  private:
    common::Violations errors_;
};

std::string Etag(const std::string& request, const std::string& resource) {
    return request.empty() ? resource : request;
}

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
    return {mask.paths().begin(), mask.paths().end()};
}

// The effective paths of an update: the mask ("*" = all), or the non-empty fields when there is none.
std::vector<std::string> Effective(const std::vector<std::string>& mask, const std::vector<std::string>& allowed,
                                   const std::function<bool(const std::string&)>& is_set) {
    if (mask.size() == 1 && mask[0] == "*") return allowed;
    if (!mask.empty()) {
        common::ValidateUpdateMask(mask, allowed);
        return mask;
    }
    std::vector<std::string> out;
    for (const auto& p : allowed) {
        if (is_set(p)) out.push_back(p);
    }
    if (out.empty()) throw ApiError::InvalidArgument("update_mask", "nothing to update: name the fields to change");
    return out;
}

bool IsManager(const RequestContext& rc) { return rc.HasRole("sales_manager") || rc.HasRole("admin"); }

std::vector<domain::StageSpec> StagesFrom(const google::protobuf::RepeatedPtrField<v1::Stage>& stages) {
    std::vector<domain::StageSpec> out;
    for (const auto& s : stages) {
        out.push_back({s.id(), s.name(), s.probability(), static_cast<domain::Category>(s.forecast_category())});
    }
    return out;
}

domain::Period PeriodFrom(Checks& checks, const v1::Period& p, const std::string& field) {
    if (p.type() != v1::PERIOD_TYPE_MONTH && p.type() != v1::PERIOD_TYPE_QUARTER) {
        checks.Add(field + ".type", "PERIOD_TYPE_MONTH or PERIOD_TYPE_QUARTER");
    }
    const auto day = domain::ParseDate(p.start_date());
    if (!day) checks.Add(field + ".start_date", "a date YYYY-MM-DD in the period");
    return domain::PeriodContaining(static_cast<domain::PeriodType>(p.type()), day.value_or(0));
}

void CheckOpportunityFields(Checks& c, const v1::Opportunity& o, const std::string& at, bool create,
                            const std::vector<std::string>& paths) {
    auto touched = [&](const char* p) { return create || std::find(paths.begin(), paths.end(), p) != paths.end(); };
    if (touched("name")) c.Text(o.name(), at + ".name", true, domain::kMaxNameLength);
    if (create) {
        if (!o.has_amount())
            c.Add(at + ".amount", "required");
        else
            c.Money(o.amount(), at + ".amount");
        c.OptionalId(o.pipeline_id(), at + ".pipeline_id");
        c.OptionalId(o.stage_id(), at + ".stage_id");
    } else if (touched("amount")) {
        if (o.amount().amount_minor() < 0) c.Add(at + ".amount.amount_minor", "must not be negative");
    }
    if (touched("probability")) {
        c.Probability(o.probability(), at + ".probability");
        if (!create && o.probability() == 0) {
            // 0 is a valid probability on update (a deal judged hopeless but still open).
        }
    }
    if (touched("expected_close_date")) c.Date(o.expected_close_date(), at + ".expected_close_date");
    if (touched("owner_id")) c.Text(o.owner_id(), at + ".owner_id", false, kMaxOwnerLength);
    if (touched("contact_id")) c.OptionalId(o.contact_id(), at + ".contact_id");
    if (touched("company_id")) c.OptionalId(o.company_id(), at + ".company_id");
    if (touched("source_campaign_id"))
        c.Text(o.source_campaign_id(), at + ".source_campaign_id", false, kMaxOwnerLength);
    if (touched("lead_id")) c.OptionalId(o.lead_id(), at + ".lead_id");
    if (touched("description")) c.Text(o.description(), at + ".description", false, domain::kMaxTextLength);
}

// Lowercases the UUIDs of an opportunity's links (CheckId accepts either case).
void NormalizeIds(v1::Opportunity& o) {
    auto lower = [](std::string s) {
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        return s;
    };
    o.set_id(lower(o.id()));
    o.set_pipeline_id(lower(o.pipeline_id()));
    o.set_stage_id(lower(o.stage_id()));
    o.set_contact_id(lower(o.contact_id()));
    o.set_company_id(lower(o.company_id()));
    o.set_lead_id(lower(o.lead_id()));
}

std::vector<storage::QuoteLineSpec> LinesFrom(Checks& c,
                                              const google::protobuf::RepeatedPtrField<v1::QuoteLineItem>& lines) {
    std::vector<storage::QuoteLineSpec> out;
    if (lines.empty() || lines.size() > kMaxLines) c.Add("quote.line_items", "1 to 100 line items");
    for (int i = 0; i < lines.size(); ++i) {
        const auto& l = lines[i];
        const std::string at = "quote.line_items[" + std::to_string(i) + "]";
        storage::QuoteLineSpec s;
        s.product_id = c.OptionalId(l.product_id(), at + ".product_id");
        s.description = l.description();
        if (l.product_id().empty() && l.description().empty()) c.Add(at + ".description", "required without a product");
        c.Text(l.description(), at + ".description", false, domain::kMaxNameLength);
        if (auto q = c.Decimal(l.quantity(), domain::kQuantityScale, at + ".quantity",
                               "a decimal > 0 with at most 3 decimal places, e.g. \"2.5\"")) {
            if (q->units <= 0 || q->units > kMaxQuantityUnits)
                c.Add(at + ".quantity", "greater than 0, at most 1000000");
            s.quantity = *q;
        }
        if (l.has_unit_price()) {
            if (l.unit_price().amount_minor() < 0) c.Add(at + ".unit_price.amount_minor", "must not be negative");
            s.unit_price = l.unit_price().amount_minor();
            s.unit_price_currency = l.unit_price().currency_code();
        } else if (l.product_id().empty()) {
            c.Add(at + ".unit_price", "required without a product");
        }
        const std::string discount = l.discount_percent().empty() ? "0" : l.discount_percent();
        if (auto d = c.Decimal(discount, domain::kDiscountScale, at + ".discount_percent",
                               "a percentage 0 to 100 with at most 2 decimal places")) {
            if (d->units > 100 * domain::Pow10(domain::kDiscountScale)) c.Add(at + ".discount_percent", "0 to 100");
            s.discount = *d;
        }
        const std::string tax = l.tax_percent().empty() ? "0" : l.tax_percent();
        if (auto t = c.Decimal(tax, domain::kTaxScale, at + ".tax_percent",
                               "a percentage 0 to 100 with at most 3 decimal places")) {
            if (t->units > 100 * domain::Pow10(domain::kTaxScale)) c.Add(at + ".tax_percent", "0 to 100");
            s.tax = *t;
        }
        out.push_back(std::move(s));
    }
    return out;
}

// The service's own metrics (crm_sales_*), next to the standard RPC metrics of the common runtime.
struct SalesMetrics {
    prometheus::Family<prometheus::Counter>& closed;
    prometheus::Counter& won;
    prometheus::Counter& lost;
    prometheus::Family<prometheus::Counter>& stage_changes_family;
    prometheus::Counter& stage_changes;
    prometheus::Family<prometheus::Counter>& quotes_family;
    prometheus::Counter& quotes_needing_approval;
    prometheus::Counter& quotes_accepted;
    prometheus::Counter& snapshots_manual;

    explicit SalesMetrics(common::Metrics& m)
        : closed(prometheus::BuildCounter()
                     .Name("crm_sales_opportunities_closed_total")
                     .Help("Opportunities closed, by outcome.")
                     .Register(m.registry())),
          won(closed.Add({{"outcome", "won"}})),
          lost(closed.Add({{"outcome", "lost"}})),
          stage_changes_family(prometheus::BuildCounter()
                                   .Name("crm_sales_stage_changes_total")
                                   .Help("Opportunities moved to another open stage.")
                                   .Register(m.registry())),
          stage_changes(stage_changes_family.Add({})),
          quotes_family(prometheus::BuildCounter()
                            .Name("crm_sales_quote_transitions_total")
                            .Help("Quote status transitions, by resulting status.")
                            .Register(m.registry())),
          quotes_needing_approval(quotes_family.Add({{"status", "needs_approval"}})),
          quotes_accepted(quotes_family.Add({{"status", "accepted"}})),
          snapshots_manual(prometheus::BuildCounter()
                               .Name("crm_sales_forecast_snapshots_total")
                               .Help("Forecast snapshots taken, by trigger.")
                               .Register(m.registry())
                               .Add({{"trigger", "manual"}})) {}
};

class SalesService final : public v1::SalesService::Service {
  public:
    SalesService(common::RpcRuntime& rpc, common::Metrics& metrics, std::shared_ptr<Repository> repo,
                 std::shared_ptr<const ContactLinks> links)
        : rpc_(rpc), metrics_(metrics), repo_(std::move(repo)), links_(std::move(links)) {}

    // ---- pipelines

    Status CreatePipeline(ServerContext* sc, const v1::CreatePipelineRequest* req,
                          v1::CreatePipelineResponse* resp) override {
        return rpc_.Handle(sc, "CreatePipeline", [&](const RequestContext& rc) {
            Checks c;
            c.RequestId(req->request_id());
            c.Text(req->pipeline().name(), "pipeline.name", true, domain::kMaxNameLength);
            common::Violations stages;
            domain::ValidateStages(StagesFrom(req->pipeline().stages()), "pipeline.stages", stages);
            c.Append(stages);
            c.ThrowIfAny();
            *resp->mutable_pipeline() = repo_->CreatePipeline(rc, req->pipeline().name(),
                                                              StagesFrom(req->pipeline().stages()), req->request_id());
        });
    }

    Status GetPipeline(ServerContext* sc, const v1::GetPipelineRequest* req, v1::GetPipelineResponse* resp) override {
        return rpc_.Handle(sc, "GetPipeline", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.ThrowIfAny();
            *resp->mutable_pipeline() = repo_->GetPipeline(rc, id);
        });
    }

    Status GetDefaultPipeline(ServerContext* sc, const v1::GetDefaultPipelineRequest*,
                              v1::GetDefaultPipelineResponse* resp) override {
        return rpc_.Handle(sc, "GetDefaultPipeline", [&](const RequestContext& rc) {
            *resp->mutable_pipeline() = repo_->GetDefaultPipeline(rc);
        });
    }

    Status ListPipelines(ServerContext* sc, const v1::ListPipelinesRequest* req,
                         v1::ListPipelinesResponse* resp) override {
        return rpc_.Handle(sc, "ListPipelines", [&](const RequestContext& rc) {
            const int size = common::ResolvePageSize(req->page_size());
            auto page = repo_->ListPipelines(rc, size, req->page_token());
            for (auto& p : page.items) *resp->add_pipelines() = std::move(p);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status UpdatePipeline(ServerContext* sc, const v1::UpdatePipelineRequest* req,
                          v1::UpdatePipelineResponse* resp) override {
        return rpc_.Handle(sc, "UpdatePipeline", [&](const RequestContext& rc) {
            Checks c;
            const auto& p = req->pipeline();
            const std::string id = c.Id(p.id(), "pipeline.id");
            c.ThrowIfAny();
            const auto paths = Effective(MaskPaths(req->update_mask()), {"name", "stages"}, [&](const std::string& f) {
                return f == "name" ? !p.name().empty() : p.stages_size() > 0;
            });
            storage::PipelineChange change;
            for (const auto& f : paths) {
                if (f == "name") {
                    c.Text(p.name(), "pipeline.name", true, domain::kMaxNameLength);
                    change.name = p.name();
                }
                if (f == "stages") {
                    common::Violations v;
                    auto specs = StagesFrom(p.stages());
                    domain::ValidateStages(specs, "pipeline.stages", v);
                    c.Append(v);
                    for (int i = 0; i < p.stages_size(); ++i) {  // an empty id adds a stage
                        specs[static_cast<std::size_t>(i)].id =
                            c.OptionalId(p.stages(i).id(), "pipeline.stages[" + std::to_string(i) + "].id");
                    }
                    change.stages = std::move(specs);
                }
            }
            if (req->removed_stages_size() > 0 && !change.stages) {
                c.Add("removed_stages", "stages are removed only together with the stages path (the new stage list)");
            }
            if (req->removed_stages_size() > domain::kMaxStages) c.Add("removed_stages", "at most 7 stages");
            for (int j = 0; j < req->removed_stages_size() && j < domain::kMaxStages; ++j) {
                const auto& r = req->removed_stages(j);
                const std::string at = "removed_stages[" + std::to_string(j) + "]";
                change.removals.push_back(
                    {c.Id(r.stage_id(), at + ".stage_id"), c.OptionalId(r.move_open_opportunities_to_stage_id(),
                                                                        at + ".move_open_opportunities_to_stage_id")});
            }
            c.ThrowIfAny();
            auto updated = repo_->UpdatePipeline(rc, id, change, Etag(req->etag(), p.etag()));
            if (updated.moved_opportunities > 0) metrics_.stage_changes.Increment(updated.moved_opportunities);
            *resp->mutable_pipeline() = std::move(updated.pipeline);
        });
    }

    // ---- opportunities

    Status CreateOpportunity(ServerContext* sc, const v1::CreateOpportunityRequest* req,
                             v1::CreateOpportunityResponse* resp) override {
        return rpc_.Handle(sc, "CreateOpportunity", [&](const RequestContext& rc) {
            Checks c;
            c.RequestId(req->request_id());
            CheckOpportunityFields(c, req->opportunity(), "opportunity", true, {});
            c.ThrowIfAny();
            v1::Opportunity in = req->opportunity();
            NormalizeIds(in);
            // A retry returns the first deal as it is, without checking its links again.
            if (auto first = repo_->FindCreatedOpportunity(rc, req->request_id())) {
                *resp->mutable_opportunity() = std::move(*first);
                return;
            }
            links_->Check(rc, in.contact_id(), in.company_id(), "opportunity");
            *resp->mutable_opportunity() = repo_->CreateOpportunity(rc, in, req->request_id());
        });
    }

    Status GetOpportunity(ServerContext* sc, const v1::GetOpportunityRequest* req,
                          v1::GetOpportunityResponse* resp) override {
        return rpc_.Handle(sc, "GetOpportunity", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.ThrowIfAny();
            *resp->mutable_opportunity() = repo_->GetOpportunity(rc, id);
        });
    }

    Status ListOpportunities(ServerContext* sc, const v1::ListOpportunitiesRequest* req,
                             v1::ListOpportunitiesResponse* resp) override {
        return rpc_.Handle(sc, "ListOpportunities", [&](const RequestContext& rc) {
            Checks c;
            storage::OpportunityQuery q;
            q.page_size = common::ResolvePageSize(req->page_size());
            q.page_token = req->page_token();
            q.pipeline_id = c.OptionalId(req->pipeline_id(), "pipeline_id");
            q.stage_id = c.OptionalId(req->stage_id(), "stage_id");
            q.contact_id = c.OptionalId(req->contact_id(), "contact_id");
            q.company_id = c.OptionalId(req->company_id(), "company_id");
            c.Text(req->owner_id(), "owner_id", false, kMaxOwnerLength);
            q.owner_id = req->owner_id();
            if (req->status() != v1::OPPORTUNITY_STATUS_UNSPECIFIED) {
                if (!v1::OpportunityStatus_IsValid(req->status()))
                    c.Add("status", "unknown status");
                else
                    q.status = domain::StatusText(static_cast<domain::DealStatus>(req->status()));
            }
            c.Date(req->close_date_from(), "close_date_from");
            c.Date(req->close_date_to(), "close_date_to");
            q.close_from = req->close_date_from();
            q.close_to = req->close_date_to();
            if (!v1::OpportunityOrder_IsValid(req->order_by())) c.Add("order_by", "unknown order");
            q.by_close_date = req->order_by() == v1::OPPORTUNITY_ORDER_EXPECTED_CLOSE_DATE;
            q.show_deleted = req->show_deleted();
            c.ThrowIfAny();
            auto page = repo_->ListOpportunities(rc, q);
            for (auto& o : page.items) *resp->add_opportunities() = std::move(o);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status UpdateOpportunity(ServerContext* sc, const v1::UpdateOpportunityRequest* req,
                             v1::UpdateOpportunityResponse* resp) override {
        return rpc_.Handle(sc, "UpdateOpportunity", [&](const RequestContext& rc) {
            Checks c;
            const auto& o = req->opportunity();
            c.Id(o.id(), "opportunity.id");
            c.ThrowIfAny();
            static const std::vector<std::string> kAllowed = {
                "name",     "amount",     "probability", "expected_close_date",
                "owner_id", "contact_id", "company_id",  "source_campaign_id",
                "lead_id",  "description"};
            const auto paths = Effective(MaskPaths(req->update_mask()), kAllowed, [&](const std::string& f) {
                if (f == "name") return !o.name().empty();
                if (f == "amount") return o.has_amount();
                if (f == "probability") return o.probability() != 0;
                if (f == "expected_close_date") return !o.expected_close_date().empty();
                if (f == "owner_id") return !o.owner_id().empty();
                if (f == "contact_id") return !o.contact_id().empty();
                if (f == "company_id") return !o.company_id().empty();
                if (f == "source_campaign_id") return !o.source_campaign_id().empty();
                if (f == "lead_id") return !o.lead_id().empty();
                return !o.description().empty();
            });
            CheckOpportunityFields(c, o, "opportunity", false, paths);
            c.ThrowIfAny();
            v1::Opportunity in = o;
            NormalizeIds(in);
            // Links are checked only when the update sets them to another record (one read here, then contacts).
            auto sets = [&](const char* path, const std::string& value) {
                return !value.empty() && std::find(paths.begin(), paths.end(), path) != paths.end();
            };
            if (sets("contact_id", in.contact_id()) || sets("company_id", in.company_id())) {
                const v1::Opportunity current = repo_->GetOpportunity(rc, in.id());
                if (current.status() == v1::OPPORTUNITY_STATUS_OPEN && !current.has_delete_time()) {
                    links_->Check(
                        rc,
                        sets("contact_id", in.contact_id()) && in.contact_id() != current.contact_id() ? in.contact_id()
                                                                                                       : std::string(),
                        sets("company_id", in.company_id()) && in.company_id() != current.company_id() ? in.company_id()
                                                                                                       : std::string(),
                        "opportunity");
                }  // a closed or deleted deal is refused by the update itself
            }
            *resp->mutable_opportunity() = repo_->UpdateOpportunity(rc, in, paths, Etag(req->etag(), o.etag()));
        });
    }

    Status MoveOpportunityStage(ServerContext* sc, const v1::MoveOpportunityStageRequest* req,
                                v1::MoveOpportunityStageResponse* resp) override {
        return rpc_.Handle(sc, "MoveOpportunityStage", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            const std::string stage = c.Id(req->stage_id(), "stage_id");
            c.Probability(req->probability(), "probability");
            c.ThrowIfAny();
            *resp->mutable_opportunity() = repo_->MoveStage(rc, id, stage, req->probability(), req->etag());
            metrics_.stage_changes.Increment();
        });
    }

    Status WinOpportunity(ServerContext* sc, const v1::WinOpportunityRequest* req,
                          v1::WinOpportunityResponse* resp) override {
        return rpc_.Handle(sc, "WinOpportunity", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            if (req->has_amount()) c.Money(req->amount(), "amount");
            c.ThrowIfAny();
            std::optional<std::int64_t> amount;
            if (req->has_amount()) amount = req->amount().amount_minor();
            *resp->mutable_opportunity() =
                repo_->Close(rc, id, true, "", amount, req->amount().currency_code(), req->etag());
            metrics_.won.Increment();
        });
    }

    Status LoseOpportunity(ServerContext* sc, const v1::LoseOpportunityRequest* req,
                           v1::LoseOpportunityResponse* resp) override {
        return rpc_.Handle(sc, "LoseOpportunity", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.Text(req->reason(), "reason", true, domain::kMaxNameLength);
            c.ThrowIfAny();
            *resp->mutable_opportunity() = repo_->Close(rc, id, false, req->reason(), std::nullopt, "", req->etag());
            metrics_.lost.Increment();
        });
    }

    Status DeleteOpportunity(ServerContext* sc, const v1::DeleteOpportunityRequest* req,
                             v1::DeleteOpportunityResponse* resp) override {
        return rpc_.Handle(sc, "DeleteOpportunity", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.ThrowIfAny();
            *resp->mutable_opportunity() = repo_->DeleteOpportunity(rc, id, req->etag());
        });
    }

    Status ListStageHistory(ServerContext* sc, const v1::ListStageHistoryRequest* req,
                            v1::ListStageHistoryResponse* resp) override {
        return rpc_.Handle(sc, "ListStageHistory", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->opportunity_id(), "opportunity_id");
            c.ThrowIfAny();
            for (auto& e : repo_->ListStageHistory(rc, id)) *resp->add_entries() = std::move(e);
        });
    }

    // ---- activities

    Status CreateActivity(ServerContext* sc, const v1::CreateActivityRequest* req,
                          v1::CreateActivityResponse* resp) override {
        return rpc_.Handle(sc, "CreateActivity", [&](const RequestContext& rc) {
            Checks c;
            c.RequestId(req->request_id());
            v1::Activity a = req->activity();
            if (a.type() == v1::ACTIVITY_TYPE_UNSPECIFIED || !v1::ActivityType_IsValid(a.type())) {
                c.Add("activity.type", "CALL, EMAIL, MEETING or TASK");
            }
            c.Text(a.subject(), "activity.subject", true, domain::kMaxNameLength);
            c.Text(a.description(), "activity.description", false, domain::kMaxTextLength);
            c.Text(a.owner_id(), "activity.owner_id", false, kMaxOwnerLength);
            a.set_lead_id(c.OptionalId(a.lead_id(), "activity.lead_id"));
            a.set_contact_id(c.OptionalId(a.contact_id(), "activity.contact_id"));
            a.set_company_id(c.OptionalId(a.company_id(), "activity.company_id"));
            a.set_opportunity_id(c.OptionalId(a.opportunity_id(), "activity.opportunity_id"));
            if (req->activity().lead_id().empty() && req->activity().contact_id().empty() &&
                req->activity().company_id().empty() && req->activity().opportunity_id().empty()) {
                c.Add("activity", "link it to at least one lead, contact, company or opportunity");
            }
            CheckTimes(c, a);
            c.ThrowIfAny();
            *resp->mutable_activity() = repo_->CreateActivity(rc, a, req->request_id());
        });
    }

    Status GetActivity(ServerContext* sc, const v1::GetActivityRequest* req, v1::GetActivityResponse* resp) override {
        return rpc_.Handle(sc, "GetActivity", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.ThrowIfAny();
            *resp->mutable_activity() = repo_->GetActivity(rc, id);
        });
    }

    Status UpdateActivity(ServerContext* sc, const v1::UpdateActivityRequest* req,
                          v1::UpdateActivityResponse* resp) override {
        return rpc_.Handle(sc, "UpdateActivity", [&](const RequestContext& rc) {
            Checks c;
            v1::Activity a = req->activity();
            a.set_id(c.Id(a.id(), "activity.id"));
            c.ThrowIfAny();
            const auto paths =
                Effective(MaskPaths(req->update_mask()),
                          {"subject", "description", "due_time", "remind_time", "owner_id"}, [&](const std::string& f) {
                              if (f == "subject") return !a.subject().empty();
                              if (f == "description") return !a.description().empty();
                              if (f == "due_time") return a.has_due_time();
                              if (f == "remind_time") return a.has_remind_time();
                              return !a.owner_id().empty();
                          });
            for (const auto& f : paths) {
                if (f == "subject") c.Text(a.subject(), "activity.subject", true, domain::kMaxNameLength);
                if (f == "description") c.Text(a.description(), "activity.description", false, domain::kMaxTextLength);
                if (f == "owner_id") c.Text(a.owner_id(), "activity.owner_id", false, kMaxOwnerLength);
            }
            CheckTimes(c, a);
            c.ThrowIfAny();
            *resp->mutable_activity() = repo_->UpdateActivity(rc, a, paths, Etag(req->etag(), a.etag()));
        });
    }

    Status CompleteActivity(ServerContext* sc, const v1::CompleteActivityRequest* req,
                            v1::CompleteActivityResponse* resp) override {
        return rpc_.Handle(sc, "CompleteActivity", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.Text(req->outcome(), "outcome", false, domain::kMaxTextLength);
            c.ThrowIfAny();
            *resp->mutable_activity() = repo_->CompleteActivity(rc, id, req->outcome(), req->etag());
        });
    }

    Status ListActivities(ServerContext* sc, const v1::ListActivitiesRequest* req,
                          v1::ListActivitiesResponse* resp) override {
        return rpc_.Handle(sc, "ListActivities", [&](const RequestContext& rc) {
            Checks c;
            const int size = common::ResolvePageSize(req->page_size());
            if (req->record_type() == v1::RECORD_TYPE_UNSPECIFIED || !v1::RecordType_IsValid(req->record_type())) {
                c.Add("record_type", "LEAD, CONTACT, COMPANY or OPPORTUNITY");
            }
            const std::string id = c.Id(req->record_id(), "record_id");
            c.ThrowIfAny();
            auto page = repo_->ListActivities(rc, req->record_type(), id, size, req->page_token());
            for (auto& a : page.items) *resp->add_activities() = std::move(a);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    // ---- products and price book

    Status CreateProduct(ServerContext* sc, const v1::CreateProductRequest* req,
                         v1::CreateProductResponse* resp) override {
        return rpc_.Handle(sc, "CreateProduct", [&](const RequestContext& rc) {
            Checks c;
            c.RequestId(req->request_id());
            CheckProduct(c, req->product(), {"name", "sku", "description"});
            c.ThrowIfAny();
            *resp->mutable_product() = repo_->CreateProduct(rc, req->product(), req->request_id());
        });
    }

    Status GetProduct(ServerContext* sc, const v1::GetProductRequest* req, v1::GetProductResponse* resp) override {
        return rpc_.Handle(sc, "GetProduct", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.ThrowIfAny();
            *resp->mutable_product() = repo_->GetProduct(rc, id);
        });
    }

    Status ListProducts(ServerContext* sc, const v1::ListProductsRequest* req,
                        v1::ListProductsResponse* resp) override {
        return rpc_.Handle(sc, "ListProducts", [&](const RequestContext& rc) {
            const int size = common::ResolvePageSize(req->page_size());
            auto page = repo_->ListProducts(rc, req->active_only(), size, req->page_token());
            for (auto& p : page.items) *resp->add_products() = std::move(p);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status UpdateProduct(ServerContext* sc, const v1::UpdateProductRequest* req,
                         v1::UpdateProductResponse* resp) override {
        return rpc_.Handle(sc, "UpdateProduct", [&](const RequestContext& rc) {
            Checks c;
            v1::Product p = req->product();
            p.set_id(c.Id(p.id(), "product.id"));
            c.ThrowIfAny();
            const auto paths = Effective(MaskPaths(req->update_mask()), {"name", "sku", "description", "active"},
                                         [&](const std::string& f) {
                                             if (f == "name") return !p.name().empty();
                                             if (f == "sku") return !p.sku().empty();
                                             if (f == "description") return !p.description().empty();
                                             return false;  // a bool cannot be told from unset: name it in the mask
                                         });
            CheckProduct(c, p, paths);
            c.ThrowIfAny();
            *resp->mutable_product() = repo_->UpdateProduct(rc, p, paths, Etag(req->etag(), p.etag()));
        });
    }

    Status SetPriceBookEntry(ServerContext* sc, const v1::SetPriceBookEntryRequest* req,
                             v1::SetPriceBookEntryResponse* resp) override {
        return rpc_.Handle(sc, "SetPriceBookEntry", [&](const RequestContext& rc) {
            Checks c;
            const std::string product = c.Id(req->entry().product_id(), "entry.product_id");
            if (!req->entry().has_unit_price())
                c.Add("entry.unit_price", "required");
            else
                c.Money(req->entry().unit_price(), "entry.unit_price");
            c.ThrowIfAny();
            *resp->mutable_entry() = repo_->SetPriceBookEntry(rc, product, req->entry().unit_price().currency_code(),
                                                              req->entry().unit_price().amount_minor());
        });
    }

    Status ListPriceBookEntries(ServerContext* sc, const v1::ListPriceBookEntriesRequest* req,
                                v1::ListPriceBookEntriesResponse* resp) override {
        return rpc_.Handle(sc, "ListPriceBookEntries", [&](const RequestContext& rc) {
            Checks c;
            const int size = common::ResolvePageSize(req->page_size());
            const std::string product = c.OptionalId(req->product_id(), "product_id");
            if (!req->currency_code().empty()) c.Currency(req->currency_code(), "currency_code");
            c.ThrowIfAny();
            auto page = repo_->ListPriceBookEntries(rc, product, req->currency_code(), size, req->page_token());
            for (auto& e : page.items) *resp->add_entries() = std::move(e);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    // ---- quotes

    Status CreateQuote(ServerContext* sc, const v1::CreateQuoteRequest* req, v1::CreateQuoteResponse* resp) override {
        return rpc_.Handle(sc, "CreateQuote", [&](const RequestContext& rc) {
            Checks c;
            c.RequestId(req->request_id());
            const auto& q = req->quote();
            storage::QuoteSpec spec;
            spec.opportunity_id = c.Id(q.opportunity_id(), "quote.opportunity_id");
            c.Text(q.title(), "quote.title", true, domain::kMaxNameLength);
            spec.title = q.title();
            if (!q.currency_code().empty()) c.Currency(q.currency_code(), "quote.currency_code");
            spec.currency = q.currency_code();
            c.Date(q.valid_until(), "quote.valid_until");
            spec.valid_until = q.valid_until();
            spec.lines = LinesFrom(c, q.line_items());
            c.ThrowIfAny();
            *resp->mutable_quote() = repo_->CreateQuote(rc, spec, req->request_id());
        });
    }

    Status GetQuote(ServerContext* sc, const v1::GetQuoteRequest* req, v1::GetQuoteResponse* resp) override {
        return rpc_.Handle(sc, "GetQuote", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.ThrowIfAny();
            *resp->mutable_quote() = repo_->GetQuote(rc, id);
        });
    }

    Status ListQuotes(ServerContext* sc, const v1::ListQuotesRequest* req, v1::ListQuotesResponse* resp) override {
        return rpc_.Handle(sc, "ListQuotes", [&](const RequestContext& rc) {
            Checks c;
            const int size = common::ResolvePageSize(req->page_size());
            const std::string opp = c.OptionalId(req->opportunity_id(), "opportunity_id");
            c.ThrowIfAny();
            auto page = repo_->ListQuotes(rc, opp, size, req->page_token());
            for (auto& q : page.items) *resp->add_quotes() = std::move(q);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status UpdateQuote(ServerContext* sc, const v1::UpdateQuoteRequest* req, v1::UpdateQuoteResponse* resp) override {
        return rpc_.Handle(sc, "UpdateQuote", [&](const RequestContext& rc) {
            Checks c;
            const auto& q = req->quote();
            const std::string id = c.Id(q.id(), "quote.id");
            c.ThrowIfAny();
            const auto paths = Effective(MaskPaths(req->update_mask()), {"title", "valid_until", "line_items"},
                                         [&](const std::string& f) {
                                             if (f == "title") return !q.title().empty();
                                             if (f == "valid_until") return !q.valid_until().empty();
                                             return q.line_items_size() > 0;
                                         });
            std::optional<std::string> title, valid_until;
            std::optional<std::vector<storage::QuoteLineSpec>> lines;
            for (const auto& f : paths) {
                if (f == "title") {
                    c.Text(q.title(), "quote.title", true, domain::kMaxNameLength);
                    title = q.title();
                }
                if (f == "valid_until") {
                    c.Date(q.valid_until(), "quote.valid_until");
                    valid_until = q.valid_until();
                }
                if (f == "line_items") lines = LinesFrom(c, q.line_items());
            }
            c.ThrowIfAny();
            *resp->mutable_quote() = repo_->UpdateQuote(rc, id, title, valid_until, lines, Etag(req->etag(), q.etag()));
        });
    }

    Status SubmitQuote(ServerContext* sc, const v1::SubmitQuoteRequest* req, v1::SubmitQuoteResponse* resp) override {
        return rpc_.Handle(sc, "SubmitQuote", [&](const RequestContext& rc) {
            *resp->mutable_quote() = Transition(rc, req->id(), "submit", "", req->etag());
            if (resp->quote().status() == v1::QUOTE_STATUS_NEEDS_APPROVAL) metrics_.quotes_needing_approval.Increment();
        });
    }

    Status ApproveQuote(ServerContext* sc, const v1::ApproveQuoteRequest* req,
                        v1::ApproveQuoteResponse* resp) override {
        return rpc_.Handle(sc, "ApproveQuote", [&](const RequestContext& rc) {
            if (!IsManager(rc)) throw ApiError::PermissionDenied("approving a quote needs the sales_manager role");
            *resp->mutable_quote() = Transition(rc, req->id(), "approve", "", req->etag());
        });
    }

    Status SendQuote(ServerContext* sc, const v1::SendQuoteRequest* req, v1::SendQuoteResponse* resp) override {
        return rpc_.Handle(sc, "SendQuote", [&](const RequestContext& rc) {
            *resp->mutable_quote() = Transition(rc, req->id(), "send", "", req->etag());
        });
    }

    Status RejectQuote(ServerContext* sc, const v1::RejectQuoteRequest* req, v1::RejectQuoteResponse* resp) override {
        return rpc_.Handle(sc, "RejectQuote", [&](const RequestContext& rc) {
            Checks c;
            c.Text(req->reason(), "reason", true, domain::kMaxNameLength);
            c.Id(req->id(), "id");
            c.ThrowIfAny();
            *resp->mutable_quote() = Transition(rc, req->id(), "reject", req->reason(), req->etag());
        });
    }

    Status AcceptQuote(ServerContext* sc, const v1::AcceptQuoteRequest* req, v1::AcceptQuoteResponse* resp) override {
        return rpc_.Handle(sc, "AcceptQuote", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->id(), "id");
            c.ThrowIfAny();
            auto [quote, opportunity] = repo_->AcceptQuote(rc, id, req->set_opportunity_amount(), req->etag());
            *resp->mutable_quote() = std::move(quote);
            *resp->mutable_opportunity() = std::move(opportunity);
            metrics_.quotes_accepted.Increment();
        });
    }

    // ---- settings

    Status GetSalesSettings(ServerContext* sc, const v1::GetSalesSettingsRequest*,
                            v1::GetSalesSettingsResponse* resp) override {
        return rpc_.Handle(sc, "GetSalesSettings",
                           [&](const RequestContext& rc) { *resp->mutable_settings() = repo_->GetSettings(rc); });
    }

    Status UpdateSalesSettings(ServerContext* sc, const v1::UpdateSalesSettingsRequest* req,
                               v1::UpdateSalesSettingsResponse* resp) override {
        return rpc_.Handle(sc, "UpdateSalesSettings", [&](const RequestContext& rc) {
            if (!IsManager(rc))
                throw ApiError::PermissionDenied("changing sales settings needs the sales_manager role");
            Checks c;
            const std::string& t = req->settings().discount_approval_threshold_percent();
            auto parsed = c.Decimal(t, domain::kDiscountScale, "settings.discount_approval_threshold_percent",
                                    "a percentage 0 to 100 with at most 2 decimal places");
            if (parsed && parsed->units > 100 * domain::Pow10(domain::kDiscountScale)) {
                c.Add("settings.discount_approval_threshold_percent", "0 to 100");
            }
            c.ThrowIfAny();
            *resp->mutable_settings() =
                repo_->UpdateSettings(rc, domain::FormatFixed(*parsed), Etag(req->etag(), req->settings().etag()));
        });
    }

    // ---- forecast

    Status GetForecast(ServerContext* sc, const v1::GetForecastRequest* req, v1::GetForecastResponse* resp) override {
        return rpc_.Handle(sc, "GetForecast", [&](const RequestContext& rc) {
            Checks c;
            storage::ForecastQuery q;
            q.period = PeriodFrom(c, req->period(), "period");
            c.Currency(req->currency_code(), "currency_code");
            q.currency = req->currency_code();
            q.pipeline_id = c.OptionalId(req->pipeline_id(), "pipeline_id");
            c.Text(req->owner_id(), "owner_id", false, kMaxOwnerLength);
            q.owner_id = req->owner_id();
            c.ThrowIfAny();
            *resp = repo_->GetForecast(rc, q);
        });
    }

    Status TakeForecastSnapshot(ServerContext* sc, const v1::TakeForecastSnapshotRequest* req,
                                v1::TakeForecastSnapshotResponse* resp) override {
        return rpc_.Handle(sc, "TakeForecastSnapshot", [&](const RequestContext& rc) {
            Checks c;
            c.RequestId(req->request_id());
            const domain::Period period = PeriodFrom(c, req->period(), "period");
            c.Currency(req->currency_code(), "currency_code");
            c.ThrowIfAny();
            *resp->mutable_snapshot() = repo_->TakeSnapshot(rc, period, req->currency_code(), req->request_id());
            metrics_.snapshots_manual.Increment();
        });
    }

    Status ListForecastSnapshots(ServerContext* sc, const v1::ListForecastSnapshotsRequest* req,
                                 v1::ListForecastSnapshotsResponse* resp) override {
        return rpc_.Handle(sc, "ListForecastSnapshots", [&](const RequestContext& rc) {
            Checks c;
            const int size = common::ResolvePageSize(req->page_size());
            const domain::Period period = PeriodFrom(c, req->period(), "period");
            c.Currency(req->currency_code(), "currency_code");
            c.ThrowIfAny();
            auto page = repo_->ListSnapshots(rc, period, req->currency_code(), size, req->page_token());
            for (auto& s : page.items) *resp->add_snapshots() = std::move(s);
            resp->set_next_page_token(page.next_page_token);
        });
    }

    Status GetForecastAccuracy(ServerContext* sc, const v1::GetForecastAccuracyRequest* req,
                               v1::GetForecastAccuracyResponse* resp) override {
        return rpc_.Handle(sc, "GetForecastAccuracy", [&](const RequestContext& rc) {
            Checks c;
            const std::string id = c.Id(req->snapshot_id(), "snapshot_id");
            c.ThrowIfAny();
            auto accuracy = repo_->GetAccuracy(rc, id);
            *resp->mutable_snapshot() = std::move(accuracy.snapshot);
            *resp->mutable_total() = std::move(accuracy.total);
            for (auto& a : accuracy.by_owner) *resp->add_by_owner() = std::move(a);
        });
    }

  private:
    static void CheckTimes(Checks& c, const v1::Activity& a) {
        c.Time(a.due_time(), a.has_due_time(), "activity.due_time");
        c.Time(a.remind_time(), a.has_remind_time(), "activity.remind_time");
        if (a.has_due_time() && a.has_remind_time() &&
            google::protobuf::util::TimeUtil::TimestampToMicroseconds(a.remind_time()) >
                google::protobuf::util::TimeUtil::TimestampToMicroseconds(a.due_time())) {
            c.Add("activity.remind_time", "must not be after due_time");
        }
    }

    static void CheckProduct(Checks& c, const v1::Product& p, const std::vector<std::string>& paths) {
        for (const auto& f : paths) {
            if (f == "name") c.Text(p.name(), "product.name", true, domain::kMaxNameLength);
            if (f == "sku") c.Text(p.sku(), "product.sku", false, 64);
            if (f == "description") c.Text(p.description(), "product.description", false, domain::kMaxTextLength);
        }
    }

    v1::Quote Transition(const RequestContext& rc, const std::string& raw_id, const char* action,
                         const std::string& reason, const std::string& etag) {
        Checks c;
        const std::string id = c.Id(raw_id, "id");
        c.ThrowIfAny();
        return repo_->ChangeQuoteStatus(rc, id, action, reason, etag);
    }

    common::RpcRuntime& rpc_;
    SalesMetrics metrics_;
    std::shared_ptr<Repository> repo_;
    std::shared_ptr<const ContactLinks> links_;
};

}  // namespace

std::shared_ptr<grpc::Service> MakeSalesService(common::RpcRuntime& rpc, common::Metrics& metrics,
                                                std::shared_ptr<storage::Repository> repository,
                                                std::shared_ptr<const ContactLinks> links) {
    return std::make_shared<SalesService>(rpc, metrics, std::move(repository), std::move(links));
}

}  // namespace crm::sales::api
