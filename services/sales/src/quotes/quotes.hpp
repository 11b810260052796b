#pragma once
// Quotes (line items priced from the catalogue, exact totals, the approval workflow up to acceptance) and the tenant's
// sales settings (the discount above which a quote needs approval). Every use case runs one tenant transaction and
// writes its events to the outbox in it. Include only from the service's .cpp files: it pulls in pqxx and the
// generated protos.
#include <crm/sales/v1/sales.pb.h>

#include <string>
#include <utility>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"

namespace crm::sales::quotes {

namespace v1 = crm::sales::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers: decimals, ids lowercased)

// A draft quote of an open opportunity, in the opportunity's currency unless the quote names one; every line priced
// (its unit_price, else the price book's in the quote currency: FAILED_PRECONDITION NO_PRICE_BOOK_ENTRY without one)
// and totalled (domain::ComputeQuote). QuoteCreated.
v1::Quote Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Quote& in,
                 const std::string& request_id);
v1::Quote Get(common::Db& db, const RequestContext& rc, const std::string& id);
// Newest first, optionally of one opportunity.
common::Page<v1::Quote> List(common::Db& db, const RequestContext& rc, const std::string& opportunity_id, int page_size,
                             const std::string& page_token);
// Sets the `paths` (title, valid_until, line_items: re-priced) of a draft quote; QuoteUpdated.
v1::Quote Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Quote& in,
                 const std::vector<std::string>& paths, const std::string& etag);
// Status transitions: "submit" (draft → approved, or → needs_approval above the discount threshold), "approve",
// "send", "reject" (with `reason`); QuoteStatusChanged.
v1::Quote ChangeStatus(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const std::string& id,
                       const std::string& action, const std::string& reason, const std::string& etag);
// sent → accepted (QuoteAccepted); with set_opportunity_amount the open opportunity's amount becomes the total.
std::pair<v1::Quote, v1::Opportunity> Accept(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                             const v1::AcceptQuoteRequest& req);

// The tenant's settings (the defaults until set).
v1::SalesSettings GetSettings(common::Db& db, const RequestContext& rc);
// `threshold` in canonical decimal notation; `etag` checked (the defaults have version 0). SalesSettingsUpdated.
v1::SalesSettings UpdateSettings(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                 const std::string& threshold, const std::string& etag);

}  // namespace crm::sales::quotes
