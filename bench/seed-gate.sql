-- Only what the gate loads, at `mult` times bench/seed.sql's scale-1 size, into a database of
-- its own: for timing start-up to ready with the gate's state fully loaded.
--
--   psql -v mult=10 -f bench/seed-gate.sql "$DATABASE_URL_OF_AN_EMPTY_MIGRATED_DATABASE"
--
-- At mult 10: 1M brands (70 % verified), 2M campaigns and 1.81M whitelist entries (90 %
-- active, 5 % suspended, 5 % revoked). Triggers and FK checks are off while seeding
-- (session_replication_role = replica), and the rows campaigns and entries point at
-- (applications, seasons, users) are not made: the gate never reads them. CHECK
-- constraints still hold every row.
\set ON_ERROR_STOP 1
SET session_replication_role = replica;
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';

CREATE TEMP TABLE k AS SELECT
    (100000 * :mult)::int AS brands,
    (200000 * :mult)::int AS campaigns,
    (181088 * :mult)::int AS entries;

INSERT INTO brands (id, name, kind, tmall_store_url, verification, verified_by, verified_at,
                    created_by, created_at)
SELECT md5('b' || i)::uuid, 'Gate bench brand ' || i, 'brand', 'https://store' || i || '.tmall.com',
       CASE WHEN i % 10 < 7 THEN 'verified' ELSE 'pending' END,
       CASE WHEN i % 10 < 7 THEN md5('r1')::uuid END,
       CASE WHEN i % 10 < 7 THEN now() - interval '30 days' END,
       md5('u1')::uuid, now() - interval '60 days'
FROM k, generate_series(1, k.brands) i;

-- Campaigns over ten seasons, a week each, some running now; paused one in twenty.
INSERT INTO campaigns (id, application_id, brand_id, season_id, title, starts_at, ends_at, paused,
                       created_at, updated_at)
SELECT md5('c' || i)::uuid, md5('a' || i)::uuid, md5('b' || (1 + i % k.brands))::uuid,
       md5('s' || (i % 10))::uuid, 'Gate bench campaign ' || i,
       now() + ((i % 10) - 5) * interval '7 days', now() + ((i % 10) - 4) * interval '7 days',
       i % 20 = 0, now() - interval '10 days', now() - interval '10 days'
FROM k, generate_series(1, k.campaigns) i;

-- One entry per (brand, season) pair, distinct pairs (in seasons 0 and 1 only, so most
-- campaigns have no entry: the load's cost is in the rows, not in how they match).
INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, valid_until,
    source_application_id, granted_by, granted_at, status_reason, updated_at)
SELECT md5('w' || j)::uuid, md5('b' || (1 + j % k.brands))::uuid, md5('s' || (j / k.brands))::uuid,
       CASE WHEN j % 20 = 0 THEN 'suspended' WHEN j % 20 = 1 THEN 'revoked' ELSE 'active' END,
       now() - interval '60 days', now() + interval '60 days', md5('a' || j)::uuid,
       md5('r1')::uuid, now() - interval '30 days',
       CASE WHEN j % 20 IN (0, 1) THEN 'Policy check' END, now() - interval '30 days'
FROM k, generate_series(0, k.entries - 1) j;
