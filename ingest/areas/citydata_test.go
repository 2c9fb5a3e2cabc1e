package areas

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"hotspots/cities"
)

var update = flag.Bool("update", false, "rewrite generated files under cities/ (police district population)")

// policePopulationFile is the bundled estimate ApportionByArea makes.
const policePopulationFile = "../../cities/baltimore/areas/population_police_districts_2020.csv"

// apportionStep is the sampling grid for the police estimate: 0.0005 degrees
// is about 43 m east-west and 56 m north-south in Baltimore.
const apportionStep = 0.0005

var baltimore struct {
	once   sync.Once
	city   *cities.City
	layers map[string]Layer
	err    error
}

// MustBaltimore returns the builtin Baltimore configuration and its layers,
// read once per test binary: parsing 10 MB of polygons takes a second.
func MustBaltimore(tb testing.TB) (*cities.City, map[string]Layer) {
	tb.Helper()
	baltimore.once.Do(func() {
		if baltimore.city, baltimore.err = cities.Open("baltimore"); baltimore.err != nil {
			return
		}
		var ls []Layer
		if ls, baltimore.err = ReadCity(baltimore.city); baltimore.err != nil {
			return
		}
		baltimore.layers = map[string]Layer{}
		for _, l := range ls {
			baltimore.layers[l.ID] = l
		}
	})
	if baltimore.err != nil {
		tb.Fatal(baltimore.err)
	}
	return baltimore.city, baltimore.layers
}

// TestPolicePopulationFile regenerates the police district population
// estimate from the 2020 neighborhoods and checks the bundled file equals
// it, so the file can always be re-derived (go test -run PolicePopulation
// -update rewrites it).
func TestPolicePopulationFile(t *testing.T) {
	_, ls := MustBaltimore(t)
	src := ls["neighborhood_2020"].Areas
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"layer", "name", "pop2020"})
	srcTotal := 0
	for _, a := range src {
		if a.Population != nil {
			srcTotal += *a.Population
		}
	}
	for _, id := range []string{"police_district_pre2023", "police_district_2023"} {
		dst := ls[id].Areas
		pop, unallocated := ApportionByArea(src, dst, apportionStep)
		sum := 0
		for _, a := range dst {
			sum += pop[a.Code]
			_ = w.Write([]string{id, a.Name, fmt.Sprint(pop[a.Code])})
		}
		if sum+unallocated != srcTotal {
			t.Errorf("%s: apportioned %d + unallocated %d != neighborhood total %d", id, sum, unallocated, srcTotal)
		}
		if unallocated != 0 {
			t.Errorf("%s: %d people in neighborhoods outside every district", id, unallocated)
		}
	}
	w.Flush()
	if *update {
		if err := os.WriteFile(filepath.Clean(policePopulationFile), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(policePopulationFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Errorf("%s is stale; run go test ./ingest/areas -run PolicePopulation -update\nwant:\n%s", policePopulationFile, buf.String())
	}
}
