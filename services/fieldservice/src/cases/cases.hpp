#pragma once
// Support cases in field service: the categories a tenant marks as needing a visit (Set/ListVisitCategories), what
// this service knows of support's cases from their events, and the work order a case in such a category gets when it
// is created or escalated (CaseCreated, CaseEscalated through the kit's consumer runtime): at most one per case,
// however often and in whatever mix those events arrive. Include only from the service's .cpp files: it pulls in pqxx
// and the generated protos.
#include <crm/fieldservice/v1/fieldservice.pb.h>

#include <optional>
#include <string>
#include <vector>

#include "crm/common/consumer.hpp"
#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"

namespace crm::fieldservice::cases {

namespace v1 = crm::fieldservice::v1;
using common::RequestContext;

struct VisitCategories {
    std::vector<v1::VisitCategory> categories;
    std::int64_t version = 0;  // 0: never set
};

// ---- use cases (input checked by the handlers)

VisitCategories List(common::Db& db, const RequestContext& rc);
// Replaces the list (etag checked when given: ABORTED when it changed); the same list again changes nothing.
// VisitCategoriesSet on a change.
VisitCategories Set(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                    const std::vector<v1::VisitCategory>& categories, const std::string& etag);

// ---- for the work-orders area, inside its transaction

struct CaseLinks {
    std::string contact_id, company_id;
};
// Serialises work orders of one case (a transaction-scoped lock on the tenant's case id, also taken by the consumer
// before it decides whether a case needs its work order); returns the case's links when its events were seen.
std::optional<CaseLinks> LockCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                  const std::string& case_id);

// The tenant's visit category named exactly `category`, if it is one.
std::optional<v1::VisitCategory> FindVisitCategory(common::Db& db, pqxx::transaction_base& tx,
                                                   const std::string& tenant, const std::string& category);

// ---- support's events (crm.support.v1), applied once each by the kit's consumer runtime

common::EventHandler MakeHandler(common::Db& db, common::Outbox& outbox);

}  // namespace crm::fieldservice::cases
