-- Counts and victims per area, calendar month (of the incident's local day)
-- and kind, kept up to date by deltas inside the upsert transaction like
-- cell_day_counts. Indicators sum whole months into their periods, so a
-- city-wide request over four years reads tens of thousands of these rows
-- instead of a million incidents (AreaBinCounts).
--
-- Layer '' with area '' holds the totals over all incidents: an incident
-- with no area in a layer (or a layer uploaded after it was loaded) counts
-- under "" there, and that count is the total minus the layer's areas.
--
-- +goose Up
CREATE TABLE area_month_counts (
    layer   text NOT NULL,
    area    text NOT NULL,
    month   date NOT NULL,
    kind    text NOT NULL,
    n       int  NOT NULL,
    victims int  NOT NULL,
    -- Area-major: a layer's rows come out grouped by area and kind, in
    -- month order, which is how AreaBinCounts folds them into arrays.
    PRIMARY KEY (layer, area, kind, month)
-- Every batch of a load updates many rows in place: free room on each page
-- keeps those updates HOT (no new index entries) and lets page pruning
-- reclaim the old versions between batches.
) WITH (fillfactor = 50);

INSERT INTO area_month_counts (layer, area, month, kind, n, victims)
SELECT a.key, a.value, date_trunc('month', i.day)::date, i.kind, count(*), coalesce(sum(i.victims), 0)
FROM incidents i, jsonb_each_text(i.areas) a
GROUP BY 1, 2, 3, 4
UNION ALL
SELECT '', '', date_trunc('month', i.day)::date, i.kind, count(*), coalesce(sum(i.victims), 0)
FROM incidents i
GROUP BY 3, 4;

-- +goose Down
DROP TABLE area_month_counts;
