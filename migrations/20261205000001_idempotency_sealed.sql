-- Stored idempotent answers are now sealed with a key derived from the request (see
-- src/idempotency.rs), and keys are scoped by credential, method and path. Rows of the
-- old format held answers in the clear, tokens and keys among them: they go.
DELETE FROM idempotency_keys;
