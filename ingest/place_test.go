package ingest

import (
	"testing"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

func TestParsePoint(t *testing.T) {
	cases := map[string]struct {
		in     string
		want   orb.Point
		ok     bool
		hasErr bool
	}{
		"BPD Location 1":   {in: "(39.34782, -76.58727)", want: orb.Point{-76.58727, 39.34782}, ok: true},
		"arrests padded":   {in: "(39.230243000000, -76.598589000000)", want: orb.Point{-76.598589, 39.230243}, ok: true},
		"empty pair":       {in: "(,)"},
		"blank":            {in: "  "},
		"WKT":              {in: "POINT (-76.6 39.3)", want: orb.Point{-76.6, 39.3}, ok: true},
		"GeoJSON":          {in: `{"type":"Point","coordinates":[-76.6,39.3]}`, want: orb.Point{-76.6, 39.3}, ok: true},
		"Socrata location": {in: `{"latitude":"39.3","longitude":"-76.6"}`, want: orb.Point{-76.6, 39.3}, ok: true},
		"garbage":          {in: "near the park", hasErr: true},
		"broken JSON":      {in: `{"type":`, hasErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, ok, err := parsePoint(tc.in)
			if (err != nil) != tc.hasErr || ok != tc.ok || p != tc.want {
				t.Fatalf("parsePoint(%q) = %v, %v, %v; want %v, %v, error %v", tc.in, p, ok, err, tc.want, tc.ok, tc.hasErr)
			}
		})
	}
}

func TestPlaceCheckBaltimore(t *testing.T) {
	c := MustCity(t, "baltimore")
	pc := newPlaceCheck(c, &Mapping{Sentinels: [][2]float64{{-76.5, 39.5}}})
	cases := map[string]struct {
		p      orb.Point
		status coordStatus
		flag   string
		reason geo.Reason
	}{
		"city hall":             {p: orb.Point{-76.6106, 39.2910}},
		"null island":           {p: orb.Point{0, 0}, status: coordNullIsland},
		"BPD default point":     {p: orb.Point{-77, 39}, status: coordSentinel},
		"BPD default, digits":   {p: orb.Point{-77.0001, 39.0002}, status: coordSentinel},
		"mapping sentinel":      {p: orb.Point{-76.5, 39.5}, status: coordSentinel},
		"swapped lat and lon":   {p: orb.Point{39.2910, -76.6106}, reason: geo.ReasonSwappedLatLon},
		"Dundalk (county)":      {p: orb.Point{-76.493779, 39.309382}, reason: geo.ReasonOutsideCity},
		"Frederick County":      {p: orb.Point{-77.459, 39.410}, reason: geo.ReasonOutsideCity},
		"Towson":                {p: orb.Point{-76.6019, 39.4015}, reason: geo.ReasonOutsideCity},
		"Reisterstown Rd line":  {p: orb.Point{-76.711296, 39.362705}, flag: geo.FlagShoreline},
		"out of range latitude": {p: orb.Point{-76.6, 139.3}, reason: geo.ReasonOutsideCity},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if s := pc.status(tc.p); s != tc.status {
				t.Fatalf("status(%v) = %v, want %v", tc.p, s, tc.status)
			}
			if tc.status != coordOK {
				return
			}
			flag, reason, _ := pc.locate(tc.p)
			if flag != tc.flag || reason != tc.reason {
				t.Fatalf("locate(%v) = %q, %q; want %q, %q", tc.p, flag, reason, tc.flag, tc.reason)
			}
		})
	}
}

func TestTreatmentLocations(t *testing.T) {
	pc := newPlaceCheck(MustCity(t, "baltimore"), &Mapping{})
	cases := map[string]struct {
		p    orb.Point
		addr string
		want bool
	}{
		"Hopkins by address":       {p: orb.Point{-76.62, 39.31}, addr: "1800 ORLEANS ST", want: true},
		"Hopkins, other spelling":  {p: orb.Point{-76.62, 39.31}, addr: "1800 E. Orleans Street, Baltimore, MD", want: true},
		"Shock Trauma by distance": {p: orb.Point{-76.6246, 39.2881}, addr: "20 GREENE ST", want: true},
		"Sinai zero-padded":        {p: orb.Point{-76.62, 39.31}, addr: "02400 W BELVEDERE AV", want: true},
		"ordinary block":           {p: orb.Point{-76.643, 39.310}, addr: "1600 W NORTH AV", want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := pc.treatmentAt(tc.p, tc.addr) != ""; got != tc.want {
				t.Fatalf("treatmentAt(%v, %q) = %v, want %v", tc.p, tc.addr, got, tc.want)
			}
		})
	}
}
