-- The dashboard at scale (bench/scale.sh, 1M applications): its figures come from counts
-- kept in the same transaction as every change, so a summary reads a few hundred rows
-- instead of walking every decided application, whitelist entry and campaign.

-- Decision times (decided_at - submitted_at of the applications whose status is a decision
-- outcome) counted per season and bucket. A bucket is named by its lower bound in whole
-- seconds: below 128 s every second is a bucket; above, the 7 leading bits of the seconds
-- (at most 1/64 wide). The bucket is a non-decreasing function of the time, so the k-th
-- smallest time is found exactly: add up the buckets in order to the one holding rank k,
-- then read the index from that bucket's lower bound (applications_decision_time*_idx),
-- skipping only the ranks inside the bucket.
CREATE FUNCTION decision_bucket(d interval) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN s < 128 THEN s ELSE (s >> (b - 7)) << (b - 7) END
    FROM (SELECT s, length(ltrim(s::bit(64)::text, '0')) AS b
          FROM (SELECT floor(extract(epoch FROM d))::bigint AS s) x) y
$$;

CREATE TABLE decision_time_counts (
    season_id  uuid NOT NULL REFERENCES seasons (id) ON DELETE CASCADE,
    lo_seconds bigint NOT NULL,
    n          bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (season_id, lo_seconds)
);

CREATE FUNCTION count_decision_times() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_in boolean := TG_OP IN ('UPDATE', 'DELETE')
        AND OLD.status IN ('approved', 'rejected', 'changes_requested');
    new_in boolean := TG_OP IN ('INSERT', 'UPDATE')
        AND NEW.status IN ('approved', 'rejected', 'changes_requested');
    old_lo bigint;
    new_lo bigint;
BEGIN
    IF old_in THEN
        old_lo := decision_bucket(OLD.decided_at - OLD.submitted_at);
    END IF;
    IF new_in THEN
        new_lo := decision_bucket(NEW.decided_at - NEW.submitted_at);
    END IF;
    IF old_in AND new_in AND OLD.season_id = NEW.season_id
            AND old_lo IS NOT DISTINCT FROM new_lo THEN
        RETURN NULL;
    END IF;
    IF new_in AND new_lo IS NOT NULL THEN
        INSERT INTO decision_time_counts (season_id, lo_seconds, n)
            VALUES (NEW.season_id, new_lo, 0) ON CONFLICT DO NOTHING;
        IF old_in AND old_lo IS NOT NULL THEN
            -- Both rows in one order, so two such changes cannot deadlock.
            PERFORM 1 FROM decision_time_counts
                WHERE (season_id, lo_seconds) IN ((OLD.season_id, old_lo), (NEW.season_id, new_lo))
                ORDER BY season_id, lo_seconds FOR UPDATE;
        END IF;
    END IF;
    IF old_in AND old_lo IS NOT NULL THEN
        UPDATE decision_time_counts SET n = n - 1
            WHERE season_id = OLD.season_id AND lo_seconds = old_lo;
    END IF;
    IF new_in AND new_lo IS NOT NULL THEN
        UPDATE decision_time_counts SET n = n + 1
            WHERE season_id = NEW.season_id AND lo_seconds = new_lo;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER applications_decision_times
    AFTER INSERT OR UPDATE OF status, season_id, submitted_at, decided_at OR DELETE
    ON applications FOR EACH ROW EXECUTE FUNCTION count_decision_times();
INSERT INTO decision_time_counts (season_id, lo_seconds, n)
    SELECT season_id, decision_bucket(decided_at - submitted_at), count(*)
    FROM applications
    WHERE status IN ('approved', 'rejected', 'changes_requested')
      AND decided_at IS NOT NULL AND submitted_at IS NOT NULL
    GROUP BY 1, 2;

-- Whitelist entries by (season, status), as application_counts does for applications.
CREATE TABLE whitelist_counts (
    season_id  uuid NOT NULL REFERENCES seasons (id) ON DELETE CASCADE,
    status     text NOT NULL,
    n          bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (season_id, status)
);

CREATE FUNCTION count_whitelist_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.season_id = NEW.season_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO whitelist_counts (season_id, status, n)
            VALUES (NEW.season_id, NEW.status, 0) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.season_id = NEW.season_id THEN
        PERFORM 1 FROM whitelist_counts
            WHERE season_id = NEW.season_id AND status IN (OLD.status, NEW.status)
            ORDER BY status FOR UPDATE;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE whitelist_counts SET n = n - 1
            WHERE season_id = OLD.season_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE whitelist_counts SET n = n + 1
            WHERE season_id = NEW.season_id AND status = NEW.status;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER whitelist_entries_count AFTER INSERT OR UPDATE OF status, season_id OR DELETE
    ON whitelist_entries FOR EACH ROW EXECUTE FUNCTION count_whitelist_entries();
INSERT INTO whitelist_counts (season_id, status, n)
    SELECT season_id, status, count(*) FROM whitelist_entries GROUP BY season_id, status;

-- Campaigns per season: ended = all - the others, so the ended ones (most of them, in
-- older seasons) are not counted one by one.
CREATE TABLE campaign_counts (
    season_id  uuid PRIMARY KEY REFERENCES seasons (id) ON DELETE CASCADE,
    n          bigint NOT NULL CHECK (n >= 0)
);

CREATE FUNCTION count_campaigns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.season_id = NEW.season_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO campaign_counts (season_id, n) VALUES (NEW.season_id, 0)
            ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM 1 FROM campaign_counts WHERE season_id IN (OLD.season_id, NEW.season_id)
            ORDER BY season_id FOR UPDATE;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE campaign_counts SET n = n - 1 WHERE season_id = OLD.season_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE campaign_counts SET n = n + 1 WHERE season_id = NEW.season_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER campaigns_count AFTER INSERT OR UPDATE OF season_id OR DELETE
    ON campaigns FOR EACH ROW EXECUTE FUNCTION count_campaigns();
INSERT INTO campaign_counts (season_id, n)
    SELECT season_id, count(*) FROM campaigns GROUP BY season_id;

-- Whether a campaign's brand has an active whitelist entry for its season, on the
-- campaign's row: its state (halted or not) is then read from the row, so counting
-- campaigns by state and listing the halted ones need no whitelist probe per campaign
-- (20k probes cost 100 ms for one season). The database keeps it true: a campaign's
-- trigger sets it on insert and on any change of its brand, season or the flag itself,
-- and a whitelist entry's trigger sets it on every campaign of the (brand, season) it
-- leaves or enters, or whose status it changes. Both take one transaction lock per
-- (brand, season) before they read, so a campaign written while an entry of its pair
-- changes waits for the other and then reads it committed (every writer runs at READ
-- COMMITTED, where each statement sees what committed before it).
ALTER TABLE campaigns ADD COLUMN whitelisted boolean NOT NULL DEFAULT false;

CREATE FUNCTION campaign_whitelisted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(NEW.brand_id::text), hashtext(NEW.season_id::text));
    NEW.whitelisted := EXISTS (SELECT 1 FROM whitelist_entries w
        WHERE w.brand_id = NEW.brand_id AND w.season_id = NEW.season_id AND w.status = 'active');
    RETURN NEW;
END $$;

CREATE FUNCTION flag_campaigns(brand uuid, season uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(brand::text), hashtext(season::text));
    -- The campaigns' own trigger computes the value; this only makes it run.
    UPDATE campaigns c SET whitelisted = NOT c.whitelisted
        WHERE c.brand_id = brand AND c.season_id = season
          AND c.whitelisted IS DISTINCT FROM EXISTS (SELECT 1 FROM whitelist_entries w
              WHERE w.brand_id = brand AND w.season_id = season AND w.status = 'active');
END $$;

CREATE FUNCTION whitelist_flags_campaigns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM flag_campaigns(OLD.brand_id, OLD.season_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
            AND (NEW.brand_id, NEW.season_id) IS DISTINCT FROM (OLD.brand_id, OLD.season_id)) THEN
        PERFORM flag_campaigns(NEW.brand_id, NEW.season_id);
    END IF;
    RETURN NULL;
END $$;

-- The backfill first (the gate need not hear of it: its state does not include the flag).
ALTER TABLE campaigns DISABLE TRIGGER campaigns_notify_gate;
UPDATE campaigns c SET whitelisted = true
    WHERE EXISTS (SELECT 1 FROM whitelist_entries w
        WHERE w.brand_id = c.brand_id AND w.season_id = c.season_id AND w.status = 'active');
ALTER TABLE campaigns ENABLE TRIGGER campaigns_notify_gate;
CREATE TRIGGER campaigns_whitelisted
    BEFORE INSERT OR UPDATE OF brand_id, season_id, whitelisted ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaign_whitelisted();
CREATE TRIGGER whitelist_entries_flag_campaigns
    AFTER INSERT OR UPDATE OF status, brand_id, season_id OR DELETE ON whitelist_entries
    FOR EACH ROW EXECUTE FUNCTION whitelist_flags_campaigns();

-- The campaigns not yet ended with what their state needs, from the index alone: for one
-- season and for all.
CREATE INDEX campaigns_running_idx
    ON campaigns (season_id, ends_at) INCLUDE (starts_at, paused, whitelisted);
DROP INDEX campaigns_season_ends_idx;
CREATE INDEX campaigns_running_all_idx
    ON campaigns (ends_at) INCLUDE (starts_at, paused, whitelisted);
DROP INDEX campaigns_ends_idx;
-- GET /v1/campaigns?state=halted: the halted campaigns in page order (the ended ones among
-- them are skipped; they are few next to the newest, running ones).
CREATE INDEX campaigns_halted_idx
    ON campaigns (created_at DESC, id DESC) WHERE NOT whitelisted;
