// The quote and sales-settings RPCs of SalesService (see grpc_service.hpp).
#include <prometheus/counter.h>

#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"
#include "quotes/quotes.hpp"

namespace crm::sales {
namespace {

using common::ApiError;
using common::RequestContext;

// Checks the lines at "quote.line_items[i]" and lowercases their product ids (decimals are parsed again, exactly,
// when the quote is priced).
void CheckLines(common::Violations& v, google::protobuf::RepeatedPtrField<v1::QuoteLineItem>& lines) {
    if (lines.empty()) v.Add("quote.line_items", "is required: 1 to 100 line items");
    common::CheckListSize(v, lines.size(), "quote.line_items", domain::kMaxQuoteLines);
    for (int i = 0; i < lines.size(); ++i) {
        v1::QuoteLineItem& l = lines[i];
        const std::string at = "quote.line_items[" + std::to_string(i) + "]";
        l.set_product_id(domain::CheckOptionalId(v, l.product_id(), at + ".product_id"));
        if (l.product_id().empty() && l.description().empty()) v.Add(at + ".description", "required without a product");
        common::CheckText(v, l.description(), at + ".description", {.max_chars = domain::kMaxNameLength});
        domain::CheckQuantity(v, l.quantity(), at + ".quantity");
        if (l.has_unit_price()) {
            domain::CheckAmount(v, l.unit_price().amount_minor(), l.unit_price().currency_code(), at + ".unit_price");
        } else if (l.product_id().empty()) {
            v.Add(at + ".unit_price", "required without a product");
        }
        domain::CheckPercent(v, l.discount_percent(), domain::kDiscountScale, at + ".discount_percent");
        domain::CheckPercent(v, l.tax_percent(), domain::kTaxScale, at + ".tax_percent");
    }
}

}  // namespace

grpc::Status SalesService::CreateQuote(grpc::ServerContext* sc, const v1::CreateQuoteRequest* req,
                                       v1::CreateQuoteResponse* resp) {
    return rpc_.Handle(sc, "CreateQuote", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        v1::Quote q = req->quote();
        domain::CheckIgnoredToken(v, q.id(), "quote.id");
        domain::CheckEtagSyntax(v, q.etag(), "quote.etag");
        q.set_opportunity_id(common::CheckId(v, q.opportunity_id(), "quote.opportunity_id"));
        common::CheckText(v, q.title(), "quote.title", domain::kNameRule);
        common::CheckCurrency(v, q.currency_code(), "quote.currency_code", false);
        domain::CheckDate(v, q.valid_until(), "quote.valid_until");
        CheckLines(v, *q.mutable_line_items());
        v.ThrowIfAny();
        *resp->mutable_quote() = quotes::Create(db_, outbox_, rc, q, req->request_id());
    });
}

grpc::Status SalesService::GetQuote(grpc::ServerContext* sc, const v1::GetQuoteRequest* req,
                                    v1::GetQuoteResponse* resp) {
    return rpc_.Handle(sc, "GetQuote", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_quote() = quotes::Get(db_, rc, id);
    });
}

grpc::Status SalesService::ListQuotes(grpc::ServerContext* sc, const v1::ListQuotesRequest* req,
                                      v1::ListQuotesResponse* resp) {
    return rpc_.Handle(sc, "ListQuotes", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        const std::string opportunity = domain::CheckOptionalId(v, req->opportunity_id(), "opportunity_id");
        v.ThrowIfAny();
        auto page = quotes::List(db_, rc, opportunity, size, req->page_token());
        for (auto& q : page.items) *resp->add_quotes() = std::move(q);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status SalesService::UpdateQuote(grpc::ServerContext* sc, const v1::UpdateQuoteRequest* req,
                                       v1::UpdateQuoteResponse* resp) {
    return rpc_.Handle(sc, "UpdateQuote", [&](const RequestContext& rc) {
        common::Violations v;
        v1::Quote q = req->quote();
        q.set_id(common::CheckId(v, q.id(), "quote.id"));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, q.etag(), "quote.etag");
        const auto paths =
            UpdatePaths(v, req->update_mask(), {"title", "valid_until", "line_items"}, [&](const std::string& f) {
                if (f == "title") return !q.title().empty();
                if (f == "valid_until") return !q.valid_until().empty();
                return q.line_items_size() > 0;
            });
        if (Has(paths, "title")) common::CheckText(v, q.title(), "quote.title", domain::kNameRule);
        if (Has(paths, "valid_until")) domain::CheckDate(v, q.valid_until(), "quote.valid_until");
        if (Has(paths, "line_items")) CheckLines(v, *q.mutable_line_items());
        v.ThrowIfAny();
        *resp->mutable_quote() =
            quotes::Update(db_, outbox_, rc, q, paths, req->etag().empty() ? q.etag() : req->etag());
    });
}

v1::Quote SalesService::TransitionQuote(const RequestContext& rc, const std::string& raw_id, const char* action,
                                        const std::string& etag) {
    common::Violations v;
    const std::string id = common::CheckId(v, raw_id, "id");
    v.ThrowIfAny();
    return quotes::ChangeStatus(db_, outbox_, rc, id, action, "", etag);
}

grpc::Status SalesService::SubmitQuote(grpc::ServerContext* sc, const v1::SubmitQuoteRequest* req,
                                       v1::SubmitQuoteResponse* resp) {
    return rpc_.Handle(sc, "SubmitQuote", [&](const RequestContext& rc) {
        *resp->mutable_quote() = TransitionQuote(rc, req->id(), "submit", req->etag());
        if (resp->quote().status() == v1::QUOTE_STATUS_NEEDS_APPROVAL) metrics_.quotes_needing_approval.Increment();
    });
}

grpc::Status SalesService::ApproveQuote(grpc::ServerContext* sc, const v1::ApproveQuoteRequest* req,
                                        v1::ApproveQuoteResponse* resp) {
    return rpc_.Handle(sc, "ApproveQuote", [&](const RequestContext& rc) {
        if (!IsManager(rc)) throw ApiError::PermissionDenied("approving a quote needs the sales_manager role");
        *resp->mutable_quote() = TransitionQuote(rc, req->id(), "approve", req->etag());
    });
}

grpc::Status SalesService::SendQuote(grpc::ServerContext* sc, const v1::SendQuoteRequest* req,
                                     v1::SendQuoteResponse* resp) {
    return rpc_.Handle(sc, "SendQuote", [&](const RequestContext& rc) {
        *resp->mutable_quote() = TransitionQuote(rc, req->id(), "send", req->etag());
    });
}

grpc::Status SalesService::RejectQuote(grpc::ServerContext* sc, const v1::RejectQuoteRequest* req,
                                       v1::RejectQuoteResponse* resp) {
    return rpc_.Handle(sc, "RejectQuote", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckText(v, req->reason(), "reason", domain::kNameRule);
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_quote() = quotes::ChangeStatus(db_, outbox_, rc, id, "reject", req->reason(), req->etag());
    });
}

grpc::Status SalesService::AcceptQuote(grpc::ServerContext* sc, const v1::AcceptQuoteRequest* req,
                                       v1::AcceptQuoteResponse* resp) {
    return rpc_.Handle(sc, "AcceptQuote", [&](const RequestContext& rc) {
        common::Violations v;
        v1::AcceptQuoteRequest in = *req;
        in.set_id(common::CheckId(v, in.id(), "id"));
        v.ThrowIfAny();
        auto [quote, opportunity] = quotes::Accept(db_, outbox_, rc, in);
        *resp->mutable_quote() = std::move(quote);
        *resp->mutable_opportunity() = std::move(opportunity);
        metrics_.quotes_accepted.Increment();
    });
}

grpc::Status SalesService::GetSalesSettings(grpc::ServerContext* sc, const v1::GetSalesSettingsRequest*,
                                            v1::GetSalesSettingsResponse* resp) {
    return rpc_.Handle(sc, "GetSalesSettings",
                       [&](const RequestContext& rc) { *resp->mutable_settings() = quotes::GetSettings(db_, rc); });
}

grpc::Status SalesService::UpdateSalesSettings(grpc::ServerContext* sc, const v1::UpdateSalesSettingsRequest* req,
                                               v1::UpdateSalesSettingsResponse* resp) {
    return rpc_.Handle(sc, "UpdateSalesSettings", [&](const RequestContext& rc) {
        if (!IsManager(rc)) throw ApiError::PermissionDenied("changing sales settings needs the sales_manager role");
        common::Violations v;
        const v1::SalesSettings& s = req->settings();
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, s.etag(), "settings.etag");
        const std::string& threshold = s.discount_approval_threshold_percent();
        std::optional<domain::Fixed> parsed;
        if (threshold.empty()) {
            v.Add("settings.discount_approval_threshold_percent", "is required: a percentage 0 to 100");
        } else {
            parsed = domain::CheckPercent(v, threshold, domain::kDiscountScale,
                                          "settings.discount_approval_threshold_percent");
        }
        v.ThrowIfAny();
        *resp->mutable_settings() = quotes::UpdateSettings(db_, outbox_, rc, domain::FormatFixed(*parsed),
                                                           req->etag().empty() ? s.etag() : req->etag());
    });
}

}  // namespace crm::sales
