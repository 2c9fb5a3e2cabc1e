-- API keys are looked up by the hash of the presented secret on every
-- request (no cache, so revocation is immediate), and record when they were
-- last used. The access log gains who (key name), from where (remote
-- address) and which tile, and becomes append-only in the database itself:
-- it is the record of who read victims' locations, so not even a bug in the
-- service may rewrite it.
--
-- +goose Up
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
CREATE UNIQUE INDEX api_keys_hash_idx ON api_keys (hash);

ALTER TABLE access_log
    ADD COLUMN key_name    text NOT NULL DEFAULT '',
    ADD COLUMN tile        text NOT NULL DEFAULT '',
    ADD COLUMN remote_addr text NOT NULL DEFAULT '';
CREATE INDEX access_log_key_idx ON access_log (key_id, at);

-- +goose StatementBegin
CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();

-- +goose Down
DROP TRIGGER access_log_append_only ON access_log;
DROP FUNCTION access_log_append_only();
DROP INDEX access_log_key_idx;
ALTER TABLE access_log DROP COLUMN key_name, DROP COLUMN tile, DROP COLUMN remote_addr;
DROP INDEX api_keys_hash_idx;
ALTER TABLE api_keys DROP COLUMN last_used_at;
