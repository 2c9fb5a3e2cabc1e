package ingest

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"hotspots/geo/sqlite"
)

// sizedStore is a store that records the sizes it is told (geo.LoadSizer).
type sizedStore struct {
	*sqlite.DB
	mu    sync.Mutex
	told  []int
	loads []int64
}

func (s *sizedStore) ExpectRows(loadID int64, rows int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.told = append(s.told, rows)
	s.loads = append(s.loads, loadID)
}

// TestLoadTellsStoreItsSize: a file load's reader tells a store that prepares for
// large loads its row count, once, estimated from the file's size and its
// first megabyte, plain or gzipped; a file under a megabyte tells nothing.
func TestLoadTellsStoreItsSize(t *testing.T) {
	city := MustCity(t, "baltimore")
	m := mustMapping(t, SyntheticMapping)
	dir := t.TempDir()
	write := func(name string, rows int, gz bool) string {
		t.Helper()
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if !gz {
			if err := WriteSyntheticCSV(f, rows, 3); err != nil {
				t.Fatal(err)
			}
			return p
		}
		zw := gzip.NewWriter(f)
		if err := WriteSyntheticCSV(zw, rows, 3); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		rows int
		gz   bool
		want bool
	}{
		{"plain.csv", 40000, false, true},
		{"packed.csv.gz", 120000, true, true},
		{"small.csv", 5000, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.name, tc.rows, tc.gz)
			st := &sizedStore{DB: MustOpenStore(t)}
			feed, _, closeFn, err := OpenFeed(context.Background(), city, m, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			// The pipeline's reader, as Load runs it for load 7, with
			// its chunks consumed as fast as they come.
			in := make(chan chunk)
			read := 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				for c := range in {
					read += len(c.recs)
				}
			}()
			err = readChunks(context.Background(), feed, in, nil, expectRows(st, feed, 7))
			close(in)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if read != tc.rows {
				t.Fatalf("read %d rows, want %d", read, tc.rows)
			}
			if !tc.want {
				if len(st.told) != 0 {
					t.Fatalf("told %v for a file under a megabyte, want nothing", st.told)
				}
				return
			}
			if len(st.told) != 1 || st.loads[0] != 7 {
				t.Fatalf("told %v for loads %v, want one size for load 7", st.told, st.loads)
			}
			// The readers buffer ahead of the rows: the estimate may be
			// up to an eighth low, never far high.
			if got := st.told[0]; got < tc.rows*7/8 || got > tc.rows*21/20 {
				t.Fatalf("estimated %d rows, the file has %d", got, tc.rows)
			}
		})
	}
}
