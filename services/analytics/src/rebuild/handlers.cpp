// RebuildProjections: who may rebuild what, the time budget, and the report (rebuild/rebuild.hpp does the work).
#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>

#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/rpc.hpp"
#include "grpc_service.hpp"
#include "rebuild/metrics.hpp"

namespace crm::analytics {

using common::ApiError;
using common::RequestContext;
using grpc::ServerContext;
using grpc::Status;

Status AnalyticsService::RebuildProjections(ServerContext* sc, const v1::RebuildProjectionsRequest* req,
                                            v1::RebuildProjectionsResponse* resp) {
    return rpc_.Handle(sc, "RebuildProjections", [&](const RequestContext& rc) {
        common::Violations checks;
        if (req->scope() != v1::REBUILD_SCOPE_TENANT && req->scope() != v1::REBUILD_SCOPE_ALL_TENANTS) {
            checks.Add("scope", "must be REBUILD_SCOPE_TENANT or REBUILD_SCOPE_ALL_TENANTS");
        }
        checks.ThrowIfAny();
        // The gateway lets only admins call this; the service checks again (defence in depth).
        if (!rc.HasRole("admin")) throw ApiError::PermissionDenied("RebuildProjections needs the admin role");
        // Rebuilding every tenant rewrites other tenants' read models: only the platform operator's tenant.
        const auto& operators = rebuild_settings_.operator_tenants;
        if (req->scope() == v1::REBUILD_SCOPE_ALL_TENANTS &&
            std::find(operators.begin(), operators.end(), rc.tenant_id) == operators.end()) {
            throw ApiError::PermissionDenied("REBUILD_SCOPE_ALL_TENANTS is for the platform operator's tenant");
        }
        const auto start = std::chrono::steady_clock::now();
        rebuild::RebuildSettings settings = rebuild_settings_;
        const auto remaining = rc.Remaining(settings.timeout);
        if (remaining.count() <= 0) throw ApiError::DeadlineExceeded("no time left for a rebuild");
        settings.timeout = remaining;
        rebuild::RebuildResult result;
        const std::string mode = req->validate_only() ? "validate" : "swap";
        try {
            result = rebuild::Rebuild(db_, settings, rc.tenant_id, req->scope() == v1::REBUILD_SCOPE_ALL_TENANTS,
                                      req->validate_only());
        } catch (const std::runtime_error& e) {
            if (dynamic_cast<const ApiError*>(&e) || dynamic_cast<const pqxx::failure*>(&e)) throw;
            // Kafka unreachable or the log not read in time; the text may name brokers, not data.
            common::log::Warn("rebuild failed", {{"tenant", rc.tenant_id}, {"error_kind", "kafka"}});
            rebuild_metrics_->rebuilds
                .Add({{"service", rebuild_metrics_->service}, {"mode", mode}, {"result", "error"}})
                .Increment();
            throw ApiError::Unavailable("the event log cannot be read now; try again later");
        }
        bool consistent = true;
        for (const auto& t : result.tenants) {
            consistent = consistent && t.consistent;
            rebuild_metrics_->rebuilds
                .Add({{"service", rebuild_metrics_->service},
                      {"mode", mode},
                      {"result", t.consistent ? "consistent" : "inconsistent"}})
                .Increment();
            if (!t.consistent)
                rebuild_metrics_->rebuild_inconsistent.Add({{"service", rebuild_metrics_->service}}).Increment();
            // Its facts were rewritten: if this replica caches the tenant, load it again now, not on its next read.
            if (t.swapped) cache_.Rewarm(t.tenant_id);
            if (t.tenant_id != rc.tenant_id) continue;  // other tenants' ids are never shown
            auto* out = resp->add_tenants();
            out->set_tenant_id(t.tenant_id);
            out->set_events_applied(t.events_applied);
            out->set_events_rejected(t.events_rejected);
            out->set_consistent(t.consistent);
            out->set_swapped(t.swapped);
            for (const auto& p : t.projections) {
                auto* pc = out->add_projections();
                pc->set_projection(p.projection);
                pc->set_live_rows(p.live_rows);
                pc->set_rebuilt_rows(p.rebuilt_rows);
                pc->set_only_live(p.only_live);
                pc->set_only_rebuilt(p.only_rebuilt);
            }
        }
        resp->set_messages_read(result.messages_read);
        for (const auto& t : result.topics) resp->add_topics(t);
        resp->set_consistent(consistent);
        resp->set_tenants_rebuilt(static_cast<int64_t>(result.tenants.size()));
        rebuild_metrics_->rebuild_seconds
            .Add({{"service", rebuild_metrics_->service}}, common::Metrics::LatencyBuckets())
            .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    });
}

}  // namespace crm::analytics
