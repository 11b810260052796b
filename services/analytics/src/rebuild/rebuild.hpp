#pragma once
// RebuildProjections: derive a tenant's (or every tenant's) read models again from the retained Kafka log and
// compare them with the live ones.
//
// How (and why this way):
// 1. The log is read from the earliest retained offset of every partition of the topics (LogReader: its own group
//    id, partitions assigned, nothing committed), and each event of the tenants concerned goes through the same
//    projection::Project() the live consumer uses. The rebuilt facts are held in memory per tenant (the "shadow").
// 2. Per tenant, one transaction: take the tenant's exclusive advisory lock, which waits for the live consumer's
//    transaction in flight for that tenant and makes its next ones back off (they fail with UNAVAILABLE, which the
//    consumer runtime retries without counting attempts: the live consumer is paused for this tenant only). With
//    the lock held, read the log again up to its current end (catching up on what arrived during step 1), load the
//    live facts, replace them by the rebuilt ones, load those back, compare row by row, and commit (or roll back
//    for validate_only). Readers see the old read models until the commit and the new ones after it.
// 3. Events the live consumer applies after the commit that were already in the rebuild change nothing (facts are
//    keyed by aggregate and version); events that arrived after the catch-up are applied by it as usual.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crm::common {
class Db;
}

namespace crm::analytics::rebuild {

struct RebuildSettings {
    std::string brokers;
    std::vector<std::string> topics;
    std::map<std::string, std::string> kafka;
    std::chrono::milliseconds timeout{120000};  // reading the log, per pass
    // Tenants whose admins may rebuild every tenant (REBUILD_SCOPE_ALL_TENANTS): the platform operator's, never a
    // customer's (CRM_ANALYTICS_OPERATOR_TENANTS). Empty: nobody may.
    std::vector<std::string> operator_tenants;
};

struct ProjectionDiff {
    std::string projection;  // records, leads, opportunities, support_cases, support_case_spans, support_csat,
                             // field_completions, field_technicians
    int64_t live_rows = 0;
    int64_t rebuilt_rows = 0;
    int64_t only_live = 0;
    int64_t only_rebuilt = 0;
};

struct TenantResult {
    std::string tenant_id;
    int64_t events_applied = 0;
    int64_t events_rejected = 0;
    std::vector<ProjectionDiff> projections;
    bool consistent = false;
    bool swapped = false;
};

struct RebuildResult {
    std::vector<TenantResult> tenants;
    int64_t messages_read = 0;
    std::vector<std::string> topics;
};

// tenant: the caller's tenant; all_tenants: also every other tenant found in the log.
RebuildResult Rebuild(common::Db& db, const RebuildSettings& settings, const std::string& tenant, bool all_tenants,
                      bool validate_only);

}  // namespace crm::analytics::rebuild
