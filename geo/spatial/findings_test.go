package spatial

import (
	"encoding/json"
	"testing"
	"time"

	"hotspots/geo"
)

// hotCluster is a Baltimore disk of radius 3 with a cluster of high counts
// around the centre (the first cells of Disk are the centre and its ring)
// and one isolate far away.
func hotCluster(t *testing.T) ([]geo.Cell, *Graph, []float64) {
	t.Helper()
	cells := mustDisk(t, -76.6122, 39.2904, 9, 3)
	cells = append(cells, mustDisk(t, -76.50, 39.20, 9, 0)...)
	g, err := KRing(cells, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, len(cells))
	for i := range x {
		x[i] = float64(i % 3)
		if i < 7 {
			x[i] = 12
		}
	}
	return cells, g, x
}

func TestGiStarFindings(t *testing.T) {
	cells, g, x := hotCluster(t)
	res, err := GetisOrd(g, x)
	if err != nil {
		t.Fatal(err)
	}
	bins := GiStarBins(res, true)
	start, end := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 8, 0, 0, 0, 0, time.UTC)
	fs, err := GiStarFindings(cells, res, bins, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 || fs[0].Cells[0] != cells[0] || fs[0].Category != "hot_99" {
		t.Fatalf("findings %+v: want the centre first, hot_99", fs)
	}
	significant := 0
	for _, b := range bins {
		if b != 0 {
			significant++
		}
	}
	if len(fs) != significant {
		t.Errorf("%d findings for %d significant cells", len(fs), significant)
	}
	for _, f := range fs {
		if f.Detector != "gistar" || f.Kind != "hotspot" || f.PValue == nil || !f.Start.Equal(start) || !f.End.Equal(end) {
			t.Errorf("finding %+v", f)
		}
	}
	// the isolate's classic Gi is undefined: left out, so the stats encode
	iso := len(cells) - 1
	if _, ok := stats("z_gi", res[iso].ZGi)["z_gi"]; ok {
		t.Errorf("NaN kept in stats")
	}
	if _, err := json.Marshal(fs); err != nil {
		t.Errorf("findings do not encode: %v", err)
	}
	if _, err := GiStarFindings(cells[1:], res, bins, start, end); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("length mismatch: err = %v", err)
	}
}

func TestLocalMoranFindings(t *testing.T) {
	cells, g, x := hotCluster(t)
	res, err := LocalMoran(g, x, MoranOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := LocalMoranFindings(cells, res, 0.05, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 || fs[0].Cells[0] != cells[0] || fs[0].Category != "HH" || fs[0].Detector != "localmoran" {
		t.Fatalf("findings %+v: want the centre first as HH", fs)
	}
	for _, f := range fs {
		if *f.PValue > 0.05 {
			t.Errorf("finding with p %g above alpha", *f.PValue)
		}
	}
	if _, err := LocalMoranFindings(cells, res, 0, time.Time{}, time.Time{}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("alpha 0: err = %v", err)
	}
}

func TestEHSAFindings(t *testing.T) {
	cells, g, x := hotCluster(t)
	c, _ := NewCube(len(cells), 12)
	for s := range 12 {
		for i := range cells {
			v := float64((i + s) % 3)
			if s >= 9 {
				v = x[i] // the cluster appears in the last three steps
			}
			c.Set(s, i, v)
		}
	}
	res, err := EmergingHotSpots(g, c, DefaultEHSAOptions())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := EHSAFindings(cells, res, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range res.Locations {
		if l.Pattern != NoPattern {
			n++
		}
	}
	if len(fs) != n || n == 0 {
		t.Fatalf("%d findings for %d patterned cells", len(fs), n)
	}
	if fs[0].Cells[0] != cells[0] || fs[0].Category != string(ConsecutiveHotSpot) || fs[0].Detector != "ehsa" {
		t.Errorf("first finding %+v: want the centre as a consecutive hot spot", fs[0])
	}
	if _, err := json.Marshal(fs); err != nil {
		t.Errorf("findings do not encode: %v", err)
	}
}
