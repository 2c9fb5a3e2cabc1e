package postgis

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"

	"hotspots/geo"
)

// countsRes is the resolution of the cell_day_counts table.
const countsRes = geo.DefaultDetectRes

// writeColumns are the incident columns an upsert writes, in the order
// appendIncidentRow encodes them. Geometry travels as EWKB bytes, which is
// exactly what PostGIS's binary input reads.
var writeColumns = []string{
	"source", "source_id", "kind", "occurred_at", "time_known", "day", "geom",
	"precision", "address", "victims", "naloxone", "agency", "h3_cell", "areas",
	"flags", "raw", "hash", "created_at", "updated_at",
}

// ON COMMIT DROP: the table lives only for the upsert's transaction, so a
// pooled connection never carries stale rows into the next call. It holds
// the new versions of changed incidents, keyed by the stored id.
const createChanged = `CREATE TEMP TABLE IF NOT EXISTS changed_incidents (
    id bigint PRIMARY KEY, source text, source_id text, kind text, occurred_at timestamptz,
    time_known boolean, day date, geom geometry, precision text, address text,
    victims int, naloxone int, agency text, h3_cell bigint, areas jsonb,
    flags text[], raw json, hash bytea, created_at timestamptz, updated_at timestamptz
) ON COMMIT DROP`

// staged is one normalized input incident with its content hash.
type staged struct {
	inc  geo.Incident
	hash []byte
	// areas is the areas column's JSON, encoded once: the COPY writes it
	// and a load's area month sums key their groups on it.
	areas []byte
}

// UpsertIncidents inserts new incidents and updates changed ones by (Source,
// SourceID) in one transaction, writing a revision for every change and
// keeping cell_day_counts in step (at the end of the load, for a bulk load:
// see refreshCellDays). The stored hashes are fetched by key
// first, so unchanged rows cost one index probe and are never sent; new
// rows are COPYed straight into the table, which is what makes a
// million-row load take seconds. A key given twice in one call is applied in
// order, as if the calls were separate.
func (db *DB) UpsertIncidents(ctx context.Context, loadID int64, incs []geo.Incident) (geo.UpsertResult, error) {
	var res geo.UpsertResult
	if err := ctx.Err(); err != nil {
		return res, wrap("upsert incidents", err)
	}
	if len(incs) == 0 {
		return res, nil
	}
	rounds, sources, err := stage(incs)
	if err != nil {
		return res, wrap("upsert incidents", err)
	}
	now := db.nowUTC()
	var areas *areaChanges
	deferred := db.countsDeferred(loadID)
	assumeNew := deferred && !db.loadConflicted(loadID)
	err = db.inTx(ctx, "upsert incidents", func(tx pgx.Tx) error {
		// An asynchronous commit spares a WAL flush per batch. It cannot
		// reorder durability: any later synchronous commit (a watermark, a
		// finished load) flushes this one first, so a crash can only lose a
		// tail of batches whose load was never marked done and is re-run,
		// idempotently.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		// Serialise upserts per source and key bucket (geo.UpsertBucket):
		// the stored rows read below then stay exactly the rows that are
		// inserted or updated, so counts and revisions are right even when
		// two loads of one source overlap, while a writer that splits its
		// batches by bucket gets them written side by side. The locks are
		// taken in sorted order in one statement, so no two upserts wait
		// for each other in a cycle.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hotspots.upsert:' || k, 0)) FROM unnest($1::text[]) AS k`, sources); err != nil {
			return err
		}
		if loadID != 0 {
			areas = &areaChanges{}
		}
		for _, round := range rounds {
			r, err := upsertRound(ctx, tx, loadID, round, now, deferred, assumeNew, areas)
			if errors.Is(err, errKeyExists) {
				// A key was there after all: this round, and the rest
				// of the load, classify first.
				assumeNew = false
				db.noteConflict(loadID)
				r, err = upsertRound(ctx, tx, loadID, round, now, deferred, false, areas)
			}
			if err != nil {
				return err
			}
			res.Added += r.Added
			res.Changed += r.Changed
			res.Unchanged += r.Unchanged
		}
		if res.Added+res.Changed > 0 {
			return bumpDataVersion(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return geo.UpsertResult{}, err
	}
	db.mergeAreaDeltas(loadID, areas)
	db.noteWritten(ctx, loadID, res)
	return res, nil
}

// Rows' areas JSON is appended to chunks of areasChunk bytes; a row starts
// a new chunk when fewer than areasChunkReserve are left (a longer row
// still fits: the chunk grows, and the rows before keep the old array).
const (
	areasChunk        = 64 << 10
	areasChunkReserve = 512
)

// stage normalizes and hashes the input and splits it into rounds with
// unique keys, so each round can be classified and written as a set. It
// also returns the distinct lock names (source and key bucket), sorted, for
// locking in a fixed order.
func stage(incs []geo.Incident) ([][]staged, []string, error) {
	var rounds [][]staged
	seen := []map[[2]string]bool{}
	// Rows' areas JSON (about 230 bytes with Baltimore's seven layers) go
	// into shared chunks, a new one whenever the last is nearly full: one
	// allocation per few hundred rows, and never a copy of the rows
	// before, as growing one buffer sized by guess did.
	var arena []byte
	type lockKey struct {
		source string
		bucket int
	}
	srcSet := map[lockKey]bool{}
	for i := range incs {
		inc := incs[i]
		if err := inc.Normalize(); err != nil {
			return nil, nil, err
		}
		key := [2]string{inc.Source, inc.SourceID}
		r := 0
		for r < len(seen) && seen[r][key] {
			r++
		}
		if r == len(seen) {
			// The first round usually takes the whole batch: sized for it,
			// it is never regrown (a staged incident is a few hundred bytes).
			n := 0
			if r == 0 {
				n = len(incs)
			}
			seen = append(seen, make(map[[2]string]bool, n))
			rounds = append(rounds, make([]staged, 0, n))
		}
		seen[r][key] = true
		if cap(arena)-len(arena) < areasChunkReserve {
			arena = make([]byte, 0, areasChunk)
		}
		at := len(arena)
		arena = appendAreasJSON(arena, inc.Areas)
		rounds[r] = append(rounds[r], staged{inc: inc, hash: inc.ContentHash(), areas: arena[at:len(arena):len(arena)]})
		srcSet[lockKey{inc.Source, geo.UpsertBucket(inc.Source, inc.SourceID)}] = true
	}
	sources := make([]string, 0, len(srcSet))
	for k := range srcSet {
		sources = append(sources, k.source+":"+strconv.Itoa(k.bucket))
	}
	slices.Sort(sources)
	return rounds, sources, nil
}

// upsertRound writes one batch of unique keys: classify each row against
// its stored twin, COPY the new ones into incidents, update the changed ones
// from a temporary table, then apply the net count deltas (or, when
// deferred, mark the days for refreshCellDays) and revisions.
//
// With assumeNew, the round skips classifying and COPYs every row as new,
// inside a savepoint: a key that exists after all fails the COPY on the
// unique (source, source_id) index, the savepoint is rolled back and
// errKeyExists returned, so the caller can run the round again the
// ordinary way. A bulk load adds rows nobody stored before, and the index
// probes of classify were a tenth of its PostgreSQL time.
//
// areas, when not nil, sums the round's changes to the area month counts
// beside the marks (areadeltas.go).
func upsertRound(ctx context.Context, tx pgx.Tx, loadID int64, round []staged, now time.Time, deferred, assumeNew bool, areas *areaChanges) (geo.UpsertResult, error) {
	var res geo.UpsertResult
	existing := map[int]stored{}
	var err error
	if !assumeNew {
		if existing, err = classify(ctx, tx, round); err != nil {
			return res, err
		}
	}
	var newIdx, chIdx []int
	var chIDs []int64
	for i := range round {
		e, ok := existing[i]
		switch {
		case !ok:
			newIdx = append(newIdx, i)
		case !bytes.Equal(e.hash, round[i].hash):
			chIdx, chIDs = append(chIdx, i), append(chIDs, e.id)
		}
	}
	if len(newIdx) == 0 && len(chIdx) == 0 {
		res.Unchanged = len(round)
		return res, nil
	}
	old, err := lockOldRows(ctx, tx, chIDs, chIdx)
	if err != nil {
		return res, err
	}
	if len(newIdx) > 0 {
		// New rows go in H3 order: neighbours in space land on the same
		// heap pages and index leaves, which keeps the index inserts of a
		// batch on few pages and makes a tile's bounding-box read touch
		// fewer heap pages later. Keys are unique in a round, so the order
		// changes only the ids handed out.
		slices.SortStableFunc(newIdx, func(a, b int) int {
			return cmp.Compare(round[a].inc.Cell, round[b].inc.Cell)
		})
		n, err := copyNew(ctx, tx, round, newIdx, now, assumeNew)
		if err != nil {
			return res, err
		}
		if err := checkCopied("copy new rows", n, len(newIdx)); err != nil {
			return res, err
		}
	}
	if len(chIdx) > 0 {
		if err := updateChanged(ctx, tx, round, chIdx, chIDs, now); err != nil {
			return res, err
		}
	}
	if deferred {
		err = markCellDays(ctx, tx, round, newIdx, old)
	} else {
		err = applyCounts(ctx, tx, countDeltas(round, newIdx, old))
	}
	if err != nil {
		return res, err
	}
	if err := markAreaMonths(ctx, tx, round, newIdx, old, areas); err != nil {
		return res, err
	}
	changed, err := writeRevisions(ctx, tx, loadID, round, old, now)
	if err != nil {
		return res, err
	}
	res.Added = len(newIdx)
	res.Changed = changed
	res.Unchanged = len(round) - res.Added - changed
	return res, nil
}

// errKeyExists is upsertRound's report that a round assumed new holds a
// stored key.
var errKeyExists = errors.New("key exists")

// copyNew COPYs the rows picked by idx into incidents; when guarded (the
// rows were not classified), inside a savepoint, returning errKeyExists
// with the savepoint rolled back if a key is stored already.
func copyNew(ctx context.Context, tx pgx.Tx, round []staged, idx []int, now time.Time, guarded bool) (int64, error) {
	if !guarded {
		n, err := copyIncidents(ctx, tx, "incidents", round, idx, nil, now)
		if err != nil {
			return 0, fmt.Errorf("copy new rows: %w", err)
		}
		return n, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy new rows: %w", err)
	}
	n, err := copyIncidents(ctx, sp, "incidents", round, idx, nil, now)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "incidents_source_source_id_key" {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return 0, fmt.Errorf("copy new rows: %w", rbErr)
		}
		return 0, errKeyExists
	}
	if err != nil {
		return 0, fmt.Errorf("copy new rows: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return 0, fmt.Errorf("copy new rows: %w", err)
	}
	return n, nil
}

// stored is what classify learns about an incoming row's stored twin.
type stored struct {
	id   int64
	hash []byte
}

// classify returns, by position in round, the id and content hash of the
// stored incidents with the same keys. Only keys travel. Index probes are
// forced: a batch is small next to the table, and a hash join would read
// the whole table for every batch of a million-row load.
func classify(ctx context.Context, tx pgx.Tx, round []staged) (map[int]stored, error) {
	sources := make([]string, len(round))
	ids := make([]string, len(round))
	for i, s := range round {
		sources[i], ids[i] = s.inc.Source, s.inc.SourceID
	}
	if _, err := tx.Exec(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `
SELECT c.ord, i.id, i.hash
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c(s, k, ord)
JOIN incidents i ON i.source = c.s AND i.source_id = c.k`, sources, ids)
	if err != nil {
		return nil, fmt.Errorf("classify rows: %w", err)
	}
	defer rows.Close()
	out := map[int]stored{}
	for rows.Next() {
		var ord int
		var s stored
		if err := rows.Scan(&ord, &s.id, &s.hash); err != nil {
			return nil, fmt.Errorf("classify rows: %w", err)
		}
		out[ord-1] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("classify rows: %w", err)
	}
	// Later statements' joins are best left to the planner.
	if _, err := tx.Exec(ctx, `RESET enable_hashjoin; RESET enable_mergejoin`); err != nil {
		return nil, err
	}
	return out, nil
}

// oldRow is the stored version of an incident about to be updated.
type oldRow struct {
	idx int
	inc geo.Incident
}

// lockOldRows locks and reads the stored versions of the changed incidents
// (ids, with their positions in the round), in id order so concurrent
// writers cannot deadlock.
func lockOldRows(ctx context.Context, tx pgx.Tx, ids []int64, idx []int) ([]oldRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
SELECT c.idx, `+incidentColumns+`
FROM unnest($1::bigint[], $2::int[]) AS c(id, idx) JOIN incidents i ON i.id = c.id
ORDER BY i.id
FOR UPDATE OF i`, ids, idx)
	if err != nil {
		return nil, fmt.Errorf("read changed rows: %w", err)
	}
	defer rows.Close()
	var out []oldRow
	for rows.Next() {
		var idx int
		var r incidentRow
		if err := rows.Scan(append([]any{&idx}, r.dest()...)...); err != nil {
			return nil, fmt.Errorf("read changed rows: %w", err)
		}
		out = append(out, oldRow{idx: idx, inc: r.incident()})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changed rows: %w", err)
	}
	if len(out) != len(ids) {
		return nil, fmt.Errorf("read changed rows: %d of %d found", len(out), len(ids))
	}
	return out, nil
}

// updateChanged writes the new versions of changed incidents.
func updateChanged(ctx context.Context, tx pgx.Tx, round []staged, idx []int, ids []int64, now time.Time) error {
	if _, err := tx.Exec(ctx, createChanged); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `TRUNCATE changed_incidents`); err != nil {
		return err
	}
	n, err := copyIncidents(ctx, tx, "changed_incidents", round, idx, ids, now)
	if err != nil {
		return fmt.Errorf("copy changed rows: %w", err)
	}
	if err := checkCopied("copy changed rows", n, len(idx)); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `
UPDATE incidents i SET
    kind = n.kind, occurred_at = n.occurred_at, time_known = n.time_known, day = n.day,
    geom = n.geom, precision = n.precision, address = n.address, victims = n.victims,
    naloxone = n.naloxone, agency = n.agency, h3_cell = n.h3_cell, areas = n.areas,
    flags = n.flags, raw = n.raw, hash = n.hash, updated_at = n.updated_at
FROM changed_incidents n WHERE i.id = n.id`)
	if err != nil {
		return fmt.Errorf("update changed rows: %w", err)
	}
	if int(tag.RowsAffected()) != len(ids) {
		return fmt.Errorf("update changed rows: %d of %d updated", tag.RowsAffected(), len(ids))
	}
	return nil
}

// countKey is one row of cell_day_counts.
type countKey struct {
	cell int64
	day  time.Time
	kind string
}

// countDelta is the change of one cell_day_counts row.
type countDelta struct{ n, victims int32 }

// countDeltas nets what a round does to cell_day_counts: new rows add,
// changed rows move from their old cell, day and kind to their new ones.
func countDeltas(round []staged, newIdx []int, old []oldRow) map[countKey]countDelta {
	d := map[countKey]countDelta{}
	add := func(inc *geo.Incident, sign int32) {
		k := countKey{int64(inc.Cell.Parent(countsRes)), inc.Day, string(inc.Kind)}
		v := d[k]
		v.n += sign
		v.victims += sign * int32(inc.Victims)
		d[k] = v
	}
	for _, i := range newIdx {
		add(&round[i].inc, 1)
	}
	for _, o := range old {
		add(&o.inc, -1)
		add(&round[o.idx].inc, 1)
	}
	return d
}

// applyCounts adds the deltas to cell_day_counts and drops rows that fell
// to zero.
func applyCounts(ctx context.Context, tx pgx.Tx, deltas map[countKey]countDelta) error {
	// Keys go in sorted, so upserts running side by side (other buckets,
	// other sources) lock shared rows in one order and cannot deadlock.
	keys := make([]countKey, 0, len(deltas))
	for k, v := range deltas {
		if v != (countDelta{}) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b countKey) int {
		if c := cmp.Compare(a.cell, b.cell); c != 0 {
			return c
		}
		if c := a.day.Compare(b.day); c != 0 {
			return c
		}
		return cmp.Compare(a.kind, b.kind)
	})
	cells := make([]int64, len(keys))
	days := make([]time.Time, len(keys))
	kinds := make([]string, len(keys))
	ns := make([]int32, len(keys))
	vs := make([]int32, len(keys))
	shrunk := false
	for i, k := range keys {
		v := deltas[k]
		cells[i], days[i], kinds[i], ns[i], vs[i] = k.cell, k.day, k.kind, v.n, v.victims
		shrunk = shrunk || v.n < 0
	}
	if len(cells) == 0 {
		return nil
	}
	const src = `unnest($1::bigint[], $2::date[], $3::text[], $4::int[], $5::int[]) AS d(cell, day, kind, n, victims)`
	if _, err := tx.Exec(ctx, `
INSERT INTO cell_day_counts AS c (cell, day, kind, n, victims)
SELECT cell, day, kind, n, victims FROM `+src+`
ON CONFLICT (cell, day, kind) DO UPDATE SET n = c.n + EXCLUDED.n, victims = c.victims + EXCLUDED.victims`,
		cells, days, kinds, ns, vs); err != nil {
		return fmt.Errorf("update counts: %w", err)
	}
	if !shrunk {
		return nil
	}
	if _, err := tx.Exec(ctx, `
DELETE FROM cell_day_counts c USING `+src+`
WHERE c.cell = d.cell AND c.day = d.day AND c.kind = d.kind AND d.n < 0 AND c.n <= 0`,
		cells, days, kinds, ns, vs); err != nil {
		return fmt.Errorf("drop empty counts: %w", err)
	}
	return nil
}

// writeRevisions records what changed in each updated incident and returns
// how many really changed. A row whose hash moved without any field changing
// (its raw JSON re-serialised with another key order) is refreshed but not
// counted.
func writeRevisions(ctx context.Context, tx pgx.Tx, loadID int64, round []staged, old []oldRow, now time.Time) (int, error) {
	var ids []int64
	var sources, changes []string
	for _, o := range old {
		cur := round[o.idx].inc
		ch := geo.IncidentChanges(&o.inc, &cur)
		if len(ch) == 0 {
			continue
		}
		b, err := json.Marshal(ch)
		if err != nil {
			return 0, fmt.Errorf("encode revision: %w", err)
		}
		ids = append(ids, o.inc.ID)
		sources = append(sources, o.inc.Source)
		changes = append(changes, string(b))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	_, err := tx.Exec(ctx, `
INSERT INTO incident_revisions (incident, load, source, changed_at, changes)
SELECT i, NULLIF($2::bigint, 0), s, $4, c::jsonb
FROM unnest($1::bigint[], $3::text[], $5::text[]) WITH ORDINALITY AS t(i, s, c, o)
ORDER BY o`, ids, loadID, sources, now, changes)
	if err != nil {
		return 0, fmt.Errorf("write revisions: %w", err)
	}
	return len(ids), nil
}

// incidentColumns selects a full incident from alias i, in incidentDest order.
const incidentColumns = `i.id, i.source, i.source_id, i.kind, i.occurred_at, i.time_known, i.day,
    ST_X(i.geom), ST_Y(i.geom), i.precision, i.address, i.victims, i.naloxone, i.agency,
    i.h3_cell, i.areas, i.flags, i.raw, i.updated_at`

// incidentRow is the scan target of incidentColumns: nullable and typed
// columns land in their own fields and incident() converts them.
type incidentRow struct {
	inc      geo.Incident
	lon, lat *float64
	cell     int64
	kind     string
	prec     string
	raw      []byte
}

// dest returns the scan targets in incidentColumns order.
func (r *incidentRow) dest() []any {
	inc := &r.inc
	return []any{&inc.ID, &inc.Source, &inc.SourceID, &r.kind, &inc.OccurredAt, &inc.TimeKnown,
		&inc.Day, &r.lon, &r.lat, &r.prec, &inc.Address, &inc.Victims, &inc.Naloxone,
		&inc.Agency, &r.cell, &inc.Areas, &inc.Flags, &r.raw, &inc.UpdatedAt}
}

// incident returns the scanned incident in normalized form (UTC times, nil
// for empty collections), as geo.Incident.Normalize leaves a written one.
func (r *incidentRow) incident() geo.Incident {
	inc := r.inc
	inc.Kind = geo.Kind(r.kind)
	inc.Precision = geo.Precision(r.prec)
	inc.Cell = geo.Cell(r.cell)
	if r.lon != nil && r.lat != nil {
		inc.Location = orb.Point{*r.lon, *r.lat}
	}
	if len(r.raw) > 0 {
		inc.Raw = json.RawMessage(r.raw)
	}
	inc.OccurredAt = inc.OccurredAt.UTC()
	inc.UpdatedAt = inc.UpdatedAt.UTC()
	y, m, d := inc.Day.Date()
	inc.Day = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if len(inc.Areas) == 0 {
		inc.Areas = nil
	}
	if len(inc.Flags) == 0 {
		inc.Flags = nil
	}
	return inc
}
