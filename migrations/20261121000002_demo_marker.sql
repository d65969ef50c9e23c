-- Remembers that `serve`, running on its own local PostgreSQL, has loaded the demo data
-- into this database, so it loads it once (see src/demo.rs). At most one row.
CREATE TABLE demo_seed (
    loaded      boolean PRIMARY KEY DEFAULT true CHECK (loaded),
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
