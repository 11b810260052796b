-- Stages can be added, reordered and removed (UpdatePipeline). A removed stage is archived, not deleted: closed and
-- deleted opportunities keep pointing at it (their stage name and category still resolve, for reads, stage history
-- and the forecast), while no opportunity can enter it any more. Only current stages hold a position in the
-- pipeline's order, so the uniqueness of positions moves to a partial index over current stages.
ALTER TABLE stages ADD COLUMN archive_time timestamptz;
ALTER TABLE stages DROP CONSTRAINT stages_tenant_id_pipeline_id_position_key;
CREATE UNIQUE INDEX stages_current_position ON stages (tenant_id, pipeline_id, position) WHERE archive_time IS NULL;
-- Reads of a pipeline's stages, archived ones included.
CREATE INDEX stages_pipeline ON stages (tenant_id, pipeline_id, position);
