-- Cheaper rows for bulk loads: incidents.raw becomes json, and the
-- unique key (source, source_id) compares with the "C" collation.
--
-- raw was jsonb, which PostgreSQL parses into its binary form on every
-- write. Nothing needs that form: raw is only read back whole, as bytes
-- (audit, re-processing), and set to NULL by retention; no query applies
-- a jsonb operator to it. As json it is checked to be JSON and stored as
-- sent. Measured with binary COPY of a million benchmark rows: raw alone
-- 1.6 s of server CPU as jsonb, 0.8 s as json; whole incident rows 10.1
-- against 8.7 us per row (means of alternating runs).
--
-- Reads return raw byte for byte as written (compact, keys in the source's
-- order). Rows written before this migration keep the text jsonb gave them
-- ({"a": 1, "id": "x"}: spaces, keys reordered), the same JSON. Content
-- hashes are of the incoming row, not of this column, so reloading a file
-- after the upgrade still finds every row unchanged.
--
-- The database's default collation (C.UTF-8 here) sorts UTF-8 text in code
-- point order, which is byte order: "C" gives the same order and equality
-- by memcmp, without the locale library's strcoll. Every new row is one
-- insert into this unique index: 2.7 against 3.0 us of server CPU per row
-- for a million keys (unique index alone, mean of seven alternating runs). Comparisons with parameters and other columns
-- of the default collation take "C" and can still use the index. Where the
-- default is a linguistic collation (en_US.UTF-8), only the sort order of
-- these two columns changes, and no query sorts incidents by them.
--
-- The type change REWRITES the incidents table once, with all its indexes,
-- under an ACCESS EXCLUSIVE lock: reads and loads wait until it is done
-- (10 s for a million incidents on a 2-core machine), and it needs free
-- disk space for a second copy of the table while it runs. Processes of
-- the previous release must be stopped first: they write raw in jsonb's
-- binary form, which a json column refuses.
--
-- +goose Up
ALTER TABLE incidents
    ALTER COLUMN raw TYPE json USING raw::json,
    ALTER COLUMN source TYPE text COLLATE "C",
    ALTER COLUMN source_id TYPE text COLLATE "C";

-- +goose Down
ALTER TABLE incidents
    ALTER COLUMN raw TYPE jsonb USING raw::jsonb,
    ALTER COLUMN source TYPE text COLLATE "default",
    ALTER COLUMN source_id TYPE text COLLATE "default";
