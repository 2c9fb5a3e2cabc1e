package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func sampleIncident(t *testing.T) Incident {
	t.Helper()
	return Incident{
		Source: "bpd", SourceID: "24A-001", Kind: KindShootingNonFatal,
		OccurredAt: time.Date(2024, 3, 9, 23, 30, 0, 123456789, time.FixedZone("EST", -5*3600)),
		TimeKnown:  true,
		Location:   orb.Point{-76.6122, 39.2904},
		Precision:  PrecisionExact, Address: "100 N Howard St", Victims: 2, Agency: "BPD",
		Areas: map[string]string{"nbhd": "downtown", "district": "CD"},
		Flags: []string{FlagSimulated},
		Raw:   json.RawMessage(`{ "id": "24A-001", "n": 2 }`),
	}
}

func TestNormalize(t *testing.T) {
	inc := sampleIncident(t)
	if err := inc.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got, want := inc.OccurredAt, time.Date(2024, 3, 10, 4, 30, 0, 123456000, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("OccurredAt = %v, want %v in UTC at microseconds", got, want)
	}
	// Day defaults to the UTC date of the instant when the caller gave none.
	if got, want := inc.Day, time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Day = %v, want %v", got, want)
	}
	want, err := CellFromPoint(inc.Location, FinestRes)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Cell != want {
		t.Errorf("Cell = %s, want %s", inc.Cell, want)
	}
	if string(inc.Raw) != `{"id":"24A-001","n":2}` {
		t.Errorf("Raw = %s, want it compacted", inc.Raw)
	}
	empty := sampleIncident(t)
	empty.Areas, empty.Flags, empty.Raw = map[string]string{}, []string{}, json.RawMessage(" null ")
	if err := empty.Normalize(); err != nil {
		t.Fatal(err)
	}
	if empty.Areas != nil || empty.Flags != nil || empty.Raw != nil {
		t.Errorf("empty collections not nil: %+v", empty)
	}
}

func TestNormalizeRejects(t *testing.T) {
	coarse, err := CellFromPoint(orb.Point{-76.6, 39.3}, 9)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		field string
		edit  func(*Incident)
	}{
		{"no source", "source", func(i *Incident) { i.Source = "" }},
		{"no source id", "source_id", func(i *Incident) { i.SourceID = "" }},
		{"no time", "occurred_at", func(i *Incident) { i.OccurredAt = time.Time{} }},
		{"coarse cell", "cell", func(i *Incident) { i.Cell = coarse }},
		{"no place", "cell", func(i *Incident) { i.Location = orb.Point{} }},
		{"bad raw", "raw", func(i *Incident) { i.Raw = json.RawMessage(`{`) }},
		{"bad lon", "location", func(i *Incident) { i.Location = orb.Point{200, 10} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inc := sampleIncident(t)
			tc.edit(&inc)
			err := inc.Normalize()
			var e *Error
			if ErrorCode(err) != EINVALID || !errors.As(err, &e) || e.Field != tc.field {
				t.Fatalf("Normalize = %v, want EINVALID on field %q", err, tc.field)
			}
		})
	}
	bad := sampleIncident(t)
	bad.Kind = "Bad Kind"
	if ErrorCode(bad.Normalize()) != EINVALID {
		t.Fatal("bad kind accepted")
	}
}

func TestContentHash(t *testing.T) {
	base := sampleIncident(t)
	if err := base.Normalize(); err != nil {
		t.Fatal(err)
	}
	h := base.ContentHash()
	same := sampleIncident(t)
	same.Raw = json.RawMessage("{\n  \"id\": \"24A-001\",\n  \"n\": 2\n}")
	same.ID, same.UpdatedAt = 99, time.Now()
	same.Areas = map[string]string{"district": "CD", "nbhd": "downtown"}
	if err := same.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(same.ContentHash(), h) {
		t.Fatal("hash depends on raw white space, ID or UpdatedAt")
	}
	edits := map[string]func(*Incident){
		"kind":        func(i *Incident) { i.Kind = KindHomicide },
		"occurred_at": func(i *Incident) { i.OccurredAt = i.OccurredAt.Add(time.Microsecond) },
		"time_known":  func(i *Incident) { i.TimeKnown = false },
		"day":         func(i *Incident) { i.Day = i.Day.AddDate(0, 0, 1) },
		"location":    func(i *Incident) { i.Location[0] += 1e-9 },
		"precision":   func(i *Incident) { i.Precision = PrecisionBlock },
		"address":     func(i *Incident) { i.Address = "" },
		"victims":     func(i *Incident) { i.Victims = 3 },
		"naloxone":    func(i *Incident) { i.Naloxone = 1 },
		"agency":      func(i *Incident) { i.Agency = "BCFD" },
		"cell":        func(i *Incident) { i.Cell = Cell(i.Cell.H3().GridDisk(1)[1]) },
		"areas":       func(i *Incident) { i.Areas = map[string]string{"nbhd": "downtown"} },
		"flags":       func(i *Incident) { i.Flags = nil },
		"raw":         func(i *Incident) { i.Raw = json.RawMessage(`{"id":"24A-001","n":3}`) },
	}
	for field, edit := range edits {
		t.Run(field, func(t *testing.T) {
			inc := base
			inc.Areas = map[string]string{"nbhd": "downtown", "district": "CD"}
			edit(&inc)
			if bytes.Equal(inc.ContentHash(), h) {
				t.Fatalf("hash unchanged after editing %s", field)
			}
			changes := IncidentChanges(&base, &inc)
			var keys []string
			for k := range changes {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if !reflect.DeepEqual(keys, []string{field}) {
				t.Fatalf("IncidentChanges keys = %v, want [%s]", keys, field)
			}
		})
	}
}

func TestIncidentChangesJSONForm(t *testing.T) {
	old := sampleIncident(t)
	if err := old.Normalize(); err != nil {
		t.Fatal(err)
	}
	cur := old
	cur.Victims = 5
	cur.Location = orb.Point{}
	got := IncidentChanges(&old, &cur)
	want := map[string][2]any{
		"victims":  {float64(2), float64(5)},
		"location": {[]any{-76.6122, 39.2904}, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("IncidentChanges = %#v, want %#v", got, want)
	}
}

func TestPrepareQuarantine(t *testing.T) {
	rows := []QuarantinedRow{
		{Source: "s", RowKey: "a", Reason: ReasonNullIsland, Raw: json.RawMessage(`{ "x": 0 }`)},
		{Source: "s", RowKey: "b", Reason: ReasonBadRow, Raw: json.RawMessage(`1,2,"x`)},
		{Source: "s", RowKey: "a", Reason: ReasonSwappedLatLon},
	}
	got, err := PrepareQuarantine(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Reason != ReasonSwappedLatLon || got[0].Raw != nil {
		t.Fatalf("repeated key not collapsed into the last row: %+v", got)
	}
	if string(got[1].Raw) != `"1,2,\"x"` {
		t.Fatalf("non-JSON raw = %s, want a JSON string", got[1].Raw)
	}
	if _, err := PrepareQuarantine([]QuarantinedRow{{Source: "s", RowKey: "a"}}); ErrorCode(err) != EINVALID {
		t.Fatalf("row without reason: %v", err)
	}
}
