-- API keys are looked up by the hash of the presented secret on every
-- request (no cache, so revocation is immediate), and record when they were
-- last used. The access log gains who (key name), from where (remote
-- address) and which tile, and becomes append-only in the database itself:
-- it is the record of who read victims' locations, so not even a bug in the
-- service may rewrite it. Times are microseconds since 1970, as elsewhere.
--
-- +goose Up
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
CREATE UNIQUE INDEX api_keys_hash_idx ON api_keys (hash);

ALTER TABLE access_log ADD COLUMN key_name TEXT NOT NULL DEFAULT '';
ALTER TABLE access_log ADD COLUMN tile TEXT NOT NULL DEFAULT '';
ALTER TABLE access_log ADD COLUMN remote_addr TEXT NOT NULL DEFAULT '';
CREATE INDEX access_log_key_idx ON access_log (key_id, at);

-- +goose StatementBegin
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER access_log_no_delete;
DROP TRIGGER access_log_no_update;
DROP INDEX access_log_key_idx;
ALTER TABLE access_log DROP COLUMN remote_addr;
ALTER TABLE access_log DROP COLUMN tile;
ALTER TABLE access_log DROP COLUMN key_name;
DROP INDEX api_keys_hash_idx;
ALTER TABLE api_keys DROP COLUMN last_used_at;
