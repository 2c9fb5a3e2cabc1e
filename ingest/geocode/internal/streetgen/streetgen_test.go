package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteCenterlines(t *testing.T) {
	src := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"subtype":"STRPRD","dirpre":"N","feanme":"MILTON","featype":"AVE","dirsuf":"","fraddl":1200,"toaddl":1298,"fraddr":1201,"toaddr":1299,"fraddla":0,"toaddla":0,"fraddra":0,"toaddra":0,"block_num":1200,"fullname":"N MILTON AVE","sha_class":null},"geometry":{"type":"LineString","coordinates":[[-76.5827431234,39.3027],[-76.58,39.31]]}},
{"type":"Feature","properties":{"subtype":"STRALY","dirpre":null,"feanme":"CALHOUN-WOODYEAR","featype":null,"dirsuf":null,"fraddl":null,"toaddl":null,"fraddr":0,"toaddr":0,"fraddla":0,"toaddla":0,"fraddra":0,"toaddra":0,"block_num":-9},"geometry":{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[5,6],[7,8]]]}}
]}`
	var out bytes.Buffer
	if err := WriteCenterlines(&out, strings.NewReader(src)); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(CenterlineHeader, ",") + "\n" +
		"0,N,MILTON,AVE,,1200,1298,1201,1299,0,0,0,0,1200,-76.582743 39.3027;-76.58 39.31\n" +
		"1,,CALHOUN-WOODYEAR,,,,,0,0,0,0,0,0,-9,1 2;3 4|5 6;7 8\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if err := WriteCenterlines(&out, strings.NewReader(`{"features":[{"geometry":{"type":"Point","coordinates":[1,2]}}]}`)); err == nil {
		t.Error("point geometry: want error")
	}
}

func TestWriteCases(t *testing.T) {
	src := "\ufeffCrimeDate,Location,Longitude,Latitude\n07/07/2018,1600 PENTWOOD RD,-76.58727,39.34782\n07/07/2018,0 N ABINGTON AV,,\n"
	var out bytes.Buffer
	if err := WriteCases(&out, strings.NewReader(src), true, "Location", "Longitude", "Latitude"); err != nil {
		t.Fatal(err)
	}
	if want := "address,lon,lat\n1600 PENTWOOD RD,-76.58727,39.34782\n"; out.String() != want {
		t.Errorf("got %q, want %q (BOM stripped, blank coordinates dropped)", out.String(), want)
	}
	if err := WriteCases(&out, strings.NewReader("a,b\n"), false, "Location", "Longitude", "Latitude"); err == nil {
		t.Error("missing column: want error")
	}
}

// TestExtendedBundledMatchesSource regenerates every bundled file from
// ../shared/data and checks it is byte-identical to the committed copy, so
// the trimmed data provably follows the documented transformation.
func TestExtendedBundledMatchesSource(t *testing.T) {
	data := filepath.Join("..", "..", "..", "..", "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(data, "baltimore-streets")); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	if testing.Short() {
		t.Skip("decodes the 30 MB centerline GeoJSON")
	}
	repo := filepath.Join("..", "..", "..", "..")
	tmp := t.TempDir()
	if err := run(data, tmp); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"cities/baltimore/streets/centerlines.csv.gz",
		"cities/baltimore/streets/intersections.csv.gz",
		"ingest/geocode/testdata/cases_trace.csv",
		"ingest/geocode/testdata/cases_bpd_part1.csv",
	} {
		got, err1 := os.ReadFile(filepath.Join(tmp, f))
		want, err2 := os.ReadFile(filepath.Join(repo, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from a fresh regeneration; rerun streetgen", f)
		}
	}
}
