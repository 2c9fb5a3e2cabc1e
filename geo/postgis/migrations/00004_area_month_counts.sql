-- Counts and victims per area, calendar month (of the incident's local day)
-- and kind. Indicators sum whole months into their periods, so a city-wide
-- request over four years reads tens of thousands of these rows instead of
-- a million incidents (AreaBinCounts).
--
-- Layer '' with area '' holds the totals over all incidents: an incident
-- with no area in a layer (or a layer uploaded after it was loaded) counts
-- under "" there, and that count is the total minus the layer's areas.
--
-- Unlike cell_day_counts, these rows are not kept by deltas in the upsert:
-- an incident has an area in every layer (six or more), so deltas cost
-- several row updates per incident and made a large load four times slower.
-- The upsert only marks the months it touched in area_month_dirty, in its
-- own transaction; the months are recomputed set-based from the incidents
-- when the load finishes, and by any reader that finds marks left, before
-- it reads, so counts are never stale.
--
-- +goose Up
CREATE TABLE area_month_counts (
    layer   text NOT NULL,
    area    text NOT NULL,
    month   date NOT NULL,
    kind    text NOT NULL,
    n       int  NOT NULL,
    victims int  NOT NULL,
    -- Area-major: a layer's rows come out grouped by area and kind, which
    -- is how AreaBinCounts folds them into arrays.
    PRIMARY KEY (layer, area, kind, month)
);

-- One row per month an upsert touched; a serial id, so a refresh deletes
-- exactly the marks it saw, never one committed while it ran.
CREATE TABLE area_month_dirty (
    id    bigserial PRIMARY KEY,
    month date NOT NULL
);

INSERT INTO area_month_counts (layer, area, month, kind, n, victims)
SELECT a.key, a.value, date_trunc('month', i.day)::date, i.kind, count(*), coalesce(sum(i.victims), 0)
FROM incidents i, jsonb_each_text(i.areas) a
GROUP BY 1, 2, 3, 4
UNION ALL
SELECT '', '', date_trunc('month', i.day)::date, i.kind, count(*), coalesce(sum(i.victims), 0)
FROM incidents i
GROUP BY 3, 4;

-- +goose Down
DROP TABLE area_month_dirty;
DROP TABLE area_month_counts;
