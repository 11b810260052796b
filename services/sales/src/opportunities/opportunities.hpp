#pragma once
// Opportunities (deals) and their stage history: the use cases of the opportunity RPCs, and what the other areas need
// of a deal inside their own transactions (reading one, moving the open deals of a removed stage, setting the amount
// from an accepted quote). Every use case runs one tenant transaction and writes its events to the outbox in it.
// Include only from the service's .cpp files: it pulls in pqxx and the generated protos.
#include <crm/sales/v1/sales.pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "domain/pipeline.hpp"

namespace crm::sales::opportunities {

namespace v1 = crm::sales::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers; ids lowercased)

v1::Opportunity Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Opportunity& in,
                       const std::string& request_id);
// The opportunity an earlier CreateOpportunity with this request_id created, if any (a retry returns it as is).
std::optional<v1::Opportunity> FindCreated(common::Db& db, const RequestContext& rc, const std::string& request_id);
v1::Opportunity Get(common::Db& db, const RequestContext& rc, const std::string& id);
// `req` with its filters checked; page_size resolved.
common::Page<v1::Opportunity> List(common::Db& db, const RequestContext& rc, const v1::ListOpportunitiesRequest& req,
                                   int page_size);
// Sets the `paths` of `in` (an open deal; its etag, else in.etag, is checked); OpportunityUpdated.
v1::Opportunity Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Opportunity& in,
                       const std::vector<std::string>& paths, const std::string& etag);
v1::Opportunity MoveStage(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                          const v1::MoveOpportunityStageRequest& req);
// Closes an open deal as won (with an optional final amount in its currency) or lost (with a reason):
// OpportunityStageChanged into the closed stage, then OpportunityWon / OpportunityLost.
v1::Opportunity Win(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                    const v1::WinOpportunityRequest& req);
v1::Opportunity Lose(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                     const v1::LoseOpportunityRequest& req);
v1::Opportunity Delete(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const std::string& id,
                       const std::string& etag);
std::vector<v1::StageHistoryEntry> ListStageHistory(common::Db& db, const RequestContext& rc, const std::string& id);

// ---- for other areas, inside their transaction

// The deal, or nullopt.
std::optional<v1::Opportunity> Find(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::string& id);
// The deal, or NOT_FOUND; for_update locks its row.
v1::Opportunity Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                     bool for_update = false);
// FAILED_PRECONDITION unless the deal is open and not deleted.
void RequireOpen(const v1::Opportunity& deal);
// Open, non-deleted deals per stage among `stage_ids` of the pipeline (stages without any are left out).
std::map<std::string, long> OpenPerStage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                         const std::string& pipeline_id, const std::vector<std::string>& stage_ids);
// Moves every open deal of `from_stage_id` into `target` (an open stage of the same pipeline) as MoveOpportunityStage
// does: the target's probability, a new stage-history visit, OpportunityStageChanged each. FAILED_PRECONDITION
// CLOSE_DATE_REQUIRED when the target is a commit stage and a deal has no expected close date. Returns the count.
int MoveOpenOpportunities(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                          const std::string& pipeline_id, const std::string& from_stage_id, const v1::Stage& target);
// AcceptQuote with set_opportunity_amount: the deal's amount becomes the quote's total and accepted_quote_id the
// quote's id (`deal` read FOR UPDATE in tx); OpportunityUpdated. Returns the stored deal.
v1::Opportunity SetAmountFromQuote(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                   const RequestContext& rc, const v1::Opportunity& deal, const v1::Quote& quote);

}  // namespace crm::sales::opportunities
