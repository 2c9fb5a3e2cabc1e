-- The whole hotspots schema. Later features (subscriptions, alerts,
-- deliveries, API keys, the access log) have their tables here from the
-- start, so a deployment migrates once and QGIS users see a stable set of
-- layers.
--
-- +goose Up

-- PostGIS lives in the database, not in our schema: IF NOT EXISTS keeps this
-- working where an administrator created it beforehand (managed databases
-- often require that), and when several schemas share one database.
CREATE EXTENSION IF NOT EXISTS postgis;

-- h3_parent does exactly what geo.Cell.Parent does, on the bits of the H3
-- index, so Go and SQL aggregate to the same cells without the h3 extension.
-- It is deliberately not STRICT: a STRICT function whose body is a CASE is
-- not inlined by the planner, and inlining is what keeps it cheap in GROUP BY.
-- NULL in still gives NULL out.
-- +goose StatementBegin
CREATE FUNCTION h3_parent(cell bigint, res int) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN res >= ((cell >> 52) & 15)::int THEN cell
        ELSE (cell & ~(15::bigint << 52))
             | (res::bigint << 52)
             | ((1::bigint << ((15 - res) * 3)) - 1)
    END
$$;
-- +goose StatementEnd

CREATE TABLE loads (
    id          bigserial PRIMARY KEY,
    source      text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    status      text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    rows_read   int         NOT NULL DEFAULT 0,
    added       int         NOT NULL DEFAULT 0,
    changed     int         NOT NULL DEFAULT 0,
    unchanged   int         NOT NULL DEFAULT 0,
    quarantined int         NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT ''
);
CREATE INDEX loads_source_idx ON loads (source, id DESC);

CREATE TABLE source_watermarks (
    source     text PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE incidents (
    id          bigserial PRIMARY KEY,
    source      text        NOT NULL,
    source_id   text        NOT NULL,
    kind        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    time_known  boolean     NOT NULL,
    -- The local calendar day in the city's zone, computed once at ingest.
    day         date        NOT NULL,
    -- NULL after a retention purge removed the point (see PurgePoints).
    geom        geometry(Point, 4326),
    precision   text        NOT NULL DEFAULT '',
    address     text        NOT NULL DEFAULT '',
    victims     int         NOT NULL DEFAULT 0,
    naloxone    int         NOT NULL DEFAULT 0,
    agency      text        NOT NULL DEFAULT '',
    -- H3 cell at geo.FinestRes (12), kept after a purge so aggregates stay.
    h3_cell     bigint      NOT NULL,
    -- area layer id -> area code, assigned at ingest.
    areas       jsonb       NOT NULL DEFAULT '{}',
    flags       text[]      NOT NULL DEFAULT '{}',
    raw         jsonb,
    -- sha256 of every stored field (geo.Incident.ContentHash): an upsert
    -- with the same hash is a no-op.
    hash        bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (source, source_id)
);
CREATE INDEX incidents_geom_idx ON incidents USING gist (geom);
CREATE INDEX incidents_day_kind_idx ON incidents (day, kind);
CREATE INDEX incidents_occurred_idx ON incidents (occurred_at, id);
-- All stored cells have resolution 12, so the descendants of any coarser
-- cell form one contiguous range of this index.
CREATE INDEX incidents_h3_cell_idx ON incidents (h3_cell);

CREATE TABLE incident_revisions (
    id         bigserial PRIMARY KEY,
    incident   bigint      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    load       bigint      REFERENCES loads (id),
    source     text        NOT NULL,
    changed_at timestamptz NOT NULL,
    -- field name -> [old, new] (geo.IncidentChanges).
    changes    jsonb       NOT NULL
);
CREATE INDEX incident_revisions_incident_idx ON incident_revisions (incident, id);

-- Counts per resolution-9 cell (geo.DefaultDetectRes), day and kind, kept
-- up to date by deltas inside the upsert transaction. Queries at resolution
-- 9 or coarser read this instead of the incidents.
CREATE TABLE cell_day_counts (
    cell    bigint NOT NULL,
    day     date   NOT NULL,
    kind    text   NOT NULL,
    n       int    NOT NULL,
    victims int    NOT NULL,
    PRIMARY KEY (cell, day, kind)
);
CREATE INDEX cell_day_counts_day_idx ON cell_day_counts (day, kind);

-- A single-row counter bumped in every transaction that changes incidents;
-- a row rather than a sequence, because nextval is not rolled back and a
-- failed load must not invalidate caches.
CREATE TABLE data_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint  NOT NULL
);
INSERT INTO data_version (version) VALUES (1);

CREATE TABLE quarantine (
    id       bigserial PRIMARY KEY,
    source   text        NOT NULL,
    row_key  text        NOT NULL,
    load     bigint      REFERENCES loads (id),
    reason   text        NOT NULL,
    detail   text        NOT NULL DEFAULT '',
    raw      jsonb,
    created  timestamptz NOT NULL,
    resolved timestamptz
);
-- Only one unresolved row per source row: re-running a load replaces it,
-- while resolved rows stay as history.
CREATE UNIQUE INDEX quarantine_open_key_idx ON quarantine (source, row_key) WHERE resolved IS NULL;
CREATE INDEX quarantine_source_reason_idx ON quarantine (source, reason);

CREATE TABLE area_layers (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL,
    vintage    text NOT NULL DEFAULT '',
    valid_from timestamptz,
    valid_to   timestamptz,
    source     text NOT NULL DEFAULT ''
);

CREATE TABLE areas (
    layer           text NOT NULL REFERENCES area_layers (id) ON DELETE CASCADE,
    code            text NOT NULL,
    name            text NOT NULL,
    alt_names       text[] NOT NULL DEFAULT '{}',
    geom            geometry(MultiPolygon, 4326) NOT NULL,
    -- NULL is unknown; 0 is a real zero and rates for it are undefined.
    population      int,
    population_year int NOT NULL DEFAULT 0,
    excluded        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (layer, code)
);
CREATE INDEX areas_geom_idx ON areas USING gist (geom);

CREATE TABLE detection_runs (
    id          bigserial PRIMARY KEY,
    detector    text        NOT NULL,
    kinds       text[]      NOT NULL DEFAULT '{}',
    window_from timestamptz NOT NULL,
    window_to   timestamptz NOT NULL,
    params      jsonb,
    seed        bigint      NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL,
    duration    interval    NOT NULL DEFAULT '0'
);
CREATE INDEX detection_runs_detector_idx ON detection_runs (detector, id DESC);

CREATE TABLE findings (
    id         bigserial PRIMARY KEY,
    run        bigint           NOT NULL REFERENCES detection_runs (id) ON DELETE CASCADE,
    detector   text             NOT NULL,
    kind       text             NOT NULL,
    cells      bigint[]         NOT NULL DEFAULT '{}',
    layer      text             NOT NULL DEFAULT '',
    area       text             NOT NULL DEFAULT '',
    start_at   timestamptz      NOT NULL,
    end_at     timestamptz      NOT NULL,
    observed   double precision NOT NULL DEFAULT 0,
    expected   double precision NOT NULL DEFAULT 0,
    p          double precision,
    score      double precision NOT NULL DEFAULT 0,
    category   text             NOT NULL DEFAULT '',
    stats      jsonb            NOT NULL DEFAULT '{}'
);
CREATE INDEX findings_run_idx ON findings (run, id);
CREATE INDEX findings_detector_end_idx ON findings (detector, end_at);

-- Alert subscriptions of outreach teams: a filter (kinds, areas, minimum
-- severity) and where to send. geom is an optional drawn polygon.
CREATE TABLE subscriptions (
    id           bigserial PRIMARY KEY,
    team         text        NOT NULL,
    name         text        NOT NULL,
    filter       jsonb       NOT NULL DEFAULT '{}',
    geom         geometry(MultiPolygon, 4326),
    kinds        text[]      NOT NULL DEFAULT '{}',
    min_severity text        NOT NULL DEFAULT '',
    channels     jsonb       NOT NULL DEFAULT '[]',
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_team_idx ON subscriptions (team);
CREATE INDEX subscriptions_geom_idx ON subscriptions USING gist (geom);

-- Alerts raised from findings. key identifies the same ongoing situation
-- across detection runs so a cluster that persists updates one alert.
CREATE TABLE alerts (
    id           bigserial PRIMARY KEY,
    key          text        NOT NULL UNIQUE,
    finding      bigint      REFERENCES findings (id) ON DELETE SET NULL,
    kind         text        NOT NULL,
    severity     text        NOT NULL,
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    acked_by     text,
    acked_at     timestamptz,
    areas        text[]      NOT NULL DEFAULT '{}',
    cells        bigint[]    NOT NULL DEFAULT '{}',
    window_from  timestamptz,
    window_to    timestamptz,
    counts       jsonb       NOT NULL DEFAULT '{}',
    payload      jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_status_idx ON alerts (status, updated_at DESC);

-- One row per (alert, subscription, channel) send. Workers claim due rows
-- with SELECT ... FOR UPDATE SKIP LOCKED ordered by next_attempt_at, set
-- claimed_by/claimed_until as a lease, and retry with backoff until dead.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    alert           bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    subscription    bigint      NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    channel         text        NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        NOT NULL DEFAULT '',
    claimed_by      text,
    claimed_until   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
-- Partial: only rows a worker may still claim are indexed, so the claim
-- query stays an index scan however many sent rows pile up.
CREATE INDEX deliveries_claim_idx ON deliveries (next_attempt_at, id) WHERE status IN ('pending', 'sending');

-- API keys: only a hash of the secret is kept; prefix finds the row.
CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    prefix     text        NOT NULL UNIQUE,
    hash       bytea       NOT NULL,
    name       text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('admin', 'analyst', 'outreach', 'public')),
    team       text        NOT NULL DEFAULT '',
    -- "layer:code" areas an outreach key is limited to; empty = whole city.
    areas      text[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Append-only record of who read what (points are health data). Rows are
-- never updated; key_id is not a foreign key so the log outlives deleted
-- keys.
CREATE TABLE access_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    key_id      bigint,
    role        text        NOT NULL,
    route       text        NOT NULL,
    layer       text        NOT NULL DEFAULT '',
    area        text        NOT NULL DEFAULT '',
    bbox        geometry(Polygon, 4326),
    window_from timestamptz,
    window_to   timestamptz,
    rows        int         NOT NULL DEFAULT 0
);
CREATE INDEX access_log_at_idx ON access_log (at);

-- +goose Down
DROP TABLE access_log, api_keys, deliveries, alerts, subscriptions, findings,
    detection_runs, areas, area_layers, quarantine, data_version,
    cell_day_counts, incident_revisions, incidents, source_watermarks, loads;
DROP FUNCTION h3_parent(bigint, int);
