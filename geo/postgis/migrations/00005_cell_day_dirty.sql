-- Day ranges whose cell_day_counts a bulk load left stale. A large load
-- does not keep cell_day_counts by deltas: with points spread thinly,
-- nearly every incident is its own cell, day and kind, so the per-batch
-- INSERT ... ON CONFLICT cost about one more indexed row insert per
-- incident. Instead each of its batches records here the range of days it
-- touched, in its own transaction, and the counts of those days are
-- recomputed set-based from the incidents when the load finishes (or by
-- Migrate after a crash). While any range is recorded, count readers at
-- resolution 9 and coarser aggregate the incidents themselves, in the
-- same statement that checks for ranges, so no reader sees stale counts.
--
-- +goose Up
CREATE TABLE cell_day_dirty (
    -- serial, so a refresh deletes exactly the ranges it saw, never one
    -- committed while it ran.
    id bigserial PRIMARY KEY,
    lo date NOT NULL,
    -- inclusive
    hi date NOT NULL
);

-- +goose Down
DROP TABLE cell_day_dirty;
