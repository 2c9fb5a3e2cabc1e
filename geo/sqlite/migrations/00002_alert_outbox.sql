-- Alerts become a lifecycle with history and an outbox (geo/alerting,
-- geo/notify). The first schema made alerts.key unique for ever; a situation
-- that ends and later comes back needs a new alert under the same key, so
-- uniqueness now holds only among unresolved alerts. SQLite cannot drop a
-- column constraint, so alerts and deliveries (which references it) are
-- rebuilt, keeping their rows.
--
-- +goose Up
CREATE TABLE alerts_old AS SELECT * FROM alerts;
CREATE TABLE deliveries_old AS SELECT * FROM deliveries;
DROP TABLE deliveries;
DROP TABLE alerts;

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL,
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
    updated_at  INTEGER NOT NULL DEFAULT 0,
    rule        TEXT    NOT NULL DEFAULT '',
    detector    TEXT    NOT NULL DEFAULT '',
    kinds       TEXT    NOT NULL DEFAULT '[]',
    revision    INTEGER NOT NULL DEFAULT 1,
    resolved_by TEXT,
    resolved_at INTEGER,
    expires_at  INTEGER
);
INSERT INTO alerts (id, key, finding, kind, severity, status, acked_by, acked_at, areas, cells, window_from,
    window_to, counts, payload, created_at, updated_at)
SELECT id, key, finding, kind, severity, status, acked_by, acked_at, areas, cells, window_from,
    window_to, counts, payload, created_at, updated_at FROM alerts_old;
CREATE UNIQUE INDEX alerts_live_key_idx ON alerts (key) WHERE status <> 'resolved';
CREATE INDEX alerts_key_idx ON alerts (key, id);
CREATE INDEX alerts_expiry_idx ON alerts (expires_at) WHERE status <> 'resolved';
CREATE INDEX alerts_updated_idx ON alerts (updated_at, id);

-- Append-only history of every alert; each row keeps a snapshot of the alert
-- as of the event, which is what a delivery sends and what the SSE stream
-- replays after a reconnect.
CREATE TABLE alert_events (
    id       INTEGER PRIMARY KEY,
    alert    INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    type     TEXT    NOT NULL CHECK (type IN ('raised', 'updated', 'reopened', 'acknowledged', 'resolved')),
    actor    TEXT    NOT NULL DEFAULT '',
    at       INTEGER NOT NULL,
    snapshot TEXT    NOT NULL
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert, id);

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
    sent_at         INTEGER,
    event           INTEGER REFERENCES alert_events (id) ON DELETE CASCADE,
    revision        INTEGER NOT NULL DEFAULT 0
);
INSERT INTO deliveries (id, alert, subscription, channel, idempotency_key, status, attempts, next_attempt_at,
    last_error, claimed_by, claimed_until, created_at, updated_at, sent_at)
SELECT id, alert, subscription, channel, idempotency_key, status, attempts, next_attempt_at,
    last_error, claimed_by, claimed_until, created_at, updated_at, sent_at FROM deliveries_old;
CREATE INDEX deliveries_claim_idx ON deliveries (next_attempt_at, id) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_target_idx ON deliveries (alert, subscription, channel, id);
CREATE INDEX deliveries_subscription_idx ON deliveries (subscription, id);
DROP TABLE deliveries_old;
DROP TABLE alerts_old;

-- The single-writer lease: SQLite has no SKIP LOCKED, so one delivery pool
-- at a time (across processes sharing the file) holds the "deliveries"
-- lease and claims; the others wait for it to lapse.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT    NOT NULL,
    until  INTEGER NOT NULL
);

-- +goose Down
DROP TABLE leases;
CREATE TABLE deliveries_new AS SELECT id, alert, subscription, channel, idempotency_key, status, attempts,
    next_attempt_at, last_error, claimed_by, claimed_until, created_at, updated_at, sent_at FROM deliveries;
DROP TABLE deliveries;
DROP TABLE alert_events;
CREATE TABLE alerts_new AS SELECT id, key, finding, kind, severity, status, acked_by, acked_at, areas, cells,
    window_from, window_to, counts, payload, created_at, updated_at FROM alerts;
DROP TABLE alerts;
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
INSERT INTO alerts SELECT * FROM alerts_new;
DROP TABLE alerts_new;
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
INSERT INTO deliveries SELECT * FROM deliveries_new;
DROP TABLE deliveries_new;
CREATE INDEX deliveries_claim_idx ON deliveries (next_attempt_at, id) WHERE status IN ('pending', 'sending');
