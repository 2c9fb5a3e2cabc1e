package postgis_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"hotspots/geo"
	"hotspots/geo/postgis"
	"hotspots/geo/postgis/postgistest"
	"hotspots/geo/storetest"
)

// rawBySourceID reads every incident's raw row, by source id.
func rawBySourceID(t *testing.T, db *postgis.DB) map[string]json.RawMessage {
	t.Helper()
	incs, err := db.FindIncidents(t.Context(), geo.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, inc := range incs {
		out[inc.SourceID] = inc.Raw
	}
	return out
}

// Migration 00006 turns incidents.raw from jsonb into json on a schema
// holding rows: they read back as before, a reload of the same rows
// through a bulk load changes nothing, and new raw rows keep their bytes.
func TestMigrationRawJSONKeepsRows(t *testing.T) {
	ctx := t.Context()
	schema := postgistest.NewSchema(t)
	db := postgistest.OpenWith(t, schema, postgis.Options{BulkLoadRows: 10})
	if err := db.MigrateUpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	incs := storetest.Incidents(40, 11)
	conn := connect(t, schema)
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	// Rows as version 5 stored them: raw as jsonb.
	for i := range incs {
		incs[i].Source = "legacy"
		inc := incs[i]
		if err := inc.Normalize(); err != nil {
			t.Fatal(err)
		}
		areas, err := json.Marshal(inc.Areas)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Areas == nil {
			areas = []byte("{}")
		}
		var raw *string
		if inc.Raw != nil {
			s := string(inc.Raw)
			raw = &s
		}
		flags := inc.Flags
		if flags == nil {
			flags = []string{}
		}
		if _, err := conn.Exec(ctx, `
INSERT INTO incidents (source, source_id, kind, occurred_at, time_known, day, geom, precision,
    address, victims, naloxone, agency, h3_cell, areas, flags, raw, hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, ST_SetSRID(ST_MakePoint($7, $8), 4326), $9,
    $10, $11, $12, $13, $14, $15::jsonb, $16, $17::jsonb, $18, $19, $19)`,
			inc.Source, inc.SourceID, string(inc.Kind), inc.OccurredAt, inc.TimeKnown, inc.Day,
			inc.Location.Lon(), inc.Location.Lat(), string(inc.Precision), inc.Address, inc.Victims,
			inc.Naloxone, inc.Agency, int64(inc.Cell), string(areas), flags, raw, inc.ContentHash(), now); err != nil {
			t.Fatal(err)
		}
	}
	before, err := db.FindIncidents(ctx, geo.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(incs) {
		t.Fatalf("%d incidents stored at version 5, want %d", len(before), len(incs))
	}

	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The handle that read before goes on: Migrate dropped its
	// connections, whose statements were prepared for jsonb (each would
	// fail once with "cached plan must not change result type").
	if err := db.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindIncidents(ctx, geo.IncidentFilter{}); err != nil {
		t.Fatalf("the same handle reading after the migration: %v", err)
	}
	var typ string
	if err := conn.QueryRow(ctx, `
SELECT atttypid::regtype::text FROM pg_attribute
WHERE attrelid = 'incidents'::regclass AND attname = 'raw'`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ != "json" {
		t.Fatalf("incidents.raw is %s after the migration, want json", typ)
	}
	var colls []string
	if err := conn.QueryRow(ctx, `
SELECT array_agg(c.collname::text ORDER BY a.attname) FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
WHERE a.attrelid = 'incidents'::regclass AND a.attname IN ('source', 'source_id')`).Scan(&colls); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(colls, []string{"C", "C"}) {
		t.Fatalf("collations of source, source_id after the migration: %v, want C", colls)
	}
	// The rewrite rebuilt the unique key under its name, which a bulk
	// load's COPY recognises a stored key by (copyNew).
	var n int
	if err := conn.QueryRow(ctx, `
SELECT count(*) FROM pg_constraint
WHERE conrelid = 'incidents'::regclass AND conname = 'incidents_source_source_id_key' AND contype = 'u'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatal("unique constraint incidents_source_source_id_key missing after the migration")
	}
	after, err := db.FindIncidents(ctx, geo.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("incidents changed in the migration:\n%+v\nwant\n%+v", after, before)
	}

	// The same rows again, as a load: nothing changes.
	v0, err := db.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := db.StartLoad(ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	res := upsertBatches(t, ctx, db, l, incs, 15)
	if res.Added != 0 || res.Changed != 0 || res.Unchanged != len(incs) {
		t.Fatalf("reload after the migration: %+v, want all %d unchanged", res, len(incs))
	}
	if err := db.FinishLoad(ctx, l); err != nil {
		t.Fatal(err)
	}
	if v1, _ := db.DataVersion(ctx); v1 != v0 {
		t.Fatalf("data version moved on an identical reload: %d -> %d", v0, v1)
	}

	// A changed raw row is stored as sent, and recorded as a revision.
	incs[1].Raw = json.RawMessage(`{"z":2,"id":"x","a":[2]}`)
	res, err = db.UpsertIncidents(ctx, 0, incs[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 1 {
		t.Fatalf("changed raw: %+v, want 1 changed", res)
	}
	if got := rawBySourceID(t, db)[incs[1].SourceID]; string(got) != string(incs[1].Raw) {
		t.Fatalf("raw after a change %s, want %s", got, incs[1].Raw)
	}
	var id int64
	for _, inc := range after {
		if inc.SourceID == incs[1].SourceID {
			id = inc.ID
		}
	}
	revs, err := db.IncidentRevisions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 1 || len(revs[0].Changes) != 1 {
		t.Fatalf("revisions of the changed row: %+v, want one, of raw", revs)
	}
	if ch := revs[0].Changes["raw"]; !reflect.DeepEqual(ch[1], map[string]any{"z": 2.0, "id": "x", "a": []any{2.0}}) {
		t.Fatalf("raw revision %v", ch)
	}
}

// Raw rows come back exactly as Normalize left them, through both ways an
// upsert writes (COPY of new rows, update of changed ones), with what jsonb
// would have rewritten: key order, duplicate keys, escapes, non-objects.
func TestRawRoundTripsBytes(t *testing.T) {
	ctx := t.Context()
	db := postgistest.MustOpenDB(t)
	raws := []string{
		`{"z":1,"a":[1,2,{"k":"é\u00e9\"x\n"}],"a":2}`,
		`[1,"two",null,true,1.50e3,-0.0]`,
		`"just a string"`,
		`{}`,
		"{ \"b\" : 1,\n \"c\": [ ] }",
		``,
		`{"big":12345678901234567890123,"f":1E+2}`,
	}
	incs := storetest.Incidents(len(raws), 5)
	want := map[string]string{}
	for i := range incs {
		incs[i].Raw = json.RawMessage(raws[i])
		inc := incs[i]
		if err := inc.Normalize(); err != nil {
			t.Fatal(err)
		}
		want[inc.SourceID] = string(inc.Raw)
	}
	if want[incs[4].SourceID] != `{"b":1,"c":[]}` {
		t.Fatalf("normalized raw %q, want it compacted", want[incs[4].SourceID])
	}
	check := func(when string) {
		t.Helper()
		got := rawBySourceID(t, db)
		for id, w := range want {
			g, ok := got[id]
			if !ok {
				t.Fatalf("%s: %s not stored", when, id)
			}
			if string(g) != w || (w == "") != (g == nil) {
				t.Errorf("%s: raw of %s read back as %q, want %q", when, id, g, w)
			}
		}
	}
	if res, err := db.UpsertIncidents(ctx, 0, incs); err != nil || res.Added != len(incs) {
		t.Fatalf("insert: %+v, %v", res, err)
	}
	check("inserted")

	// Every raw row rotated by one: each incident changes.
	for i := range incs {
		incs[i].Raw = json.RawMessage(raws[(i+1)%len(raws)])
		inc := incs[i]
		if err := inc.Normalize(); err != nil {
			t.Fatal(err)
		}
		want[inc.SourceID] = string(inc.Raw)
	}
	if res, err := db.UpsertIncidents(ctx, 0, incs); err != nil || res.Changed != len(incs) {
		t.Fatalf("update: %+v, %v", res, err)
	}
	check("updated")
	if res, err := db.UpsertIncidents(ctx, 0, incs); err != nil || res.Unchanged != len(incs) {
		t.Fatalf("reload: %+v, %v", res, err)
	}
	check("reloaded")
}
