// The pipelines RPCs of SalesService (see grpc_service.hpp).
#include <prometheus/counter.h>

#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"
#include "pipelines/pipelines.hpp"

namespace crm::sales {
namespace {
using common::RequestContext;
}  // namespace

grpc::Status SalesService::CreatePipeline(grpc::ServerContext* sc, const v1::CreatePipelineRequest* req,
                                          v1::CreatePipelineResponse* resp) {
    return rpc_.Handle(sc, "CreatePipeline", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        const v1::Pipeline& p = req->pipeline();
        domain::CheckIgnoredToken(v, p.id(), "pipeline.id");
        common::CheckText(v, p.name(), "pipeline.name", domain::kNameRule);
        domain::CheckEtagSyntax(v, p.etag(), "pipeline.etag");
        domain::ValidateStages(pipelines::StageSpecs(p.stages()), "pipeline.stages", v);
        for (int i = 0; i < p.stages_size(); ++i) {  // ids are assigned
            domain::CheckIgnoredToken(v, p.stages(i).id(), "pipeline.stages[" + std::to_string(i) + "].id");
        }
        v.ThrowIfAny();
        *resp->mutable_pipeline() = pipelines::Create(db_, outbox_, rc, p, req->request_id());
    });
}

grpc::Status SalesService::GetPipeline(grpc::ServerContext* sc, const v1::GetPipelineRequest* req,
                                       v1::GetPipelineResponse* resp) {
    return rpc_.Handle(sc, "GetPipeline", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_pipeline() = pipelines::Get(db_, rc, id);
    });
}

grpc::Status SalesService::GetDefaultPipeline(grpc::ServerContext* sc, const v1::GetDefaultPipelineRequest*,
                                              v1::GetDefaultPipelineResponse* resp) {
    return rpc_.Handle(sc, "GetDefaultPipeline", [&](const RequestContext& rc) {
        *resp->mutable_pipeline() = pipelines::GetDefault(db_, outbox_, rc);
    });
}

grpc::Status SalesService::ListPipelines(grpc::ServerContext* sc, const v1::ListPipelinesRequest* req,
                                         v1::ListPipelinesResponse* resp) {
    return rpc_.Handle(sc, "ListPipelines", [&](const RequestContext& rc) {
        const int size = common::ResolvePageSize(req->page_size());
        auto page = pipelines::List(db_, outbox_, rc, size, req->page_token());
        for (auto& p : page.items) *resp->add_pipelines() = std::move(p);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status SalesService::UpdatePipeline(grpc::ServerContext* sc, const v1::UpdatePipelineRequest* req,
                                          v1::UpdatePipelineResponse* resp) {
    return rpc_.Handle(sc, "UpdatePipeline", [&](const RequestContext& rc) {
        common::Violations v;
        v1::UpdatePipelineRequest in = *req;  // ids lowercased below
        v1::Pipeline& p = *in.mutable_pipeline();
        p.set_id(common::CheckId(v, p.id(), "pipeline.id"));
        domain::CheckEtagSyntax(v, in.etag(), "etag");
        domain::CheckEtagSyntax(v, p.etag(), "pipeline.etag");
        const auto paths = UpdatePaths(v, in.update_mask(), {"name", "stages"}, [&](const std::string& f) {
            return f == "name" ? !p.name().empty() : p.stages_size() > 0;
        });
        if (Has(paths, "name")) common::CheckText(v, p.name(), "pipeline.name", domain::kNameRule);
        if (Has(paths, "stages")) {
            domain::ValidateStages(pipelines::StageSpecs(p.stages()), "pipeline.stages", v);
            for (int i = 0; i < p.stages_size(); ++i) {  // an empty id adds a stage
                v1::Stage& s = *p.mutable_stages(i);
                s.set_id(domain::CheckOptionalId(v, s.id(), "pipeline.stages[" + std::to_string(i) + "].id"));
            }
        } else if (!paths.empty() && in.removed_stages_size() > 0) {
            v.Add("removed_stages", "stages are removed only together with the stages path (the new stage list)");
        }
        if (common::CheckListSize(v, in.removed_stages_size(), "removed_stages", domain::kMaxStages)) {
            for (int j = 0; j < in.removed_stages_size(); ++j) {
                v1::StageRemoval& r = *in.mutable_removed_stages(j);
                const std::string at = "removed_stages[" + std::to_string(j) + "]";
                r.set_stage_id(common::CheckId(v, r.stage_id(), at + ".stage_id"));
                r.set_move_open_opportunities_to_stage_id(domain::CheckOptionalId(
                    v, r.move_open_opportunities_to_stage_id(), at + ".move_open_opportunities_to_stage_id"));
            }
        }
        v.ThrowIfAny();
        auto updated = pipelines::Update(db_, outbox_, rc, in, paths);
        if (updated.moved_opportunities > 0) metrics_.stage_changes.Increment(updated.moved_opportunities);
        *resp->mutable_pipeline() = std::move(updated.pipeline);
    });
}

}  // namespace crm::sales
