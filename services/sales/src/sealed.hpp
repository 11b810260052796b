#pragma once
// The personal columns of sales sealed at rest (migration 0007; README "Personal data at rest"): an activity's subject,
// description and outcome and an opportunity's description, each sealed for its "<table>.<column>" name under the data
// key of its record (subject = the activity's or the opportunity's id: the key that seals the record's events, so that
// an erasure's key destruction covers both). Names of deals, stages, lost reasons, quote titles and products stay
// clear: they are not personal (common/src/personal_fields.cpp says why for each).
#include <string>

#include "crm/common/sealed_columns.hpp"

namespace crm::sales::sealed {

inline constexpr char kActivitySubject[] = "activities.subject";
inline constexpr char kActivityDescription[] = "activities.description";
inline constexpr char kActivityOutcome[] = "activities.outcome";
inline constexpr char kOpportunityDescription[] = "opportunities.description";

// The fixed markers that replace a required subject of an erased or anonymised activity (subject_data/sql.hpp,
// retention/sql.hpp): not personal, kept clear, and never sealed by the backfill (sealing one would give an erased
// record a data key again).
inline constexpr char kErasedMarker[] = "(erased on request)";
inline constexpr char kRetentionMarker[] = "(removed by retention)";

// The kit's backfill of the activities written before migration 0007 (register.cpp; EXPLAINed by the sales EXPLAIN
// test). `unsealed` is the predicate of the partial index activities_unsealed, word for word.
inline common::SealedTable Activities() {
    return {.table = "activities",
            .columns = {{"subject", ""}, {"description", ""}, {"outcome", ""}},
            .unsealed =
                "(subject NOT LIKE 'pv1.%' AND subject NOT IN ('(erased on request)', "
                "'(removed by retention)')) OR (description <> '' AND description NOT LIKE 'pv1.%') "
                "OR (outcome <> '' AND outcome NOT LIKE 'pv1.%')"};
}

// The same for opportunities (partial index opportunities_unsealed).
inline common::SealedTable Opportunities() {
    return {.table = "opportunities",
            .columns = {{"description", ""}},
            .unsealed = "description <> '' AND description NOT LIKE 'pv1.%'"};
}

}  // namespace crm::sales::sealed
