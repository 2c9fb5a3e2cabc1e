package geo

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
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
