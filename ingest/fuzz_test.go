package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"hotspots/geo"
)

// FuzzCSVRows feeds arbitrary CSV bodies under a BPD header through the
// 2018 mapping: nothing may panic, every row must be accounted for, and
// each row's raw JSON must be valid and rebuild the row exactly (re-process
// depends on it).
func FuzzCSVRows(f *testing.F) {
	for _, s := range []string{
		`07/07/2018,23:53:00,1F,1600 PENTWOOD RD,HOMICIDE,,FIREARM,413,NORTHEASTERN,Stonewood-Pentwood-Winsto,-76.58727,39.34782,"(39.34782, -76.58727)",Alley,1`,
		`07/01/2018,1040` + "`" + `,9S,0 N ABINGTON AV,SHOOTING,,FIREARM,,,,,,"(,)",,1`,
		`02/30/2018,0149 01:49,9S,"x,""y""",SHOOTING,,,,,,0,0,,,1`,
		"\"unterminated,\n,,,\n\xff\xfe,\u2028,<&>",
	} {
		f.Add(s)
	}
	city := MustCity(f, "baltimore")
	m, err := OpenMapping(city, "mappings/bpd-part1-2018.yaml")
	if err != nil {
		f.Fatal(err)
	}
	t := newTransformer(m, city, nil, stubGeocoder, nil, date("2024-01-01"))
	header := "CrimeDate,CrimeTime,CrimeCode,Location,Description,Inside/Outside,Weapon,Post,District,Neighborhood,Longitude,Latitude,Location 1,Premise,Total Incidents\n"
	f.Fuzz(func(tt *testing.T, body string) {
		n := 0
		err := CSVFeed(strings.NewReader(header+body)).Each(context.Background(), func(r Record) error {
			n++
			o := t.apply(context.Background(), &r)
			if !json.Valid(o.raw) {
				tt.Fatalf("raw %q is not JSON", o.raw)
			}
			if o.reason == "" && o.filtered == "" && (o.inc.Source != m.ID || o.inc.Cell == 0) {
				tt.Fatalf("incident without source or cell: %+v", o.inc)
			}
			if r.Err != nil {
				return nil
			}
			back, err := RecordFromRaw(o.raw)
			if err != nil {
				tt.Fatal(err)
			}
			if !slices.Equal(back.Values, validUTF8(r.Values)) || !slices.Equal(back.Header.Names, validUTF8(r.Header.Names[:len(back.Header.Names)])) {
				tt.Fatalf("raw round trip: %q -> %q", r.Values, back.Values)
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "csv") {
			tt.Fatalf("feed error %v", err)
		}
		_ = n
	})
}

// validUTF8 replaces each invalid byte with U+FFFD, as raw JSON does.
func validUTF8(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		var b strings.Builder
		for _, r := range s {
			b.WriteRune(r)
		}
		out[i] = b.String()
	}
	return out
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"23:53:00", "0:32:00", "2316", "137", "49", "1040`", "0149 01:49", "12:27", "", "99:99", "1 2 3 4 5"} {
		f.Add(s)
	}
	formats := []string{"15:04:05", "15:04", FormatHHMM, "3:04 PM"}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseClock(s, formats)
		if err == nil && (c.h < 0 || c.h > 23 || c.m < 0 || c.m > 59 || c.s < 0 || c.s > 59) {
			t.Fatalf("parseClock(%q) = %+v", s, c)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"07/07/2018", "1/2/05", "2020-11-13", "2021-08-01 00:00:00+00", "2017/01/03 07:00:00+00", "", "1963-05-01", "1514764800000"} {
		f.Add(s)
	}
	formats := []string{"01/02/2006", "1/2/06", "2006-01-02", "2006-01-02 15:04:05-07", "2006/01/02 15:04:05-07"}
	f.Fuzz(func(t *testing.T, s string) {
		y, m, d, err := parseDate(s, formats)
		if err == nil && (m < 1 || m > 12 || d < 1 || d > 31 || y < 0 || y > 9999) {
			t.Fatalf("parseDate(%q) = %d-%d-%d", s, y, m, d)
		}
		if _, err := parseDateTime(s, append(formats, FormatEpochMS), city0Loc); err != nil && s == "" {
			return
		}
	})
}

func FuzzParsePoint(f *testing.F) {
	for _, s := range []string{"(39.34782, -76.58727)", "(,)", "POINT (-76.6 39.3)", `{"type":"Point","coordinates":[-76.6,39.3]}`, `{"latitude":"39.3","longitude":"-76.6"}`, "(1e400, 5)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok, err := parsePoint(s)
		if ok && err != nil {
			t.Fatalf("parsePoint(%q) = %v, ok and error %v", s, p, err)
		}
	})
}

// FuzzAddresses runs arbitrary addresses through a geocoding mapping and
// the treatment-location matcher: normalisation is idempotent and the row
// is an incident or quarantined, never lost.
func FuzzAddresses(f *testing.F) {
	for _, s := range []string{"1800 ORLEANS ST", "001 CAMBRIA ST", "6300 BLOCK FRANKFORD AVE", "Winans Way at Franklintown Rd",
		"212 Old Riverside Rd, Brooklyn, MD", "300 MADISON ST", "", "#,.,", "0 S GREENE ST"} {
		f.Add(s)
	}
	city := MustCity(f, "baltimore")
	m, err := OpenMapping(city, "mappings/part1-2014-2021-nocoords.yaml")
	if err != nil {
		f.Fatal(err)
	}
	t := newTransformer(m, city, nil, stubGeocoder, nil, date("2024-01-01"))
	h := NewHeader([]string{"RowID", "CrimeDate", "CrimeCode", "Location", "Description", "Weapon"})
	f.Fuzz(func(tt *testing.T, addr string) {
		if n := normAddress(addr); normAddress(n) != n {
			tt.Fatalf("normAddress not idempotent: %q -> %q -> %q", addr, n, normAddress(n))
		}
		r := Record{Line: 2, Header: h, Values: []string{"1", "2020-05-01", "9S", addr, "SHOOTING", ""}}
		o := t.apply(context.Background(), &r)
		if o.reason == "" && o.inc.Cell == 0 {
			tt.Fatalf("address %q: incident without a cell", addr)
		}
		if o.reason == "" && strings.TrimSpace(addr) == "" {
			tt.Fatalf("empty address %q became an incident", addr)
		}
	})
}

func FuzzGeoJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":1,"b":"x"},"geometry":{"type":"Point","coordinates":[-76.6,39.3]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","properties":null,"geometry":null}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":{"deep":[1,2]}},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = GeoJSONFeed(strings.NewReader(s)).Each(context.Background(), func(r Record) error {
			raw := r.RawJSON()
			if !json.Valid(raw) {
				t.Fatalf("raw %q is not JSON", raw)
			}
			back, err := RecordFromRaw(raw)
			if err != nil {
				t.Fatal(err)
			}
			if (back.Point == nil) != (r.Point == nil) {
				t.Fatalf("point lost in round trip")
			}
			return nil
		})
	})
}

func FuzzParsePush(f *testing.F) {
	for _, s := range []string{
		`{"agency":"BCFD","incidents":[{"id":"1","time":"2024-05-01T22:15:00-04:00","kind":"overdose","fatal":false,"naloxone_doses":2,"lat":39.3,"lon":-76.6}]}`,
		`{"incidents":[{"id":"1","doses":1}]}`,
		`{"incidents":[]} []`,
		`{"incidents":[{"naloxone_doses":1e99}]}`,
	} {
		f.Add(s)
	}
	city := MustCity(f, "baltimore")
	m, err := PushMapping(city, "")
	if err != nil {
		f.Fatal(err)
	}
	t := newTransformer(m, city, nil, stubGeocoder, nil, date("2024-06-01"))
	f.Fuzz(func(tt *testing.T, s string) {
		body, err := ParsePush(strings.NewReader(s))
		if err != nil {
			var ge *geo.Error
			if !errors.As(err, &ge) || (ge.Code != geo.EINVALID && ge.Code != geo.ETOOLARGE) {
				tt.Fatalf("ParsePush(%q) error %v is not an EINVALID/ETOOLARGE geo.Error", s, err)
			}
			return
		}
		for i := range body.Incidents {
			r := body.Incidents[i].record(i, body.Agency)
			o := t.apply(context.Background(), &r)
			if !json.Valid(o.raw) {
				tt.Fatalf("raw %q is not JSON", o.raw)
			}
		}
	})
}
