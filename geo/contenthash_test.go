package geo

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// streamedHash is ContentHash as first written, each field written to the
// hash in turn: the buffered version must give the same digests, or every
// stored hash would change and a reload would rewrite every row.
func streamedHash(i *Incident) []byte {
	h := sha256.New()
	var num [8]byte
	putU := func(v uint64) {
		binary.LittleEndian.PutUint64(num[:], v)
		h.Write(num[:])
	}
	putS := func(s string) {
		putU(uint64(len(s)))
		h.Write([]byte(s))
	}
	putS(string(i.Kind))
	putU(uint64(i.OccurredAt.UnixMicro()))
	if i.TimeKnown {
		putU(1)
	} else {
		putU(0)
	}
	putS(i.Day.Format(time.DateOnly))
	putU(math.Float64bits(i.Location.Lon()))
	putU(math.Float64bits(i.Location.Lat()))
	putS(string(i.Precision))
	putS(i.Address)
	putU(uint64(int64(i.Victims)))
	putU(uint64(int64(i.Naloxone)))
	putS(i.Agency)
	putU(uint64(i.Cell))
	keys := make([]string, 0, len(i.Areas))
	for k := range i.Areas {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	putU(uint64(len(keys)))
	for _, k := range keys {
		putS(k)
		putS(i.Areas[k])
	}
	putU(uint64(len(i.Flags)))
	for _, f := range i.Flags {
		putS(f)
	}
	putS(string(i.Raw))
	return h.Sum(nil)
}

func TestContentHashMatchesStreamed(t *testing.T) {
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'a'
	}
	base := Incident{
		Source: "s", SourceID: "1", Kind: KindShootingFatal,
		OccurredAt: time.Date(2024, 5, 1, 13, 4, 5, 123456000, time.UTC), TimeKnown: true,
		Location: orb.Point{-76.6, 39.3}, Address: "100 N Charles St", Victims: 2, Agency: "BPD",
		Areas: map[string]string{"neighborhood": "Downtown", "csa": "Downtown/Seton Hill"},
		Flags: []string{"treatment_location"}, Raw: json.RawMessage(`{"a":1}`),
	}
	big := base
	big.Raw = json.RawMessage(`{"x":"` + string(long) + `"}`)
	bare := Incident{Source: "s", SourceID: "2", Kind: KindOverdoseFatal, OccurredAt: base.OccurredAt, Location: base.Location}
	for _, inc := range []Incident{base, big, bare} {
		if err := inc.Normalize(); err != nil {
			t.Fatal(err)
		}
		if got, want := inc.ContentHash(), streamedHash(&inc); string(got) != string(want) {
			t.Errorf("%s: hash %x, want %x", inc.SourceID, got, want)
		}
	}
}

func TestCompactRawFastPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{`{"a": 1}`, `{"a":1}`},
		{`null`, ``},
		{` null `, ``},
		{``, ``},
		{`{"a":"b c"}`, `{"a":"b c"}`},
	} {
		got, err := compactRaw(json.RawMessage(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("compactRaw(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`{"a":`, `{a:1}`, `nul`} {
		if _, err := compactRaw(json.RawMessage(bad)); err == nil {
			t.Errorf("compactRaw(%q) accepted invalid JSON", bad)
		}
	}
}

// Many incidents, with up to 20 areas (more than ContentHash's stack array
// of pairs), days across and beyond four-digit years, and raw rows past
// its stack buffer: the digest is streamedHash's for each.
func TestContentHashMatchesStreamedRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	str := func(n int) string {
		b := make([]byte, r.IntN(n+1))
		for i := range b {
			b[i] = "abcXYZ _-/é\x00"[r.IntN(13)]
		}
		return string(b)
	}
	for n := range 5000 {
		inc := Incident{
			Kind: KindShootingFatal, OccurredAt: time.UnixMicro(r.Int64N(1 << 50)).UTC(), TimeKnown: r.IntN(2) == 0,
			Day:      time.Date(r.IntN(12000)-1000, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC),
			Location: orb.Point{r.Float64()*360 - 180, r.Float64()*180 - 90}, Precision: PrecisionBlock,
			Address: str(40), Victims: r.IntN(5), Naloxone: r.IntN(3), Agency: str(5), Cell: Cell(r.Uint64()),
		}
		if k := r.IntN(21); k > 0 {
			inc.Areas = map[string]string{}
			for range k {
				inc.Areas[str(12)] = str(30)
			}
		}
		for range r.IntN(3) {
			inc.Flags = append(inc.Flags, str(10))
		}
		inc.Raw = json.RawMessage(`{"x":"` + str(1500) + `"}`)
		if got, want := inc.ContentHash(), streamedHash(&inc); string(got) != string(want) {
			t.Fatalf("incident %d: hash %x, want %x", n, got, want)
		}
	}
}
