-- Indexes for lists at a realistic size (bench/scale.sh: 1M applications, 200k campaigns,
-- 5M audit events). Each serves a list filter in its page order, so a page reads about as
-- many rows as it shows instead of walking the newest rows of every other filter value.

-- GET /v1/applications?season_id=: an older season's rows sit behind all newer ones in
-- applications_created_idx. Leads with season_id, so it also answers what
-- applications_season_idx answered.
CREATE INDEX applications_season_created_idx
    ON applications (season_id, created_at DESC, id DESC);
DROP INDEX applications_season_idx;

-- GET /v1/review/queue orders by (NOT appeal, submitted_at, id); the old index's
-- (appeal DESC, ...) is the same order but the planner cannot match an expression to a
-- column with another direction, so it sorted every submitted row. The query now uses
-- exactly these expressions.
CREATE INDEX applications_queue_order_idx
    ON applications ((NOT appeal), submitted_at, id) WHERE status = 'submitted';
CREATE INDEX applications_queue_season_idx
    ON applications (season_id, (NOT appeal), submitted_at, id) WHERE status = 'submitted';
DROP INDEX applications_queue_idx;

-- The dashboard: the oldest pending submit (min over an index) and decision times
-- (percentiles read in order from an index instead of sorting every decided row).
CREATE INDEX applications_pending_idx
    ON applications (season_id, submitted_at) WHERE status IN ('submitted', 'in_review');
CREATE INDEX applications_pending_all_idx
    ON applications (submitted_at) WHERE status IN ('submitted', 'in_review');
CREATE INDEX applications_decision_time_idx
    ON applications (season_id, (decided_at - submitted_at)) INCLUDE (decided_at, submitted_at)
    WHERE status IN ('approved', 'rejected', 'changes_requested');
CREATE INDEX applications_decision_time_all_idx
    ON applications ((decided_at - submitted_at)) INCLUDE (decided_at, submitted_at)
    WHERE status IN ('approved', 'rejected', 'changes_requested');

-- Applications by (season, status), kept by a trigger in the same transaction as every
-- insert, status change and delete, so the dashboard reads seven rows per season instead
-- of counting a million. The two rows a change touches are locked in status order, so two
-- transactions moving applications of one season in opposite directions cannot deadlock.
CREATE TABLE application_counts (
    season_id  uuid NOT NULL REFERENCES seasons (id) ON DELETE CASCADE,
    status     text NOT NULL,
    n          bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (season_id, status)
);

CREATE FUNCTION count_applications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.season_id = NEW.season_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO application_counts (season_id, status, n)
            VALUES (NEW.season_id, NEW.status, 0) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.season_id = NEW.season_id THEN
        PERFORM 1 FROM application_counts
            WHERE season_id = NEW.season_id AND status IN (OLD.status, NEW.status)
            ORDER BY status FOR UPDATE;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE application_counts SET n = n - 1
            WHERE season_id = OLD.season_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE application_counts SET n = n + 1
            WHERE season_id = NEW.season_id AND status = NEW.status;
    END IF;
    RETURN NULL;
END $$;

-- Trigger first, then the backfill, in this migration's transaction: the trigger's lock
-- keeps writers out until both are done.
CREATE TRIGGER applications_count AFTER INSERT OR UPDATE OF status, season_id OR DELETE
    ON applications FOR EACH ROW EXECUTE FUNCTION count_applications();
INSERT INTO application_counts (season_id, status, n)
    SELECT season_id, status, count(*) FROM applications GROUP BY season_id, status;

-- GET /v1/whitelist?season_id= and ?status=, in page order.
CREATE INDEX whitelist_season_granted_idx
    ON whitelist_entries (season_id, granted_at DESC, id DESC);
CREATE INDEX whitelist_status_granted_idx
    ON whitelist_entries (status, granted_at DESC, id DESC);
-- The dashboard counts a season's entries by status from the index alone.
CREATE INDEX whitelist_season_status_idx ON whitelist_entries (season_id, status);
-- A campaign's state asks whether its (brand, season) has an active entry: one probe.
CREATE INDEX whitelist_active_idx
    ON whitelist_entries (brand_id, season_id) WHERE status = 'active';

-- GET /v1/campaigns?season_id=, in page order; ?state= filters on the times and the pause
-- switch carried in the index before it looks the whitelist up.
CREATE INDEX campaigns_season_created_idx
    ON campaigns (season_id, created_at DESC, id DESC);
CREATE INDEX campaigns_ends_idx ON campaigns (ends_at);
CREATE INDEX campaigns_season_ends_idx ON campaigns (season_id, ends_at);

-- GET /v1/brands?q= and GET /v1/users?q= search inside names (ILIKE '%…%'): trigram
-- indexes answer a rare word without reading every row.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX brands_name_trgm_idx ON brands USING gin (name gin_trgm_ops);
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_display_name_trgm_idx ON users USING gin (display_name gin_trgm_ops);
