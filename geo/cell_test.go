package geo

import (
	"testing"

	"github.com/paulmach/orb"
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
