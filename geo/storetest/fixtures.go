package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// Fixture area layers assigned to generated incidents.
const (
	LayerDistrict = "district"
	LayerNbhd     = "nbhd"
)

// Test window of generated incidents: two months of 2024.
var (
	WindowStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	WindowEnd   = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
)

// cityZone stands in for the city's zone; a fixed offset keeps the suite
// independent of the machine's tz database.
var cityZone = time.FixedZone("EST", -5*3600)

var fixtureKinds = []geo.Kind{geo.KindShootingNonFatal, geo.KindOverdoseFatal, geo.KindOverdoseNonFatal}

// Incidents returns n deterministic incidents around Baltimore, clustered so
// that resolution-9 and coarser cells hold several of them, spread over
// WindowStart..WindowEnd with distinct times, two sources, three kinds,
// partial area assignments and raw rows. Cells are real H3 cells.
func Incidents(n int, seed uint64) []geo.Incident {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	centers := make([]orb.Point, 12)
	for i := range centers {
		centers[i] = orb.Point{-76.70 + 0.15*r.Float64(), 39.22 + 0.13*r.Float64()}
	}
	span := int(WindowEnd.Sub(WindowStart) / time.Second)
	usedSecond := map[int]bool{}
	out := make([]geo.Incident, n)
	for i := range out {
		c := centers[r.IntN(len(centers))]
		p := orb.Point{c.Lon() + (r.Float64()-0.5)*0.004, c.Lat() + (r.Float64()-0.5)*0.003}
		cell, err := geo.CellFromPoint(p, geo.FinestRes)
		if err != nil {
			panic(err)
		}
		s := r.IntN(span)
		for usedSecond[s] {
			s = (s + 1) % span
		}
		usedSecond[s] = true
		at := WindowStart.Add(time.Duration(s) * time.Second)
		local := at.In(cityZone)
		src := "src-a"
		if i%3 == 0 {
			src = "src-b"
		}
		inc := geo.Incident{
			Source:     src,
			SourceID:   fmt.Sprintf("%s-%05d", src, i),
			Kind:       fixtureKinds[r.IntN(len(fixtureKinds))],
			OccurredAt: at,
			TimeKnown:  r.IntN(5) != 0,
			Day:        time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC),
			Location:   p,
			Precision:  geo.PrecisionExact,
			Address:    fmt.Sprintf("%d N Test St", 100+r.IntN(3000)),
			Victims:    1 + r.IntN(3),
			Naloxone:   r.IntN(3),
			Agency:     "BPD",
			Cell:       cell,
			Areas:      map[string]string{},
		}
		if i%5 != 0 { // some incidents fall outside every district
			inc.Areas[LayerDistrict] = []string{"north", "south", "east"}[r.IntN(3)]
		}
		inc.Areas[LayerNbhd] = fmt.Sprintf("n%02d", r.IntN(8))
		if i%7 == 0 {
			inc.Flags = []string{geo.FlagSimulated}
		}
		if i%11 != 0 {
			// Spaces and key order the stores must not care about.
			inc.Raw = json.RawMessage(fmt.Sprintf(`{ "id": %q, "z": %d, "a": [1, 2] }`, inc.SourceID, i))
		}
		out[i] = inc
	}
	return out
}

// normalized returns normalized copies of incs, as a store keeps them.
func normalized(incs []geo.Incident) []geo.Incident {
	out := make([]geo.Incident, len(incs))
	for i, inc := range incs {
		if err := inc.Normalize(); err != nil {
			panic(err)
		}
		out[i] = inc
	}
	return out
}
