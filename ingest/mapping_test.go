package ingest

import (
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"hotspots/geo"
)

func TestParseMappingErrorsNameTheProblem(t *testing.T) {
	good := "id: x\nformat: csv\ncolumns: {date: d}\ndate_formats: [\"2006-01-02\"]\nclassify: [{kind: homicide}]\n"
	cases := map[string]struct {
		yaml, want string
	}{
		"unknown key":         {good + "colour: red\n", "colour"},
		"bad id":              {strings.Replace(good, "id: x", "id: X Y", 1), "id"},
		"bad format":          {strings.Replace(good, "format: csv", "format: xls", 1), "format"},
		"no date column":      {strings.Replace(good, "columns: {date: d}", "columns: {}", 1), "date or datetime"},
		"date without format": {strings.Replace(good, "date_formats: [\"2006-01-02\"]\n", "", 1), "date_formats"},
		"time without format": {strings.Replace(good, "{date: d}", "{date: d, time: t}", 1), "time_formats"},
		"lat without lon":     {strings.Replace(good, "{date: d}", "{date: d, lat: y}", 1), "lat and lon"},
		"no rules":            {strings.Replace(good, "classify: [{kind: homicide}]", "classify: []", 1), "classify"},
		"bad kind":            {strings.Replace(good, "kind: homicide", "kind: Homicide!", 1), "kind"},
		"kind and skip":       {strings.Replace(good, "{kind: homicide}", "{kind: homicide, skip: true}", 1), "exactly one of kind and skip"},
		"bad regexp":          {good + "filters: [{column: a, matches: \"(\"}]\n", "matches"},
		"two tests":           {good + "filters: [{column: a, equals: x, matches: y}]\n", "exactly one"},
		"geocode no address":  {good + "geocode: always\n", "columns.address"},
		"bad zone":            {good + "time_zone: Mars/Olympus\n", "time_zone"},
		"bad start":           {good + "start: 2014\n", "start"},
		"merge without key":   {good + "key: {merge: true}\n", "key.columns"},
	}
	if _, err := ParseMapping([]byte(good)); err != nil {
		t.Fatalf("good mapping: %v", err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMapping([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestShippedMappingsParse(t *testing.T) {
	for _, name := range []string{"baltimore", "tempe", "philadelphia"} {
		c := MustCity(t, name)
		ms, err := CityMappings(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("%s lists no sources", name)
		}
		seen := map[string]bool{}
		for _, m := range ms {
			if seen[m.ID] {
				t.Errorf("%s: source id %s repeated", name, m.ID)
			}
			seen[m.ID] = true
			if m.Origin == "" || m.Licence == "" {
				t.Errorf("%s: mapping %s lacks origin or licence", name, m.ID)
			}
		}
	}
}

func TestConditions(t *testing.T) {
	h := NewHeader([]string{"desc", "n"})
	rec := func(desc, n string) *Record { return &Record{Header: h, Values: []string{desc, n}} }
	yes, no := true, false
	eq := func(s string) *string { return &s }
	cases := map[string]struct {
		c    Condition
		r    *Record
		want bool
	}{
		"equals folds case":       {Condition{Column: "desc", Equals: eq("PEACE ORDER")}, rec("pEACE ORDER", ""), true},
		"equals collapses spaces": {Condition{Column: "desc", Equals: eq("PEACE ORDER")}, rec(" PEACE  ORDER ", ""), true},
		"equals is whole value":   {Condition{Column: "desc", Equals: eq("PEACE")}, rec("PEACE ORDER", ""), false},
		"in list":                 {Condition{Column: "desc", In: []string{"MURDER", "HOMICIDE"}}, rec("homicide", ""), true},
		"matches regexp":          {Condition{Column: "desc", Matches: "^SHOOT"}, rec("SHOOTING", ""), true},
		"empty true":              {Condition{Column: "n", Empty: &yes}, rec("x", " "), true},
		"empty false":             {Condition{Column: "n", Empty: &no}, rec("x", ""), false},
		"not":                     {Condition{Column: "desc", Equals: eq("X"), Not: true}, rec("Y", ""), true},
		"missing column is empty": {Condition{Column: "nope", Empty: &yes}, rec("x", "y"), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cc, err := compileCond(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if got := cc.test(tc.r); got != tc.want {
				t.Fatalf("test = %v, want %v", got, tc.want)
			}
		})
	}
}

// Test911Descriptions runs the 911 mapping's rules over the 175 real
// description strings Baltimore call-takers typed (with their hand-made
// categories): discharges and shootings are shots fired, gun possession
// calls and every other category are not tracked.
func Test911Descriptions(t *testing.T) {
	c := MustCity(t, "baltimore")
	m, err := OpenMapping(c, "mappings/baltimore-911-calls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/911_description_categories.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]map[geo.Kind]int{}
	err = CSVFeed(f).Each(context.Background(), func(r Record) error {
		rec := &Record{Header: NewHeader([]string{"description"}), Values: []string{r.Get("description")}}
		kind, skip, ok := m.KindOf(rec)
		if !ok {
			t.Errorf("%q: no rule matched", r.Get("description"))
		}
		if skip {
			kind = "skip"
		}
		cat := r.Get("Category")
		if counts[cat] == nil {
			counts[cat] = map[geo.Kind]int{}
		}
		counts[cat][kind]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// shooting: DISCHRG FIREARM, Dischrg Firearm, SHOOTING, Shooting are
	// shots; *GUN, GUN, HANDGUN VIOLATIO (possession) are not.
	if got := counts["shooting"]; got[geo.KindShotsFired] != 4 || got["skip"] != 3 {
		t.Errorf("shooting category -> %v, want 4 shots_fired and 3 skipped", got)
	}
	for cat, kinds := range counts {
		if cat == "shooting" {
			continue
		}
		for k, n := range kinds {
			if k != "skip" {
				t.Errorf("category %s: %d descriptions classified %s, want skipped", cat, n, k)
			}
		}
	}
	for desc, want := range map[string]geo.Kind{"OD": geo.KindOverdoseSuspected, "Overdose": geo.KindOverdoseSuspected,
		"NARCOTICS OD": geo.KindOverdoseSuspected, "*SHOTS FIRED": geo.KindShotsFired, "ODOR OF GAS": "skip"} {
		kind, skip, _ := m.KindOf(&Record{Header: NewHeader([]string{"description"}), Values: []string{desc}})
		if skip {
			kind = "skip"
		}
		if kind != want {
			t.Errorf("%q -> %q, want %q", desc, kind, want)
		}
	}
}

// normValue's shortcut for values already normal gives what the general
// path gives.
func TestNormValueFastPathMatchesGeneral(t *testing.T) {
	pieces := []string{"SHOOTING", "Shooting", "OD", " ", "  ", "\t", "\n", "\x00", "\x7f", "é", "\u00a0", "\u2028", "~", "-", "\xff"}
	r := rand.New(rand.NewPCG(15, 16))
	fast := 0
	for range 100000 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		v := b.String()
		if got, want := normValue(v), normValueGeneral(v); got != want {
			t.Fatalf("normValue(%q) = %q, general path %q", v, got, want)
		}
		if valueIsNormal(v) {
			fast++
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d values took the fast path", fast)
	}
}

func FuzzNormValueFastPath(f *testing.F) {
	for _, s := range []string{"SHOOTING", " shots  fired ", "", "A\u00a0B", "HOMICIDE\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := normValue(v), normValueGeneral(v); got != want {
			t.Fatalf("normValue(%q) = %q, general path %q", v, got, want)
		}
	})
}
