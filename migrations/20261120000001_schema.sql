-- moments-gate schema. The database enforces what it can: value sets, orders of times,
-- one open whitelist entry per (brand, season), one campaign per application.

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    email            text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role             text NOT NULL CHECK (role IN ('marketer', 'reviewer', 'admin')),
    disabled         boolean NOT NULL DEFAULT false,
    password_hash    text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    CHECK (created_at < expires_at)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

CREATE TABLE login_failures (
    id       bigserial PRIMARY KEY,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user_at_idx ON login_failures (user_id, at);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, id DESC);

CREATE TABLE idempotency_keys (
    caller          bytea NOT NULL,
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash    bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    status_code     integer,
    response_headers jsonb,
    response_body   bytea,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE audit_events (
    id           uuid PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id     uuid,
    actor_role   text NOT NULL CHECK (actor_role IN ('marketer', 'reviewer', 'admin', 'service', 'system')),
    entity_type  text NOT NULL CHECK (entity_type IN ('user', 'api_key', 'brand', 'season', 'application', 'whitelist_entry', 'campaign')),
    entity_id    uuid NOT NULL,
    action       text NOT NULL,
    from_status  text,
    to_status    text,
    note         text
);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, at, id);
CREATE INDEX audit_events_at_idx ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, at DESC);

CREATE TABLE brands (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind               text NOT NULL CHECK (kind IN ('brand', 'independent_retailer')),
    tmall_store_url    text NOT NULL CHECK (tmall_store_url LIKE 'https://%'),
    verification       text NOT NULL DEFAULT 'pending' CHECK (verification IN ('pending', 'verified', 'rejected')),
    verification_note  text,
    verified_by        uuid REFERENCES users (id),
    verified_at        timestamptz,
    created_by         uuid NOT NULL REFERENCES users (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX brands_created_idx ON brands (created_at DESC, id DESC);

CREATE TABLE brand_members (
    brand_id   uuid NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id),
    role       text NOT NULL CHECK (role IN ('owner', 'member')),
    added_at   timestamptz NOT NULL DEFAULT now(),
    added_by   uuid REFERENCES users (id),
    PRIMARY KEY (brand_id, user_id)
);
CREATE INDEX brand_members_user_idx ON brand_members (user_id);

CREATE TABLE seasons (
    id                     uuid PRIMARY KEY,
    code                   text NOT NULL CHECK (code ~ '^[a-z0-9-]{2,40}$'),
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone               text NOT NULL DEFAULT 'Asia/Shanghai',
    applications_open_at   timestamptz NOT NULL,
    applications_close_at  timestamptz NOT NULL,
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    phases                 jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(phases) = 'array'),
    version                integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seasons_code_key UNIQUE (code),
    CONSTRAINT seasons_windows_ordered CHECK (
        applications_open_at < applications_close_at
        AND applications_close_at <= ends_at
        AND starts_at < ends_at)
);
CREATE INDEX seasons_created_idx ON seasons (created_at DESC, id DESC);

CREATE TABLE applications (
    id                    uuid PRIMARY KEY,
    brand_id              uuid NOT NULL REFERENCES brands (id),
    season_id             uuid NOT NULL REFERENCES seasons (id),
    title                 text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    creative              jsonb,
    landing               jsonb,
    requested_starts_at   timestamptz,
    requested_ends_at     timestamptz,
    budget_total_fen      bigint CHECK (budget_total_fen > 0),
    budget_daily_cap_fen  bigint CHECK (budget_daily_cap_fen > 0),
    budget_cpm_bid_fen    bigint CHECK (budget_cpm_bid_fen > 0),
    targeting             jsonb,
    status                text NOT NULL DEFAULT 'draft' CHECK (status IN
                            ('draft', 'submitted', 'in_review', 'changes_requested', 'approved', 'rejected', 'withdrawn')),
    version               integer NOT NULL DEFAULT 1 CHECK (version > 0),
    appeal                boolean NOT NULL DEFAULT false,
    appeal_used           boolean NOT NULL DEFAULT false,
    rejected_by           uuid REFERENCES users (id),
    created_by            uuid NOT NULL REFERENCES users (id),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    submitted_at          timestamptz,
    reviewer_id           uuid REFERENCES users (id),
    decision              text CHECK (decision IN ('approve', 'reject', 'request_changes')),
    decision_reason_code  text CHECK (decision_reason_code IN
                            ('brand_ineligible', 'creative_policy', 'landing_page', 'targeting', 'budget', 'other')),
    decision_note         text,
    decided_by            uuid REFERENCES users (id),
    decided_at            timestamptz,
    CHECK (requested_starts_at IS NULL OR requested_ends_at IS NULL OR requested_starts_at < requested_ends_at),
    CHECK (budget_daily_cap_fen IS NULL OR budget_daily_cap_fen <= budget_total_fen),
    CHECK ((budget_total_fen IS NULL) = (budget_cpm_bid_fen IS NULL)),
    CHECK (status <> 'in_review' OR reviewer_id IS NOT NULL),
    CHECK (status IN ('draft', 'withdrawn') OR submitted_at IS NOT NULL),
    CHECK (status NOT IN ('approved', 'rejected', 'changes_requested') OR decided_at IS NOT NULL),
    CHECK (NOT appeal OR appeal_used)
);
CREATE INDEX applications_brand_idx ON applications (brand_id, created_at DESC, id DESC);
CREATE INDEX applications_season_idx ON applications (season_id);
CREATE INDEX applications_created_idx ON applications (created_at DESC, id DESC);
CREATE INDEX applications_queue_idx ON applications (appeal DESC, submitted_at, id) WHERE status = 'submitted';

CREATE TABLE whitelist_entries (
    id                     uuid PRIMARY KEY,
    brand_id               uuid NOT NULL REFERENCES brands (id),
    season_id              uuid NOT NULL REFERENCES seasons (id),
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
    valid_from             timestamptz NOT NULL,
    valid_until            timestamptz NOT NULL,
    source_application_id  uuid REFERENCES applications (id),
    granted_by             uuid NOT NULL REFERENCES users (id),
    granted_at             timestamptz NOT NULL DEFAULT now(),
    status_reason          text,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_from < valid_until)
);
-- At most one entry that is not revoked per (brand, season).
CREATE UNIQUE INDEX whitelist_one_open_per_brand_season
    ON whitelist_entries (brand_id, season_id) WHERE status <> 'revoked';
CREATE INDEX whitelist_created_idx ON whitelist_entries (granted_at DESC, id DESC);

CREATE TABLE campaigns (
    id              uuid PRIMARY KEY,
    application_id  uuid NOT NULL REFERENCES applications (id),
    brand_id        uuid NOT NULL REFERENCES brands (id),
    season_id       uuid NOT NULL REFERENCES seasons (id),
    title           text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    paused          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_one_per_application UNIQUE (application_id),
    CHECK (starts_at < ends_at)
);
CREATE INDEX campaigns_brand_idx ON campaigns (brand_id, created_at DESC, id DESC);
CREATE INDEX campaigns_created_idx ON campaigns (created_at DESC, id DESC);

-- The gate keeps campaigns, whitelist entries, brands' verification and API keys in
-- memory; every change to them is announced so each instance can refresh what changed.
CREATE FUNCTION notify_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gate_changes', TG_TABLE_NAME || ':' || COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER campaigns_notify_gate AFTER INSERT OR UPDATE OR DELETE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION notify_gate();
CREATE TRIGGER whitelist_notify_gate AFTER INSERT OR UPDATE OR DELETE ON whitelist_entries
    FOR EACH ROW EXECUTE FUNCTION notify_gate();
CREATE TRIGGER brands_notify_gate AFTER INSERT OR UPDATE OR DELETE ON brands
    FOR EACH ROW EXECUTE FUNCTION notify_gate();
CREATE TRIGGER api_keys_notify_gate AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION notify_gate();
