-- No planner statistics for the incidents columns no query filters, joins
-- or sorts on: the content hash, the raw source row, the areas object
-- (read through ->> expressions, which these statistics do not inform),
-- flags, the address and the source's key (probed only through its unique
-- index, which tells the planner it is unique).
--
-- A bulk load ends with ANALYZE incidents, and its sample of 30,000 rows
-- was mostly spent sorting these wide values: 1.0 s for a million
-- incidents against 0.44 s without them (and 0.31 s without the point's,
-- which stays: bounds filters use it). Metadata only: nothing is rewritten.
--
-- +goose Up
ALTER TABLE incidents
    ALTER COLUMN hash SET STATISTICS 0,
    ALTER COLUMN raw SET STATISTICS 0,
    ALTER COLUMN areas SET STATISTICS 0,
    ALTER COLUMN flags SET STATISTICS 0,
    ALTER COLUMN address SET STATISTICS 0,
    ALTER COLUMN source_id SET STATISTICS 0;

-- +goose Down
ALTER TABLE incidents
    ALTER COLUMN hash SET STATISTICS -1,
    ALTER COLUMN raw SET STATISTICS -1,
    ALTER COLUMN areas SET STATISTICS -1,
    ALTER COLUMN flags SET STATISTICS -1,
    ALTER COLUMN address SET STATISTICS -1,
    ALTER COLUMN source_id SET STATISTICS -1;
