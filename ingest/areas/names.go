package areas

import (
	"strings"
	"unicode"

	"hotspots/geo"
)

// TruncateLen is the length BPD's crime feeds cut neighborhood names to (and
// upper-case them, in later years): "COLDSTREAM HOMESTEAD MONT". Every layer
// gets these truncations as alternative names so such rows still match.
const TruncateLen = 25

// Slug makes a stable area code from a name: lower-case ASCII letters and
// digits, with every run of anything else turned into one hyphen, and
// apostrophes dropped so "Butcher's Hill" and "Butchers Hill" share a code.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r == '\'' || r == '’':
			continue
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return b.String()
}

// NormalizeName is the key names are matched on: upper case, single spaces,
// no surrounding space. Publishers differ mostly in case ("Of" vs "of") and
// spacing, which must not decide whether a row finds its area.
func NormalizeName(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(s)), " ")
}

// looseName keeps only letters and digits, so "Carroll - Camden" and
// "Carroll-Camden" meet; it is the last resort of a NameIndex.
func looseName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncated returns the BPD-style truncation of name, or "" when the name is
// short enough to be met whole.
func truncated(name string) string {
	n := NormalizeName(name)
	if len([]rune(n)) <= TruncateLen {
		return ""
	}
	return strings.TrimSpace(string([]rune(n)[:TruncateLen]))
}

// NameIndex resolves the area names met in feeds and tables (BNIA vs
// Planning spellings, 2010 vs 2020 names, BPD truncations) to the codes of
// one layer. Matches are tried from most to least exact: the area's own
// name, then its AltNames, then letters and digits only. A key that two
// areas share at the level it is found is ambiguous and resolves to nothing,
// because guessing would silently move counts between areas.
type NameIndex struct {
	levels [3]map[string]string // key -> code, "" when ambiguous
}

// NewNameIndex indexes the names and AltNames of one layer's areas.
func NewNameIndex(areas []geo.Area) *NameIndex {
	x := &NameIndex{}
	for i := range x.levels {
		x.levels[i] = map[string]string{}
	}
	for _, a := range areas {
		x.add(0, NormalizeName(a.Name), a.Code)
		x.add(2, looseName(a.Name), a.Code)
		for _, alt := range a.AltNames {
			x.add(1, NormalizeName(alt), a.Code)
			x.add(2, looseName(alt), a.Code)
		}
	}
	return x
}

func (x *NameIndex) add(level int, key, code string) {
	if key == "" {
		return
	}
	if prev, ok := x.levels[level][key]; ok && prev != code {
		x.levels[level][key] = ""
		return
	}
	x.levels[level][key] = code
}

// Resolve returns the code of the area called name, and false when no area
// or more than one area answers to it.
func (x *NameIndex) Resolve(name string) (string, bool) {
	keys := [3]string{NormalizeName(name), NormalizeName(name), looseName(name)}
	for level, key := range keys {
		if key == "" {
			continue
		}
		if code, ok := x.levels[level][key]; ok {
			return code, code != ""
		}
	}
	return "", false
}
