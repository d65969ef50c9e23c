-- GET /v1/audit filters the trail and pages it newest first by (at, id). The first
-- migration's indexes serve `at` ranges (audit_events_at_idx), (entity_type, entity_id)
-- together (audit_events_entity_idx) and actor_id (audit_events_actor_idx). Two filters
-- had no index that returns rows in page order:
-- - entity_id alone: audit_events_entity_idx leads with entity_type, so it cannot be used
--   and the whole trail would be scanned for one entity's events;
-- - entity_type alone: every event of the type would be read and sorted for each page.
CREATE INDEX audit_events_entity_id_at_idx ON audit_events (entity_id, at DESC, id DESC);
CREATE INDEX audit_events_type_at_idx ON audit_events (entity_type, at DESC, id DESC);
