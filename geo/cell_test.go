package geo

import (
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// A published vector: (52.516262, 13.377704) at resolution 8 is
// 881f1d4887fffff. orb points are {lon, lat}.
func TestCellFromPointPublishedVector(t *testing.T) {
	c, err := CellFromPoint(orb.Point{13.377704, 52.516262}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "881f1d4887fffff"; got != want {
		t.Fatalf("cell = %s, want %s", got, want)
	}
}

func TestParentMatchesH3(t *testing.T) {
	c, err := CellFromPoint(orb.Point{-76.6122, 39.2904}, FinestRes)
	if err != nil {
		t.Fatal(err)
	}
	for res := 0; res <= FinestRes; res++ {
		want := Cell(c.H3().Parent(res))
		if got := c.Parent(res); got != want {
			t.Errorf("Parent(%d) = %s, want %s", res, got, want)
		}
	}
	if got := c.Parent(13); got != c {
		t.Errorf("Parent above own resolution changed the cell")
	}
}

func TestParseCell(t *testing.T) {
	if _, err := ParseCell("881f1d4887fffff"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "zz", "ffffffffffffffff", "0"} {
		if _, err := ParseCell(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseCell(%q) err = %v, want EINVALID", bad, err)
		}
	}
}

func TestParseKinds(t *testing.T) {
	ks, err := DefaultKinds().ParseKinds("shooting, homicide")
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 3 {
		t.Fatalf("kinds = %v, want shooting_fatal, shooting_nonfatal, homicide", ks)
	}
	if _, err := DefaultKinds().ParseKinds("robbery"); ErrorCode(err) != EINVALID {
		t.Fatalf("unknown kind err = %v", err)
	}
}

// checkCellLikeH3 fails t unless Valid and Res agree with h3-go's cgo
// IsValid and Resolution for c.
func checkCellLikeH3(t *testing.T, c Cell) {
	t.Helper()
	if got, want := c.Valid(), h3.Cell(c).IsValid(); got != want {
		t.Fatalf("%016x: Valid = %v, h3 says %v", uint64(c), got, want)
	}
	if got, want := c.Res(), h3.Cell(c).Resolution(); got != want {
		t.Fatalf("%016x: Res = %d, h3 says %d", uint64(c), got, want)
	}
}

// The pentagon table is H3's own.
func TestPentagonBaseCellsMatchH3(t *testing.T) {
	for _, c := range h3.Res0Cells() {
		if got, want := h3PentagonBase[c.BaseCellNumber()], c.IsPentagon(); got != want {
			t.Errorf("base cell %d: pentagon %v, h3 says %v", c.BaseCellNumber(), got, want)
		}
	}
}

// Valid and Res in Go agree with H3 on every cell of every base cell at
// shallow resolutions, on cells of random points at every resolution, on
// those with bits flipped and digits changed (the near misses), and on
// random words.
func TestCellValidMatchesH3(t *testing.T) {
	for _, base := range h3.Res0Cells() {
		cells := []h3.Cell{base}
		for res := 1; res <= 3; res++ {
			var next []h3.Cell
			for _, c := range cells {
				next = append(next, c.Children(res)...)
			}
			cells = next
			for _, c := range cells {
				checkCellLikeH3(t, Cell(c))
				// Every digit value at every position.
				for r := 1; r <= 15; r++ {
					for d := range uint64(8) {
						shift := uint((15 - r) * 3)
						checkCellLikeH3(t, Cell(uint64(c)&^(7<<shift)|d<<shift))
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(17, 18))
	for range 20000 {
		res := r.IntN(16)
		c, err := CellFromPoint(orb.Point{r.Float64()*360 - 180, r.Float64()*180 - 90}, res)
		if err != nil {
			t.Fatal(err)
		}
		checkCellLikeH3(t, c)
		checkCellLikeH3(t, c^Cell(1)<<r.IntN(64))
		checkCellLikeH3(t, c&^(Cell(0xF)<<52)|Cell(r.IntN(16))<<52)   // another resolution
		checkCellLikeH3(t, c&^(Cell(0x7F)<<45)|Cell(r.IntN(128))<<45) // another base cell
		checkCellLikeH3(t, Cell(r.Uint64()))
		checkCellLikeH3(t, Cell(r.Uint64()&^(1<<63|0xF<<59|7<<56)|1<<59)) // a cell's header, random rest
	}
	checkCellLikeH3(t, 0)
}

func FuzzCellValid(f *testing.F) {
	f.Add(uint64(0x8c2aa8a8d1a1dff))
	f.Add(uint64(0x881f1d4887fffff))
	f.Fuzz(func(t *testing.T, v uint64) {
		checkCellLikeH3(t, Cell(v))
	})
}
