#pragma once
// The personal columns of field service sealed at rest (migration 0007; README "Personal data at rest"): a work order's
// title, description, site address and status reason, its completion's notes and checklist answers (inside the
// `completion` jsonb) and the reasons of its status history, each sealed for its name below under the data key of the
// work order (subject = the work order id: the key that seals its events, so that an erasure's key destruction covers
// both). The site's point (PostGIS) stays clear: scheduling, routes and the candidates' distances compute on it.
#include <string>

#include "crm/common/sealed_columns.hpp"

namespace crm::fieldservice::sealed {

inline constexpr char kTitle[] = "work_orders.title";
inline constexpr char kDescription[] = "work_orders.description";
inline constexpr char kSiteAddress[] = "work_orders.site_address";
inline constexpr char kStatusReason[] = "work_orders.status_reason";
inline constexpr char kCompletionNotes[] = "work_orders.completion.notes";
inline constexpr char kChecklistAnswer[] = "work_orders.completion.answer";
inline constexpr char kHistoryReason[] = "work_order_history.reason";
// The stored result of an offline operation (sync_operations.result: a SyncOperationResult, which carries the work
// order), sealed whole under the key of its work order.
inline constexpr char kSyncResult[] = "sync_operations.result";

// The title of an erased work order (subject_data/sql.hpp): not personal, clear, never sealed by the backfill
// (sealing it would give an erased work order a data key again).
inline constexpr char kErasedTitle[] = "(erased)";

// The kit's backfills of the rows written before migration 0007 (register.cpp; EXPLAINed by the field service EXPLAIN
// test). Each `unsealed` is the predicate of its partial index, word for word. The site address has a backfill of its
// own: it is NULL for a work order made from a case event, and the kit writes back every column of a table it lists.
inline common::SealedTable WorkOrders() {
    return {.table = "work_orders",
            .columns = {{"title", ""}, {"description", ""}, {"status_reason", ""}},
            .unsealed =
                "(title NOT LIKE 'pv1.%' AND title <> '(erased)') OR (description <> '' AND description NOT "
                "LIKE 'pv1.%') OR (status_reason <> '' AND status_reason NOT LIKE 'pv1.%')"};
}
inline common::SealedTable WorkOrderSites() {
    return {.table = "work_orders",
            .columns = {{"site_address", ""}},
            .unsealed = "site_address <> '' AND site_address NOT LIKE 'pv1.%'"};
}
// The history's rows have no id of their own: the batch finds them again by their physical address (ctid) while it
// holds their locks; the subject is their work order.
inline common::SealedTable History() {
    return {.table = "work_order_history",
            .id = "ctid",
            .id_type = "tid",
            .subject = "work_order_id::text",
            .columns = {{"reason", ""}},
            .unsealed = "reason <> '' AND reason NOT LIKE 'pv1.%'"};
}

}  // namespace crm::fieldservice::sealed
