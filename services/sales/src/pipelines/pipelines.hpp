#pragma once
// Pipelines and their stages: the use cases of the pipelines RPCs, and what the other areas need of a pipeline inside
// their own transactions (the default pipeline, a stage, the share lock that keeps stages still). Every use case runs
// one tenant transaction and writes its events to the outbox in it. Include only from the service's .cpp files: it
// pulls in pqxx and the generated protos.
#include <crm/sales/v1/sales.pb.h>

#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "domain/pipeline.hpp"

namespace crm::sales::pipelines {

namespace v1 = crm::sales::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers: names, stage layout, ids lowercased)

v1::Pipeline Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Pipeline& in,
                    const std::string& request_id);
v1::Pipeline Get(common::Db& db, const RequestContext& rc, const std::string& id);
v1::Pipeline GetDefault(common::Db& db, common::Outbox& outbox, const RequestContext& rc);
common::Page<v1::Pipeline> List(common::Db& db, common::Outbox& outbox, const RequestContext& rc, int page_size,
                                const std::string& page_token);

struct Updated {
    v1::Pipeline pipeline;
    int moved_opportunities = 0;
};
// Renames and/or restructures a pipeline in one transaction (`paths`: name, stages): stages updated, added, reordered
// and archived, the open opportunities of removed stages moved (history rows, OpportunityStageChanged each),
// PipelineUpdated. `req` carries the new values and removed_stages; its etag (else pipeline.etag) is checked.
Updated Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::UpdatePipelineRequest& req,
               const std::vector<std::string>& paths);

// ---- for other areas, inside their transaction

// The pipeline, or NOT_FOUND.
v1::Pipeline Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id);
bool Exists(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id);
// The tenant's default pipeline, created (race-safe, with PipelineCreated) on first use.
v1::Pipeline EnsureDefault(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                           const RequestContext& rc);
// Registers the tenant for the schedulers.
void EnsureTenant(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant);
// Takes the pipeline's share lock: its stages stay as read until commit (UpdatePipeline holds it FOR UPDATE).
void LockShared(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& pipeline_id);
// The id of the tenant's default pipeline, share-locked as LockShared does, in one statement; nullopt when the tenant
// has none yet (then EnsureDefault and LockShared).
std::optional<std::string> LockDefaultShared(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant);
// A stage (current or archived) of the pipeline; nullopt when there is none with this id in this pipeline.
std::optional<v1::Stage> FindStage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const std::string& pipeline_id, const std::string& stage_id);
// The first current stage of the pipeline.
v1::Stage FirstStage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                     const std::string& pipeline_id);
// The first current stage of the category (the closed-won or closed-lost stage); FAILED_PRECONDITION when none.
v1::Stage StageByCategory(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                          const std::string& pipeline_id, domain::Category category);

inline domain::Category CategoryOf(const v1::Stage& stage) {
    return static_cast<domain::Category>(stage.forecast_category());
}

// The stages as the stage rules see them (domain::ValidateStages, PlanStageChanges).
std::vector<domain::StageSpec> StageSpecs(const google::protobuf::RepeatedPtrField<v1::Stage>& stages);

}  // namespace crm::sales::pipelines
