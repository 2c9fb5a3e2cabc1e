-- The embedded store's schema: the same tables as the PostGIS schema, without
-- spatial types. Points are lon/lat columns, polygons WKB blobs with bounding
-- box columns; times are INTEGER unix microseconds (UTC) so they sort and
-- compare exactly, days are TEXT 'YYYY-MM-DD'; arrays and maps are JSON text.
--
-- +goose Up

CREATE TABLE loads (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    rows_read   INTEGER NOT NULL DEFAULT 0,
    added       INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX loads_source_idx ON loads (source, id);

CREATE TABLE source_watermarks (
    source     TEXT PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    source_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    time_known  INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    -- NULL after a retention purge (see PurgePoints).
    lon         REAL,
    lat         REAL,
    precision   TEXT    NOT NULL DEFAULT '',
    address     TEXT    NOT NULL DEFAULT '',
    victims     INTEGER NOT NULL DEFAULT 0,
    naloxone    INTEGER NOT NULL DEFAULT 0,
    agency      TEXT    NOT NULL DEFAULT '',
    h3_cell     INTEGER NOT NULL,
    areas       TEXT    NOT NULL DEFAULT '{}',
    flags       TEXT    NOT NULL DEFAULT '[]',
    raw         TEXT,
    hash        BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (source, source_id)
);
CREATE INDEX incidents_day_kind_idx ON incidents (day, kind);
CREATE INDEX incidents_occurred_idx ON incidents (occurred_at, id);
CREATE INDEX incidents_h3_cell_idx ON incidents (h3_cell);
CREATE INDEX incidents_lon_lat_idx ON incidents (lon, lat);

CREATE TABLE incident_revisions (
    id         INTEGER PRIMARY KEY,
    incident   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    load       INTEGER REFERENCES loads (id),
    source     TEXT    NOT NULL,
    changed_at INTEGER NOT NULL,
    changes    TEXT    NOT NULL
);
CREATE INDEX incident_revisions_incident_idx ON incident_revisions (incident, id);

-- Counts per resolution-9 cell, maintained by the upsert like in PostGIS.
CREATE TABLE cell_day_counts (
    cell    INTEGER NOT NULL,
    day     TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    victims INTEGER NOT NULL,
    PRIMARY KEY (cell, day, kind)
) WITHOUT ROWID;
CREATE INDEX cell_day_counts_day_idx ON cell_day_counts (day, kind);

CREATE TABLE data_version (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    version   INTEGER NOT NULL
);
INSERT INTO data_version (singleton, version) VALUES (1, 1);

CREATE TABLE quarantine (
    id       INTEGER PRIMARY KEY,
    source   TEXT    NOT NULL,
    row_key  TEXT    NOT NULL,
    load     INTEGER REFERENCES loads (id),
    reason   TEXT    NOT NULL,
    detail   TEXT    NOT NULL DEFAULT '',
    raw      TEXT,
    created  INTEGER NOT NULL,
    resolved INTEGER
);
-- One unresolved row per source row, as in PostGIS (partial unique index).
CREATE UNIQUE INDEX quarantine_open_key_idx ON quarantine (source, row_key) WHERE resolved IS NULL;
CREATE INDEX quarantine_source_reason_idx ON quarantine (source, reason);

CREATE TABLE area_layers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    vintage    TEXT NOT NULL DEFAULT '',
    valid_from INTEGER,
    valid_to   INTEGER,
    source     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE areas (
    layer           TEXT    NOT NULL REFERENCES area_layers (id) ON DELETE CASCADE,
    code            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    alt_names       TEXT    NOT NULL DEFAULT '[]',
    -- WKB MultiPolygon; the bbox columns let Go prefilter before exact tests.
    geom            BLOB    NOT NULL,
    min_lon         REAL    NOT NULL,
    min_lat         REAL    NOT NULL,
    max_lon         REAL    NOT NULL,
    max_lat         REAL    NOT NULL,
    population      INTEGER,
    population_year INTEGER NOT NULL DEFAULT 0,
    excluded        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (layer, code)
);

CREATE TABLE detection_runs (
    id          INTEGER PRIMARY KEY,
    detector    TEXT    NOT NULL,
    kinds       TEXT    NOT NULL DEFAULT '[]',
    window_from INTEGER NOT NULL,
    window_to   INTEGER NOT NULL,
    params      TEXT,
    seed        INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER NOT NULL,
    duration_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX detection_runs_detector_idx ON detection_runs (detector, id);

CREATE TABLE findings (
    id       INTEGER PRIMARY KEY,
    run      INTEGER NOT NULL REFERENCES detection_runs (id) ON DELETE CASCADE,
    detector TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    cells    TEXT    NOT NULL DEFAULT '[]',
    layer    TEXT    NOT NULL DEFAULT '',
    area     TEXT    NOT NULL DEFAULT '',
    start_at INTEGER NOT NULL,
    end_at   INTEGER NOT NULL,
    observed REAL    NOT NULL DEFAULT 0,
    expected REAL    NOT NULL DEFAULT 0,
    p        REAL,
    score    REAL    NOT NULL DEFAULT 0,
    category TEXT    NOT NULL DEFAULT '',
    stats    TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX findings_run_idx ON findings (run, id);

-- Tables of later features, kept in step with the PostGIS schema so that a
-- feature built on one store has its table in the other.
CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY,
    team         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    filter       TEXT    NOT NULL DEFAULT '{}',
    geom         BLOB,
    kinds        TEXT    NOT NULL DEFAULT '[]',
    min_severity TEXT    NOT NULL DEFAULT '',
    channels     TEXT    NOT NULL DEFAULT '[]',
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL UNIQUE,
    finding     INTEGER REFERENCES findings (id) ON DELETE SET NULL,
    kind        TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    acked_by    TEXT,
    acked_at    INTEGER,
    areas       TEXT    NOT NULL DEFAULT '[]',
    cells       TEXT    NOT NULL DEFAULT '[]',
    window_from INTEGER,
    window_to   INTEGER,
    counts      TEXT    NOT NULL DEFAULT '{}',
    payload     TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL DEFAULT 0
);

-- SQLite has no SKIP LOCKED; with a single writer, claiming is an UPDATE of
-- the due rows inside one write transaction.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    alert           INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    subscription    INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    channel         TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    claimed_by      TEXT,
    claimed_until   INTEGER,
    created_at      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER
);
CREATE INDEX deliveries_claim_idx ON deliveries (next_attempt_at, id) WHERE status IN ('pending', 'sending');

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    prefix     TEXT    NOT NULL UNIQUE,
    hash       BLOB    NOT NULL,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'analyst', 'outreach', 'public')),
    team       TEXT    NOT NULL DEFAULT '',
    areas      TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER
);

CREATE TABLE access_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    key_id      INTEGER,
    role        TEXT    NOT NULL,
    route       TEXT    NOT NULL,
    layer       TEXT    NOT NULL DEFAULT '',
    area        TEXT    NOT NULL DEFAULT '',
    bbox        TEXT,
    window_from INTEGER,
    window_to   INTEGER,
    rows        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX access_log_at_idx ON access_log (at);

-- +goose Down
DROP TABLE access_log;
DROP TABLE api_keys;
DROP TABLE deliveries;
DROP TABLE alerts;
DROP TABLE subscriptions;
DROP TABLE findings;
DROP TABLE detection_runs;
DROP TABLE areas;
DROP TABLE area_layers;
DROP TABLE quarantine;
DROP TABLE data_version;
DROP TABLE cell_day_counts;
DROP TABLE incident_revisions;
DROP TABLE incidents;
DROP TABLE source_watermarks;
DROP TABLE loads;
