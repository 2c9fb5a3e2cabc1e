package geocode

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"hotspots/geo"
)

// testCenterlines is a hand-built network in the bundled format. Streets run
// along whole 0.001° steps so expected points can be worked out by hand
// (0.001° of latitude is about 111 m).
const testCenterlines = `id,dirpre,feanme,featype,dirsuf,fraddl,toaddl,fraddr,toaddr,fraddla,toaddla,fraddra,toaddra,block_num,geometry
1,N,MILTON,AVE,,1200,1298,1201,1299,0,0,0,0,1200,-76.6 39.3;-76.6 39.301
2,N,MILTON,AVE,,1300,1398,1301,1399,0,0,0,0,1300,-76.6 39.301;-76.6 39.302
3,E,BIDDLE,ST,,1200,1298,1201,1299,0,0,0,0,1200,-76.6 39.301;-76.599 39.301
4,W,BIDDLE,ST,,400,498,401,499,0,0,0,0,400,-76.61 39.301;-76.611 39.301
5,E,MADISON,ST,,300,398,301,399,0,0,0,0,300,-76.6 39.299;-76.599 39.299
6,W,MADISON,ST,,300,398,301,399,0,0,0,0,300,-76.61 39.299;-76.611 39.299
7,E,MADISON,ST,,0,98,1,99,0,0,0,0,0,-76.6 39.298;-76.5995 39.298
8,W,MADISON,ST,,0,98,1,99,0,0,0,0,0,-76.6 39.298;-76.6005 39.298
9,,KERMIT,CT,,2400,22498,2401,2499,0,0,0,0,2400,-76.62 39.3;-76.62 39.301
10,,NORTH-LAFAYETTE,,,0,0,2000,20320,0,0,0,0,2000,-76.63 39.3;-76.63 39.3005
11,,CALHOUN-WOODYEAR,,,0,0,0,0,0,0,0,0,1100,-76.64 39.3;-76.64 39.301
12,,THE ALAMEDA,,,5600,5698,5601,5699,0,0,0,0,5600,-76.65 39.3;-76.65 39.301
13,N,BROADWAY,,,100,198,101,199,0,0,0,0,100,-76.66 39.3;-76.66 39.301
14,E,COLD SPRING,LANE,,1100,1198,1101,1199,0,0,0,0,1100,-76.67 39.3;-76.67 39.301
15,,GWYNNS FALLS,PKWY,,2600,2698,2601,2699,0,0,0,0,2600,-76.68 39.31;-76.68 39.311
16,,WASHINGTON,BLVD,,700,798,701,799,0,0,0,0,700,-76.69 39.31;-76.69 39.311
17,S,ELLICOTT,DWY,,200,298,201,299,0,0,0,0,200,-76.7 39.31;-76.7 39.311
18,,ZIG,ST,,100,198,101,199,0,0,0,0,100,-76.68 39.3;-76.68 39.3005|-76.68 39.301;-76.68 39.3015
19,,FOO,ST,,100,198,101,199,0,0,0,0,100,-76.69 39.3;-76.69 39.301
20,,BAR,AVE,,100,198,101,199,0,0,0,0,100,-76.6905 39.3015;-76.691 39.3015
21,,BAZ,ST,,100,198,101,199,0,0,0,0,100,-76.7 39.3;-76.7 39.301
22,,QUX,ST,,100,198,101,199,0,0,0,0,100,-76.7001 39.3011;-76.701 39.3011
23,N,MARTIN LUTHER KING JR,BLVD,,400,498,401,499,0,0,0,0,400,-76.71 39.3;-76.71 39.301
24,,SAINT PAUL,PL,,300,398,301,399,0,0,0,0,300,-76.72 39.3;-76.72 39.301
25,N,SAINT PAUL,ST,,1000,1098,1001,1099,0,0,0,0,1000,-76.72 39.31;-76.72 39.311
26,,RADECKE,AVE,,5900,6000,5901,5939,0,0,0,0,5900,-76.73 39.3;-76.73 39.301
27,,RADECKE,AVE,,5900,6000,5901,5999,0,0,0,0,5900,-76.74 39.3;-76.74 39.301
`

const testIntersections = `id,name,lon,lat
1,"FOO ST & BAR AV",-76.6902,39.3012
`

func mustTestOffline(tb testing.TB) *Offline {
	tb.Helper()
	g, err := NewOffline(strings.NewReader(testCenterlines), strings.NewReader(testIntersections), DefaultOfflineConfig())
	if err != nil {
		tb.Fatalf("NewOffline: %v", err)
	}
	return g
}

func TestOfflineGeocode(t *testing.T) {
	g := mustTestOffline(t)
	type want struct {
		prec      geo.Precision
		pt        orb.Point
		tol       float64 // metres
		minScore  float64
		maxScore  float64
		reason    geo.Reason
		matched   string
		ambiguous bool
	}
	ok := func(prec geo.Precision, lon, lat, minScore, maxScore float64, matched string) want {
		return want{prec: prec, pt: orb.Point{lon, lat}, tol: 2, minScore: minScore, maxScore: maxScore, matched: matched}
	}
	tests := map[string]struct {
		in string
		want
	}{
		"interpolated even side":     {"1234 N MILTON AV", ok(geo.PrecisionInterpolated, -76.6, 39.30034, 1, 1, "1234 N MILTON AVE")},
		"interpolated odd side":      {"1201 N MILTON AVE", ok(geo.PrecisionInterpolated, -76.6, 39.3, 1, 1, "1201 N MILTON AVE")},
		"range end":                  {"1298 N MILTON AVENUE", ok(geo.PrecisionInterpolated, -76.6, 39.301, 1, 1, "1298 N MILTON AVE")},
		"bpd block at block start":   {"1300 N MILTON AV", ok(geo.PrecisionBlock, -76.6, 39.301, 1, 1, "1300 N MILTON AVE")},
		"BLOCK keyword":              {"1300 BLOCK N MILTON AVE", ok(geo.PrecisionBlock, -76.6, 39.301, 1, 1, "1300 BLOCK N MILTON AVE")},
		"beyond ranges, nearby end":  {"1450 N MILTON AV", ok(geo.PrecisionBlock, -76.6, 39.302, 0.7, 0.8, "1450 N MILTON AVE")},
		"missing dir resolved":       {"1200 BIDDLE ST", ok(geo.PrecisionBlock, -76.6, 39.301, 0.9, 0.99, "1200 E BIDDLE ST")},
		"unit block across baseline": {"0 MADISON ST", ok(geo.PrecisionBlock, -76.6, 39.298, 0.85, 0.95, "0 E MADISON ST")},
		"zero padded unit block":     {"001 E MADISON ST", ok(geo.PrecisionBlock, -76.6, 39.298, 1, 1, "0 BLOCK E MADISON ST")},
		"typo range repaired":        {"2450 KERMIT CT", ok(geo.PrecisionInterpolated, -76.62, 39.3005, 0.9, 0.99, "2450 KERMIT CT")},
		"typo alley range repaired":  {"2016 NORTH-LAFAYETTE", ok(geo.PrecisionInterpolated, -76.63, 39.30025, 0.9, 0.99, "2016 NORTH-LAFAYETTE")},
		"zero ranges use block":      {"1150 CALHOUN WOODYEAR", ok(geo.PrecisionBlock, -76.64, 39.3005, 0.85, 0.9, "1150 CALHOUN-WOODYEAR")},
		"THE ALAMEDA":                {"5650 THE ALAMEDA", ok(geo.PrecisionInterpolated, -76.65, 39.3005, 1, 1, "5650 THE ALAMEDA")},
		"ALAMEDA without THE":        {"5650 ALAMEDA", ok(geo.PrecisionInterpolated, -76.65, 39.3005, 1, 1, "5650 THE ALAMEDA")},
		"BROADWAY odd":               {"143 N BROADWAY", ok(geo.PrecisionInterpolated, -76.66, 39.3004286, 1, 1, "143 N BROADWAY")},
		"BROADWAY with type":         {"143 N BROADWAY ST", ok(geo.PrecisionInterpolated, -76.66, 39.3004286, 0.9, 0.99, "143 N BROADWAY")},
		"EAST and LN":                {"1100 EAST COLD SPRING LN", ok(geo.PrecisionBlock, -76.67, 39.3, 1, 1, "1100 E COLD SPRING LANE")},
		"PY":                         {"2600 GWYNNS FALLS PY", ok(geo.PrecisionBlock, -76.68, 39.31, 1, 1, "2600 GWYNNS FALLS PKWY")},
		"PW":                         {"2650 GWYNNS FALLS PW", ok(geo.PrecisionInterpolated, -76.68, 39.3105, 1, 1, "2650 GWYNNS FALLS PKWY")},
		"BL":                         {"700 WASHINGTON BL", ok(geo.PrecisionBlock, -76.69, 39.31, 1, 1, "700 WASHINGTON BLVD")},
		"B":                          {"750 WASHINGTON B", ok(geo.PrecisionInterpolated, -76.69, 39.3105, 1, 1, "750 WASHINGTON BLVD")},
		"DRWY":                       {"200 S ELLICOTT DRWY", ok(geo.PrecisionBlock, -76.7, 39.31, 1, 1, "200 S ELLICOTT DWY")},
		"multi-part first part":      {"124 ZIG ST", ok(geo.PrecisionInterpolated, -76.68, 39.30025, 1, 1, "124 ZIG ST")},
		"multi-part gap skipped":     {"174 ZIG ST", ok(geo.PrecisionInterpolated, -76.68, 39.30125, 1, 1, "174 ZIG ST")},
		"initials and JR":            {"400 N MARTIN L KING BLVD", ok(geo.PrecisionBlock, -76.71, 39.3, 0.9, 0.99, "400 N MARTIN LUTHER KING JR BLVD")},
		"type relaxed to the block":  {"300 ST PAUL ST", ok(geo.PrecisionBlock, -76.72, 39.3, 0.8, 0.9, "300 ST PAUL PL")},
		"fuzzy name":                 {"1234 N MILTNO AV", ok(geo.PrecisionInterpolated, -76.6, 39.30034, 0.75, 0.85, "1234 N MILTON AVE")},
		"wrong directional":          {"1234 S MILTON AV", ok(geo.PrecisionInterpolated, -76.6, 39.30034, 0.6, 0.7, "1234 N MILTON AVE")},

		"intersection &":     {"N MILTON AV & E BIDDLE ST", ok(geo.PrecisionIntersection, -76.6, 39.301, 1, 1, "N MILTON AVE & E BIDDLE ST")},
		"intersection and":   {"Milton Ave and Biddle St", ok(geo.PrecisionIntersection, -76.6, 39.301, 0.9, 0.99, "N MILTON AVE & E BIDDLE ST")},
		"intersection at":    {"MILTON AV at E BIDDLE ST", ok(geo.PrecisionIntersection, -76.6, 39.301, 1, 1, "N MILTON AVE & E BIDDLE ST")},
		"intersection /":     {"E BIDDLE ST/N MILTON AVE", ok(geo.PrecisionIntersection, -76.6, 39.301, 1, 1, "E BIDDLE ST & N MILTON AVE")},
		"named list":         {"FOO ST & BAR AVE", ok(geo.PrecisionIntersection, -76.6902, 39.3012, 0.85, 0.95, "FOO ST & BAR AVE")},
		"endpoint proximity": {"BAZ ST and QUX ST", ok(geo.PrecisionIntersection, -76.70005, 39.30105, 0.75, 0.85, "BAZ ST & QUX ST")},

		"street only":                   {"N MILTON AVE", ok(geo.PrecisionStreet, -76.6, 39.3015, 0.5, 0.5, "N MILTON AVE")},
		"ambiguous without directional": {"300 MADISON ST", want{prec: geo.PrecisionBlock, reason: geo.ReasonAmbiguousAddr, ambiguous: true, minScore: 0, maxScore: 0.5, matched: "300 E MADISON ST", pt: orb.Point{-76.6, 39.299}, tol: 1000}},
		"ambiguous duplicate ranges":    {"5900 RADECKE AVE", want{prec: geo.PrecisionBlock, reason: geo.ReasonAmbiguousAddr, ambiguous: true, minScore: 0, maxScore: 0.5, matched: "5900 RADECKE AVE", pt: orb.Point{-76.735, 39.3}, tol: 500}},
		"unknown street":                {"100 NOWHERE ST", want{prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable}},
		"block not on street":           {"9000 N MILTON AV", want{prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable}},
		"streets do not meet":           {"FOO ST & ZIG ST", want{prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable}},
		"no street":                     {"1200", want{prec: geo.PrecisionUnmatched, reason: geo.ReasonUngeocodable}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := g.Geocode(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Geocode: %v", err)
			}
			if r.Precision != tt.prec || r.Reason != tt.reason || r.Ambiguous != tt.ambiguous {
				t.Fatalf("got precision %q reason %q ambiguous %v (%s); want %q %q %v", r.Precision, r.Reason, r.Ambiguous, r.Detail, tt.prec, tt.reason, tt.ambiguous)
			}
			if r.Reason != "" && r.Detail == "" {
				t.Error("quarantine result without detail")
			}
			if tt.reason == geo.ReasonUngeocodable {
				if r.Score != 0 {
					t.Errorf("unmatched score %v", r.Score)
				}
				return
			}
			if d := orbgeo.Distance(r.Point, tt.pt); d > tt.tol {
				t.Errorf("point %v is %.1f m from %v", r.Point, d, tt.pt)
			}
			if r.Score < tt.minScore || r.Score > tt.maxScore {
				t.Errorf("score %v outside [%v, %v]", r.Score, tt.minScore, tt.maxScore)
			}
			if r.Matched != tt.matched {
				t.Errorf("matched %q, want %q", r.Matched, tt.matched)
			}
			if tt.ambiguous && r.Candidates < 2 {
				t.Errorf("ambiguous with %d candidates", r.Candidates)
			}
		})
	}
}

func TestOfflineBlockMidpoint(t *testing.T) {
	cfg := DefaultOfflineConfig()
	cfg.Block = BlockMidpoint
	g, err := NewOffline(strings.NewReader(testCenterlines), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := g.Geocode(context.Background(), "1300 N MILTON AV")
	// addresses 1300..1399: the middle, 1349.5, sits half way up the block.
	if d := orbgeo.Distance(r.Point, orb.Point{-76.6, 39.3015}); r.Precision != geo.PrecisionBlock || d > 2 {
		t.Errorf("midpoint: %v %v (%.1f m off)", r.Point, r.Precision, d)
	}
}

func TestOfflineSideOffset(t *testing.T) {
	cfg := DefaultOfflineConfig()
	cfg.SideOffset = 10
	g, err := NewOffline(strings.NewReader(testCenterlines), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// N MILTON is digitised northward: left (even) is west, right (odd) east.
	even, _ := g.Geocode(context.Background(), "1250 N MILTON AV")
	odd, _ := g.Geocode(context.Background(), "1251 N MILTON AV")
	if even.Point[0] >= -76.6 || odd.Point[0] <= -76.6 {
		t.Errorf("even %v should be west and odd %v east of -76.6", even.Point, odd.Point)
	}
	if d := orbgeo.Distance(even.Point, odd.Point); d < 19 || d > 21 {
		t.Errorf("sides %.1f m apart, want 20", d)
	}
}

func TestRepairRanges(t *testing.T) {
	tests := map[string]struct {
		block  int32
		length float64
		in     addrRange
		want   addrRange
	}{
		"KERMIT CT 22498":          {2400, 110, addrRange{2400, 22498}, addrRange{2400, 2498}},
		"NORTH-LAFAYETTE 20320":    {2000, 55, addrRange{2000, 20320}, addrRange{2000, 2032}},
		"lost digit clamps":        {1400, 80, addrRange{1431, 143}, addrRange{1431, 1401}},
		"huge typo clamps":         {4000, 60, addrRange{4010000, 4030}, addrRange{4000, 4030}},
		"long segment is fine":     {1900, 900, addrRange{1900, 2700}, addrRange{1900, 2700}},
		"ordinary block untouched": {1200, 100, addrRange{1200, 1298}, addrRange{1200, 1298}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s := segment{block: tt.block, length: tt.length, ranges: [4]addrRange{tt.in}}
			repaired := repairRanges(&s)
			if s.ranges[0] != tt.want {
				t.Errorf("got %v, want %v", s.ranges[0], tt.want)
			}
			if repaired != (tt.in != tt.want) {
				t.Errorf("repaired = %v", repaired)
			}
		})
	}
}

func TestOfflineBatchMatchesSingle(t *testing.T) {
	g := mustTestOffline(t)
	base := []string{"1234 N MILTON AV", "300 MADISON ST", "N MILTON AV & E BIDDLE ST", "100 NOWHERE ST", "5650 ALAMEDA"}
	var addrs []string
	for i := 0; i < 700; i++ {
		addrs = append(addrs, base[i%len(base)])
	}
	got, err := g.GeocodeBatch(context.Background(), addrs)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range addrs {
		want, _ := g.Geocode(context.Background(), a)
		if got[i] != want {
			t.Fatalf("batch[%d] %q = %+v, single = %+v", i, a, got[i], want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.GeocodeBatch(ctx, addrs); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled batch: err = %v", err)
	}
	if _, err := g.Geocode(ctx, "1234 N MILTON AV"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled single: err = %v", err)
	}
}

func TestLoadOfflineFS(t *testing.T) {
	fsys := fstest.MapFS{
		"city/streets/" + CenterlinesFile: {Data: []byte(testCenterlines)},
	}
	g, err := LoadOffline(fsys, "city/streets")
	if err != nil {
		t.Fatalf("LoadOffline without intersections: %v", err)
	}
	if st := g.Stats(); st.Segments != 27 || st.RepairedSegments != 2 || st.NamedIntersections != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := LoadOffline(fsys, "elsewhere"); err == nil {
		t.Error("missing folder: want error")
	}
	bad := fstest.MapFS{CenterlinesFile: {Data: []byte("id,feanme\n1,X\n")}}
	if _, err := LoadOffline(bad, "."); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("bad header: err = %v", err)
	}
}
