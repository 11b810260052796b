// Pipelines and their stages (see pipelines.hpp).
#include "pipelines/pipelines.hpp"

#include <crm/sales/events/v1/events.pb.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/resource.hpp"
#include "opportunities/opportunities.hpp"
#include "pipelines/sql.hpp"
#include "records.hpp"

namespace crm::sales::pipelines {
namespace {

namespace ev = crm::sales::events::v1;
using common::ApiError;

// A row of CRM_STAGE_COLUMNS (pipelines/sql.hpp).
void ReadStage(const pqxx::row& s, v1::Stage* stage) {
    stage->set_id(s[0].as<std::string>());
    stage->set_name(s[1].as<std::string>());
    stage->set_position(s[2].as<int>());
    stage->set_probability(s[3].as<int>());
    stage->set_forecast_category(static_cast<v1::ForecastCategory>(domain::ParseCategory(s[4].as<std::string>())));
    SetTimeIf(stage, &v1::Stage::mutable_archive_time, s[5]);
}

v1::Pipeline ReadPipeline(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const pqxx::row& row) {
    v1::Pipeline p;
    p.set_id(row[0].as<std::string>());
    p.set_name(row[1].as<std::string>());
    p.set_is_default(row[2].as<bool>());
    p.set_version(row[3].as<std::int64_t>());
    p.set_etag(common::MakeEtag(p.version()));
    SetTime(p.mutable_create_time(), row[4]);
    SetTime(p.mutable_update_time(), row[5]);
    for (const auto& s : db.Exec(tx, sql::kStagesOf, tenant, p.id())) {
        ReadStage(s, s[5].is_null() ? p.add_stages() : p.add_archived_stages());
    }
    return p;
}

v1::Pipeline LoadForUpdate(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                           const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetPipelineForUpdate, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("pipeline", id);
    return ReadPipeline(db, tx, tenant, rows[0]);
}

// Inserts the pipeline and its stages and writes PipelineCreated; nullopt when a default pipeline already existed.
std::optional<v1::Pipeline> Insert(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                   const RequestContext& rc, const std::string& id, const std::string& name,
                                   const std::vector<domain::StageSpec>& stages, bool is_default) {
    const pqxx::result rows =
        db.Exec(tx, is_default ? sql::kInsertDefaultPipeline : sql::kInsertPipeline, rc.tenant_id, id, name);
    if (rows.empty()) return std::nullopt;
    for (std::size_t i = 0; i < stages.size(); ++i) {
        db.Exec(tx, sql::kInsertStage, rc.tenant_id, common::NewUuid(), id, static_cast<int>(i), stages[i].name,
                stages[i].probability, domain::CategoryText(stages[i].category));
    }
    v1::Pipeline created = Load(db, tx, rc.tenant_id, id);
    ev::PipelineCreated event;
    *event.mutable_pipeline() = created;
    Emit(outbox, tx, rc, "pipeline", id, created.version(), event, created.update_time());
    return created;
}

}  // namespace

// ==== for other areas ================================================================================================

std::vector<domain::StageSpec> StageSpecs(const google::protobuf::RepeatedPtrField<v1::Stage>& stages) {
    std::vector<domain::StageSpec> out;
    for (const auto& s : stages) out.push_back({s.id(), s.name(), s.probability(), CategoryOf(s)});
    return out;
}

v1::Pipeline Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetPipeline, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("pipeline", id);
    return ReadPipeline(db, tx, tenant, rows[0]);
}

bool Exists(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id) {
    return !db.Exec(tx, sql::kGetPipeline, tenant, id).empty();
}

void EnsureTenant(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    db.Exec(tx, sql::kEnsureTenant, tenant);
}

v1::Pipeline EnsureDefault(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                           const RequestContext& rc) {
    pqxx::result rows = db.Exec(tx, sql::kGetDefaultPipeline, rc.tenant_id);
    if (!rows.empty()) return ReadPipeline(db, tx, rc.tenant_id, rows[0]);
    EnsureTenant(db, tx, rc.tenant_id);
    if (auto created = Insert(db, outbox, tx, rc, common::NewUuid(), domain::DefaultPipelineName(),
                              domain::DefaultStages(), true)) {
        return *created;
    }
    // A concurrent first use committed its default pipeline while this insert waited on the unique index.
    rows = db.Exec(tx, sql::kGetDefaultPipeline, rc.tenant_id);
    if (rows.empty()) throw ApiError::Aborted("the default pipeline is being created; retry", "CONCURRENT_CREATE");
    return ReadPipeline(db, tx, rc.tenant_id, rows[0]);
}

void LockShared(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& pipeline_id) {
    db.Exec(tx, sql::kLockPipelineShared, tenant, pipeline_id);
}

std::optional<std::string> LockDefaultShared(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    const pqxx::result rows = db.Exec(tx, sql::kLockDefaultPipelineShared, tenant);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
}

std::optional<v1::Stage> FindStage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const std::string& pipeline_id, const std::string& stage_id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetStage, tenant, stage_id);
    if (rows.empty() || rows[0][6].as<std::string>() != pipeline_id) return std::nullopt;
    v1::Stage stage;
    ReadStage(rows[0], &stage);
    return stage;
}

v1::Stage FirstStage(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                     const std::string& pipeline_id) {
    const pqxx::result rows = db.Exec(tx, sql::kFirstStage, tenant, pipeline_id);
    if (rows.empty()) throw ApiError::FailedPrecondition("the pipeline has no current stage", "STAGE_MISSING");
    v1::Stage stage;
    ReadStage(rows[0], &stage);
    return stage;
}

v1::Stage StageByCategory(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                          const std::string& pipeline_id, domain::Category category) {
    const pqxx::result rows = db.Exec(tx, sql::kStageByCategory, tenant, pipeline_id, domain::CategoryText(category));
    if (rows.empty()) throw ApiError::FailedPrecondition("the pipeline has no such stage", "STAGE_MISSING");
    v1::Stage stage;
    ReadStage(rows[0], &stage);
    return stage;
}

// ==== use cases ======================================================================================================

v1::Pipeline Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Pipeline& in,
                    const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, rc.tenant_id, "CreatePipeline", request_id, id)) {
            return Load(db, tx, rc.tenant_id, *first);
        }
        EnsureDefault(db, outbox, tx, rc);  // the tenant's first pipeline is always the default one
        return Insert(db, outbox, tx, rc, id, in.name(), StageSpecs(in.stages()), false).value();
    });
}

v1::Pipeline Get(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return Load(db, tx, rc.tenant_id, id); });
}

v1::Pipeline GetDefault(common::Db& db, common::Outbox& outbox, const RequestContext& rc) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return EnsureDefault(db, outbox, tx, rc); });
}

common::Page<v1::Pipeline> List(common::Db& db, common::Outbox& outbox, const RequestContext& rc, int page_size,
                                const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListPipelines"}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::Pipeline> items = db.InTenant(rc, [&](pqxx::work& tx) {
        if (page_token.empty()) EnsureDefault(db, outbox, tx, rc);
        std::vector<v1::Pipeline> out;
        for (const auto& row : db.Exec(tx, sql::kListPipelines, rc.tenant_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadPipeline(db, tx, rc.tenant_id, row));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Pipeline& p) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(p.create_time()), p.id()});
    });
}

Updated Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::UpdatePipelineRequest& req,
               const std::vector<std::string>& paths) {
    const v1::Pipeline& in = req.pipeline();
    const std::string& id = in.id();
    const bool set_name = std::find(paths.begin(), paths.end(), "name") != paths.end();
    const bool set_stages = std::find(paths.begin(), paths.end(), "stages") != paths.end();
    std::vector<domain::StageRemoval> removals;
    for (const auto& r : req.removed_stages())
        removals.push_back({r.stage_id(), r.move_open_opportunities_to_stage_id()});
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        // The pipeline row lock serializes this update with opportunity creates and moves into its stages (they take
        // it FOR SHARE first), so no deal enters a stage while it is being removed.
        const v1::Pipeline current = LoadForUpdate(db, tx, t, id);
        common::CheckEtag(req.etag().empty() ? in.etag() : req.etag(), current.version());
        Updated result;
        std::vector<std::string> changed;
        if (set_name && in.name() != current.name()) changed.push_back("name");
        domain::StagePlan plan;
        std::vector<std::string> added_ids;
        std::map<std::string, std::pair<std::string, int>> moves;  // removed stage -> (target, moved count)
        if (set_stages) {
            const std::vector<domain::StageSpec> requested = StageSpecs(in.stages());
            std::vector<domain::CurrentStage> stored;
            std::map<std::string, const v1::Stage*> by_id;
            for (const auto& s : current.stages()) {
                stored.push_back({s.id(), s.name(), CategoryOf(s), 0});
                by_id[s.id()] = &s;
            }
            std::vector<std::string> removal_ids;
            for (const auto& r : removals) {
                if (by_id.contains(r.stage_id)) removal_ids.push_back(r.stage_id);
            }
            if (!removal_ids.empty()) {
                const std::map<std::string, long> open = opportunities::OpenPerStage(db, tx, t, id, removal_ids);
                for (auto& s : stored) s.open_opportunities = open.contains(s.id) ? open.at(s.id) : 0;
            }
            common::Violations violations;
            plan = domain::PlanStageChanges(stored, requested, removals, violations);
            violations.ThrowIfAny();

            bool stage_changed = plan.added || plan.reordered || !plan.removed.empty();
            for (const auto& s : requested) {
                if (s.id.empty()) continue;
                const v1::Stage& c = *by_id.at(s.id);
                stage_changed = stage_changed || s.name != c.name() || s.probability != c.probability() ||
                                s.category != CategoryOf(c);
            }
            if (stage_changed) {
                changed.push_back("stages");
                for (const auto& removed : plan.removed) db.Exec(tx, sql::kArchiveStage, t, removed);
                db.Exec(tx, sql::kShiftStages, t, id);
                for (std::size_t i = 0; i < requested.size(); ++i) {
                    const domain::StageSpec& s = requested[i];
                    const char* category = domain::CategoryText(s.category);
                    if (s.id.empty()) {
                        added_ids.push_back(common::NewUuid());
                        db.Exec(tx, sql::kInsertStage, t, added_ids.back(), id, static_cast<int>(i), s.name,
                                s.probability, category);
                    } else {
                        db.Exec(tx, sql::kUpdateStage, t, s.id, s.name, s.probability, category, static_cast<int>(i));
                    }
                }
                // The open deals of each removed stage go to its target, exactly as MoveOpportunityStage moves them.
                for (const auto& r : removals) {
                    if (std::find(plan.removed.begin(), plan.removed.end(), r.stage_id) == plan.removed.end()) continue;
                    auto& [target_id, moved] = moves[r.stage_id];
                    target_id = r.target_id;
                    if (r.target_id.empty()) continue;
                    const std::optional<v1::Stage> target = FindStage(db, tx, t, id, r.target_id);
                    if (!target || target->has_archive_time() || !domain::IsOpen(CategoryOf(*target))) {
                        throw std::logic_error("a planned target stage is not a current open stage");
                    }
                    moved = opportunities::MoveOpenOpportunities(db, outbox, tx, rc, id, r.stage_id, *target);
                    result.moved_opportunities += moved;
                }
            }
        }
        if (changed.empty()) {
            result.pipeline = current;
            return result;
        }
        db.Exec(tx, sql::kTouchPipeline, t, id, set_name ? in.name() : current.name());
        result.pipeline = Load(db, tx, t, id);
        const v1::Pipeline& updated = result.pipeline;
        ev::PipelineUpdated event;
        *event.mutable_pipeline() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        for (const auto& s : updated.stages()) {
            if (std::find(added_ids.begin(), added_ids.end(), s.id()) != added_ids.end()) *event.add_added_stages() = s;
        }
        for (const auto& s : updated.archived_stages()) {
            const auto move = moves.find(s.id());
            if (move == moves.end()) continue;
            ev::RemovedStage* removed = event.add_removed_stages();
            *removed->mutable_stage() = s;
            removed->set_moved_to_stage_id(move->second.second > 0 ? move->second.first : "");
            removed->set_moved_opportunity_count(move->second.second);
        }
        event.set_stages_reordered(plan.reordered);
        Emit(outbox, tx, rc, "pipeline", id, updated.version(), event, updated.update_time());
        return result;
    });
}

}  // namespace crm::sales::pipelines
