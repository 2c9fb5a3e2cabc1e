-- Alerts become a lifecycle with history and an outbox (geo/alerting,
-- geo/notify). The first schema made alerts.key unique for ever; a situation
-- that ends and later comes back needs a new alert under the same key, so
-- uniqueness now holds only among unresolved alerts.
--
-- +goose Up
ALTER TABLE alerts DROP CONSTRAINT alerts_key_key;
CREATE UNIQUE INDEX alerts_live_key_idx ON alerts (key) WHERE status <> 'resolved';
CREATE INDEX alerts_key_idx ON alerts (key, id DESC);
ALTER TABLE alerts
    ADD COLUMN rule        text        NOT NULL DEFAULT '',
    ADD COLUMN detector    text        NOT NULL DEFAULT '',
    ADD COLUMN kinds       text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN revision    int         NOT NULL DEFAULT 1,
    ADD COLUMN resolved_by text,
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN expires_at  timestamptz;
CREATE INDEX alerts_expiry_idx ON alerts (expires_at) WHERE status <> 'resolved';
CREATE INDEX alerts_updated_idx ON alerts (updated_at DESC, id DESC);

-- Append-only history of every alert; each row keeps a snapshot of the alert
-- as of the event, which is what a delivery sends (so a retry an hour later
-- sends the same bytes) and what the SSE stream replays after a reconnect.
CREATE TABLE alert_events (
    id       bigserial PRIMARY KEY,
    alert    bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    revision int         NOT NULL,
    type     text        NOT NULL CHECK (type IN ('raised', 'updated', 'reopened', 'acknowledged', 'resolved')),
    actor    text        NOT NULL DEFAULT '',
    at       timestamptz NOT NULL,
    snapshot jsonb       NOT NULL
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert, id);

-- A delivery sends one event (one revision of its alert).
ALTER TABLE deliveries
    ADD COLUMN event    bigint REFERENCES alert_events (id) ON DELETE CASCADE,
    ADD COLUMN revision int NOT NULL DEFAULT 0;
CREATE INDEX deliveries_target_idx ON deliveries (alert, subscription, channel, id DESC);
CREATE INDEX deliveries_subscription_idx ON deliveries (subscription, id DESC);

-- +goose Down
DROP INDEX deliveries_subscription_idx, deliveries_target_idx;
ALTER TABLE deliveries DROP COLUMN revision, DROP COLUMN event;
DROP TABLE alert_events;
DROP INDEX alerts_updated_idx, alerts_expiry_idx, alerts_key_idx, alerts_live_key_idx;
ALTER TABLE alerts DROP COLUMN expires_at, DROP COLUMN resolved_at, DROP COLUMN resolved_by,
    DROP COLUMN revision, DROP COLUMN kinds, DROP COLUMN detector, DROP COLUMN rule;
ALTER TABLE alerts ADD CONSTRAINT alerts_key_key UNIQUE (key);
