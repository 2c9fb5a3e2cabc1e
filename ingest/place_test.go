package ingest

import (
	"math/rand/v2"
	"strings"
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

// addrPieces are fragments random addresses are made of: what the fast
// path of normAddress must tell apart from the addresses it leaves alone.
var addrPieces = []string{"1800", "0", "001", "E", "N", " ", "  ", "\t", "ORLEANS", "Orleans", "ST", "ST.", "AVE", "AV", "AVENUE",
	"STREET", "ROAD", "RD", "#", ",", ".", "BLK", "é", "\x7f", "\xff", "ÄVE", "AVE,", "MD", "0 S", "\u00a0", "\u2028"}

func randomAddress(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(7) {
		b.WriteString(addrPieces[r.IntN(len(addrPieces))])
		if r.IntN(3) > 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// normAddress's shortcut for addresses already normal gives what the
// general path gives.
func TestNormAddressFastPathMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	fast := 0
	for range 100000 {
		a := randomAddress(r)
		if got, want := normAddress(a), normAddressGeneral(a); got != want {
			t.Fatalf("normAddress(%q) = %q, general path %q", a, got, want)
		}
		if addressIsNormal(a) {
			fast++
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d addresses took the fast path", fast)
	}
	if !addressIsNormal("3300 N TEST ST") {
		t.Fatal("an ordinary block address misses the fast path")
	}
}

func FuzzNormAddressFastPath(f *testing.F) {
	for _, s := range append(addrPieces, "3300 N TEST ST", "1800 E. Orleans Street, Baltimore, MD", "AVENUE A") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		if got, want := normAddress(a), normAddressGeneral(a); got != want {
			t.Fatalf("normAddress(%q) = %q, general path %q", a, got, want)
		}
	})
}

// treatmentAtEachSite is treatmentAt as first written: every site in
// turn, by address, then by distance.
func treatmentAtEachSite(pc *placeCheck, p orb.Point, addr string) string {
	na := normAddressGeneral(addr)
	for _, t := range pc.treatment {
		if na != "" && t.addrs[na] {
			return t.name
		}
		if t.radiusM > 0 && distM(p, t.point) <= t.radiusM {
			return t.name
		}
	}
	return ""
}

// treatmentAt's single address lookup and latitude shortcut name the same
// site as testing every site in turn, near and far from the sites, with
// their addresses and others, and with sites overlapping.
func TestTreatmentAtMatchesEachSite(t *testing.T) {
	pc := newPlaceCheck(MustCity(t, "baltimore"), &Mapping{})
	// A site that overlaps the first and shares an address with it, so
	// the order between address and distance matches is exercised.
	extra := treatmentSite{name: "overlap", point: pc.treatment[0].point, radiusM: 5000, addrs: map[string]bool{"22 S GREENE ST": true}}
	pc.treatment = append([]treatmentSite{pc.treatment[1], extra}, pc.treatment...)
	pc.treatmentAddr = map[string]int{}
	for i, s := range pc.treatment {
		for a := range s.addrs {
			if _, ok := pc.treatmentAddr[a]; !ok {
				pc.treatmentAddr[a] = i
			}
		}
	}
	addrs := []string{"", "1800 ORLEANS ST", "1800 E. Orleans Street", "22 S GREENE ST", "0 S GREENE ST", "900 CATON AV", "3300 N TEST ST", "02400 W BELVEDERE AV"}
	r := rand.New(rand.NewPCG(11, 12))
	hits := 0
	for range 200000 {
		s := pc.treatment[r.IntN(len(pc.treatment))].point
		d := []float64{0.0005, 0.002, 0.01, 0.1}[r.IntN(4)]
		p := orb.Point{s[0] + (r.Float64()*2-1)*d, s[1] + (r.Float64()*2-1)*d}
		a := addrs[r.IntN(len(addrs))]
		got, want := pc.treatmentAt(p, a), treatmentAtEachSite(pc, p, a)
		if got != want {
			t.Fatalf("treatmentAt(%v, %q) = %q, want %q", p, a, got, want)
		}
		if got != "" {
			hits++
		}
	}
	if hits < 10000 {
		t.Fatalf("only %d points at a site", hits)
	}
}
