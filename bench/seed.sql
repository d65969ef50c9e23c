-- A realistic data set for bench/scale.sh, made with set-based SQL only.
--
--   psql -v scale=1 -v admin=<admin email> -f bench/seed.sql "$DATABASE_URL"
--
-- At scale 1: 100k brands (with an owner each), 50k marketers and 50 reviewers, 10 seasons
-- (8 ended, one running, one accepting), 1M applications across every status (each made in
-- its season's application window, so an older season's rows are old), 200k campaigns (one
-- per approved application), one whitelist entry per (brand, season) that has a campaign
-- (active, some suspended or revoked) and 5M audit events. Ids are md5 of a prefix and a
-- number, so every reference is computed instead of joined. Triggers are off while seeding
-- (session_replication_role = replica: no gate notifications, no FK checks, which the ids
-- satisfy by construction); CHECK constraints still hold every row.
\set ON_ERROR_STOP 1
SET session_replication_role = replica;
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';
SET work_mem = '256MB';

CREATE TEMP TABLE k AS SELECT
    greatest(1, round(100000 * :scale))::int AS brands,
    greatest(1, round(50000 * :scale))::int AS marketers,
    50 AS reviewers,
    10 AS seasons,
    greatest(20, round(1000000 * :scale))::int AS apps,
    greatest(1, round(5000000 * :scale))::int AS events,
    (SELECT id FROM users WHERE email = :'admin') AS admin;

-- Users: marketers u1..uM, reviewers r1..r50, all with the admin's password hash, so the
-- bench's login phase can log in as the reviewers with the admin's password.
INSERT INTO users (id, email, display_name, role, password_hash, created_at)
SELECT md5('u' || i)::uuid,
       'marketer' || i || '@brand' || (i % 997) || '.example',
       initcap(substr(md5('fn' || i), 1, 6)) || ' ' || initcap(substr(md5('ln' || i), 1, 8)),
       'marketer',
       (SELECT password_hash FROM users WHERE id = k.admin),
       now() - (i % 1800) * interval '1 day' - (i % 86400) * interval '1 second'
FROM k, generate_series(1, k.marketers) i;
INSERT INTO users (id, email, display_name, role, password_hash, created_at)
SELECT md5('r' || i)::uuid, 'reviewer' || i || '@platform.example', 'Reviewer ' || i, 'reviewer',
       (SELECT password_hash FROM users WHERE id = k.admin), now() - i * interval '1 day'
FROM k, generate_series(1, k.reviewers) i;

-- Brands b1..bN, names of two pseudo-words and a code, so a search for one rare word
-- matches a handful.
INSERT INTO brands (id, name, kind, tmall_store_url, verification, verified_by, verified_at,
                    created_by, created_at)
SELECT md5('b' || i)::uuid,
       initcap(substr(md5('w' || (i % 5000)), 1, 7)) || ' ' ||
           initcap(translate(substr(md5('v' || i), 1, 8), '0123456789', 'aeiouyaeio')) || ' ' || i,
       CASE WHEN i % 10 = 0 THEN 'independent_retailer' ELSE 'brand' END,
       'https://store' || i || '.tmall.com',
       CASE WHEN i % 10 < 7 THEN 'verified' WHEN i % 10 < 9 THEN 'pending' ELSE 'rejected' END,
       CASE WHEN i % 10 < 7 OR i % 10 = 9 THEN md5('r' || (1 + i % 50))::uuid END,
       CASE WHEN i % 10 < 7 OR i % 10 = 9 THEN now() - (i % 1700) * interval '1 day' END,
       md5('u' || (1 + i % k.marketers))::uuid,
       now() - (i % 1800) * interval '1 day' - (i % 86400) * interval '1 second'
FROM k, generate_series(1, k.brands) i;
INSERT INTO brand_members (brand_id, user_id, role, added_at)
SELECT md5('b' || i)::uuid, md5('u' || (1 + i % k.marketers))::uuid, 'owner', now() - (i % 1800) * interval '1 day'
FROM k, generate_series(1, k.brands) i;

-- Seasons s0..s9, half a year apart: s0..s7 ended, s8 running, s9 accepting.
INSERT INTO seasons (id, code, name, applications_open_at, applications_close_at, starts_at,
                     ends_at, created_at)
SELECT md5('s' || j)::uuid, 'bench-' || j, 'Bench season ' || j,
       b - interval '60 days', b - interval '10 days', b - interval '5 days', b + interval '25 days',
       b - interval '70 days'
FROM (SELECT j, CASE WHEN j = 9 THEN now() + interval '40 days'
                     ELSE now() - (8 - j) * interval '180 days' END AS b
      FROM generate_series(0, 9) j) s;

-- Applications a1..aN. Status by g % 20: 4/20 approved, 3 draft, 2 submitted (one in ten of
-- them an appeal), 2 in_review, 2 changes_requested, 4 rejected, 3 withdrawn.
CREATE TEMP TABLE app_src AS
SELECT g,
       md5('a' || g)::uuid AS id,
       md5('b' || (1 + (hashint4(g)::int8 & 2147483647) % k.brands))::uuid AS brand_id,
       1 + (hashint4(g)::int8 & 2147483647) % k.brands AS brand_no,
       (hashint4(g + 7)::int8 & 2147483647) % k.seasons AS season_no,
       CASE g % 20
           WHEN 0 THEN 'approved' WHEN 5 THEN 'approved' WHEN 10 THEN 'approved' WHEN 15 THEN 'approved'
           WHEN 1 THEN 'draft' WHEN 2 THEN 'draft' WHEN 17 THEN 'draft'
           WHEN 3 THEN 'submitted' WHEN 18 THEN 'submitted'
           WHEN 4 THEN 'in_review' WHEN 6 THEN 'in_review'
           WHEN 7 THEN 'changes_requested' WHEN 8 THEN 'changes_requested'
           WHEN 9 THEN 'rejected' WHEN 11 THEN 'rejected' WHEN 12 THEN 'rejected' WHEN 13 THEN 'rejected'
           ELSE 'withdrawn' END AS status,
       ((hashint4(g + 13)::int8 & 2147483647) % 100000) / 100000.0 AS r
FROM k, generate_series(1, k.apps) g;

INSERT INTO applications (id, brand_id, season_id, title, creative, landing, requested_starts_at,
    requested_ends_at, budget_total_fen, budget_daily_cap_fen, budget_cpm_bid_fen, targeting,
    status, version, appeal, appeal_used, rejected_by, created_by, created_at, updated_at,
    submitted_at, reviewer_id, decision, decision_reason_code, decision_note, decided_by, decided_at)
SELECT a.id, a.brand_id, s.id, 'Campaign ' || a.g || ' for ' || s.code,
       jsonb_build_object('headline', 'Double deals ' || a.g, 'body', 'Shop the flagship store.',
           'card_label', 'Tmall flagship store', 'logo_url', 'https://img.example.com/l/' || a.g || '.png',
           'image_urls', jsonb_build_array('https://img.example.com/i/' || a.g || '.jpg')),
       jsonb_build_object('app_url', 'tmall://page.tm/shop?id=' || a.brand_no,
           'web_url', 'https://store' || a.brand_no || '.tmall.com'),
       s.starts_at, s.starts_at + interval '20 days',
       1000000 + a.g, NULL, 3000,
       jsonb_build_object('regions', jsonb_build_array('CN-SH'), 'age_min', 18, 'age_max', 45,
           'genders', '[]'::jsonb, 'interests', jsonb_build_array('beauty')),
       a.status, 3,
       a.status = 'submitted' AND a.g % 10 = 3,
       a.status = 'submitted' AND a.g % 10 = 3,
       CASE WHEN a.status = 'submitted' AND a.g % 10 = 3 THEN md5('r' || (1 + a.g % 50))::uuid END,
       md5('u' || (1 + a.brand_no % k.marketers))::uuid,
       t.created, t.created + interval '3 days',
       CASE WHEN a.status NOT IN ('draft', 'withdrawn') THEN t.submitted END,
       CASE WHEN a.status IN ('in_review', 'approved', 'rejected', 'changes_requested')
            THEN md5('r' || (1 + a.g % 50))::uuid END,
       CASE a.status WHEN 'approved' THEN 'approve' WHEN 'rejected' THEN 'reject'
                     WHEN 'changes_requested' THEN 'request_changes' END,
       CASE WHEN a.status IN ('rejected', 'changes_requested') THEN 'creative_policy' END,
       CASE WHEN a.status IN ('rejected', 'changes_requested') THEN 'Logo too small.' END,
       CASE WHEN a.status IN ('approved', 'rejected', 'changes_requested')
            THEN md5('r' || (1 + a.g % 50))::uuid END,
       CASE WHEN a.status IN ('approved', 'rejected', 'changes_requested')
            THEN least(t.submitted + (1 + a.g % 400) * interval '15 minutes', now()) END
FROM app_src a
JOIN (SELECT j, md5('s' || j)::uuid AS id, 'bench-' || j AS code, applications_open_at AS o,
             least(applications_close_at, now() - interval '1 day') AS c, starts_at
      FROM seasons s, generate_series(0, 9) j WHERE s.id = md5('s' || j)::uuid) s ON s.j = a.season_no
CROSS JOIN k
CROSS JOIN LATERAL (SELECT s.o + a.r * (s.c - s.o) AS created,
                           s.o + a.r * (s.c - s.o) + interval '2 hours' AS submitted) t;

-- One campaign per approved application; paused one in twenty.
INSERT INTO campaigns (id, application_id, brand_id, season_id, title, starts_at, ends_at, paused,
                       created_at, updated_at)
SELECT md5('c' || substr(a.id::text, 1, 36))::uuid, a.id, a.brand_id, a.season_id, a.title,
       a.requested_starts_at, a.requested_ends_at, (hashtext(a.title)::int8 & 2147483647) % 20 = 0,
       a.decided_at, a.decided_at
FROM applications a WHERE a.status = 'approved';

-- One whitelist entry per (brand, season) with a campaign: 90 % active, 5 % suspended,
-- 5 % revoked.
INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, valid_until,
    source_application_id, granted_by, granted_at, status_reason, updated_at)
SELECT md5('w' || x.brand_id || x.season_id)::uuid, x.brand_id, x.season_id,
       CASE WHEN x.h % 20 = 0 THEN 'suspended' WHEN x.h % 20 = 1 THEN 'revoked' ELSE 'active' END,
       s.starts_at, s.ends_at, x.app_id, md5('r' || (1 + x.h % 50))::uuid, x.granted_at,
       CASE WHEN x.h % 20 IN (0, 1) THEN 'Policy check' END, x.granted_at
FROM (SELECT brand_id, season_id, (array_agg(id ORDER BY decided_at))[1] AS app_id,
             min(decided_at) AS granted_at, (hashtext(brand_id::text || season_id::text)::int8 & 2147483647) AS h
      FROM applications WHERE status = 'approved' GROUP BY brand_id, season_id) x
JOIN seasons s ON s.id = x.season_id;

-- Audit events: mostly applications, then brands, whitelist entries and campaigns.
INSERT INTO audit_events (id, at, actor_id, actor_role, entity_type, entity_id, action,
                          from_status, to_status, note)
SELECT md5('e' || e)::uuid,
       now() - ((hashint4(e)::int8 & 2147483647) % (5 * 365 * 86400)) * interval '1 second',
       CASE WHEN e % 3 = 0 THEN md5('r' || (1 + e % 50))::uuid ELSE md5('u' || (1 + e % k.marketers))::uuid END,
       CASE WHEN e % 3 = 0 THEN 'reviewer' ELSE 'marketer' END,
       CASE WHEN e % 10 < 7 THEN 'application' WHEN e % 10 < 8 THEN 'brand'
            WHEN e % 10 < 9 THEN 'campaign' ELSE 'whitelist_entry' END,
       CASE WHEN e % 10 < 7 THEN md5('a' || (1 + e % k.apps))::uuid
            WHEN e % 10 < 8 THEN md5('b' || (1 + e % k.brands))::uuid
            ELSE md5('x' || (e % 100000))::uuid END,
       CASE e % 4 WHEN 0 THEN 'create' WHEN 1 THEN 'submit' WHEN 2 THEN 'claim' ELSE 'decision' END,
       'draft', 'submitted', NULL
FROM k, generate_series(1, k.events) e;

-- The trigger that keeps application_counts was off while seeding: count once.
DELETE FROM application_counts;
INSERT INTO application_counts (season_id, status, n)
    SELECT season_id, status, count(*) FROM applications GROUP BY season_id, status;

RESET session_replication_role;
ANALYZE;
SELECT (SELECT count(*) FROM brands) AS brands, (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM applications) AS applications,
       (SELECT count(*) FROM campaigns) AS campaigns,
       (SELECT count(*) FROM whitelist_entries) AS whitelist,
       (SELECT count(*) FROM audit_events) AS audit_events,
       pg_size_pretty(pg_database_size(current_database())) AS size;
