package postgis

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

func TestAppendPointEWKBMatchesEncoder(t *testing.T) {
	for _, p := range []orb.Point{{-76.6122, 39.2904}, {0, 0}, {180, -90}, {-0.000001, 1e-9}} {
		want, err := pointEWKB(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendPointEWKB(nil, p); !bytes.Equal(got, want) {
			t.Fatalf("%v: %x, want %x", p, got, want)
		}
		if len(want) != pointEWKBLen {
			t.Fatalf("EWKB of a point is %d bytes, want %d", len(want), pointEWKBLen)
		}
	}
}

func TestAppendTimesAndDates(t *testing.T) {
	cases := map[string]struct {
		t    time.Time
		us   int64
		days int32
	}{
		"epoch":            {pgEpoch, 0, 0},
		"before the epoch": {time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), -1, -1},
		"sub-microsecond":  {time.Date(2000, 1, 1, 0, 0, 1, 1999, time.UTC), 1000001, 0},
		"another zone":     {time.Date(2020, 3, 1, 22, 0, 0, 0, time.FixedZone("EST", -5*3600)), 636433200000000, 7365},
		"leap day, UTC":    {time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC), 636249600000000, 7364},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := appendTimestamptz(nil, tc.t)
			if n := binary.BigEndian.Uint32(b); n != 8 || int64(binary.BigEndian.Uint64(b[4:])) != tc.us {
				t.Fatalf("timestamptz %x, want 8 bytes of %d", b, tc.us)
			}
			b = appendDate(nil, tc.t)
			if n := binary.BigEndian.Uint32(b); n != 4 || int32(binary.BigEndian.Uint32(b[4:])) != tc.days {
				t.Fatalf("date %x, want 4 bytes of %d", b, tc.days)
			}
		})
	}
}

// copyFields splits one binary COPY row into its fields (nil for NULL).
func copyFields(t *testing.T, b []byte) [][]byte {
	t.Helper()
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	out := make([][]byte, n)
	for i := range out {
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l < 0 {
			continue
		}
		out[i], b = b[:l], b[l:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after %d fields", len(b), n)
	}
	return out
}

func TestAppendIncidentRowRawIsJSONText(t *testing.T) {
	rawAt := slices.Index(writeColumns, "raw")
	for _, raw := range []string{`{"z":1,"a":"é"}`, `[]`, ``} {
		s := staged{inc: geo.Incident{Source: "s", SourceID: "1", Raw: json.RawMessage(raw)}, hash: make([]byte, 32)}
		if raw == "" {
			s.inc.Raw = nil
		}
		f := copyFields(t, appendIncidentRow(nil, &s, nil, pgEpoch))
		if len(f) != len(writeColumns) {
			t.Fatalf("%d fields, want %d", len(f), len(writeColumns))
		}
		if raw == "" {
			if f[rawAt] != nil {
				t.Fatalf("nil raw encoded as %q, want NULL", f[rawAt])
			}
			continue
		}
		// json's binary form is the text alone (jsonb's has a version byte).
		if string(f[rawAt]) != raw {
			t.Fatalf("raw encoded as %q, want %q", f[rawAt], raw)
		}
	}
}
