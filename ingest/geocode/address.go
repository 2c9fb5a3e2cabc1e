package geocode

import (
	"errors"
	"strconv"
	"strings"
)

// Address is a parsed street address or intersection. Police feeds write the
// same place many ways (`1200 N MILTON AV`, `1200 BLOCK N MILTON AVE`,
// `Milton Ave at Biddle St`), so every source is reduced to this one shape
// before it is matched against the street network.
type Address struct {
	// Number is the house or block number; meaningful only when HasNumber.
	Number    int
	HasNumber bool
	// Block is set when the source said the number is a block, not a house:
	// `BLOCK`/`BLK`, `UNIT BLOCK`, or a zero-padded BPD number (`001`).
	Block bool
	// Dir is the directional prefix (N, S, E, W) or empty.
	Dir string
	// Name is the street name with canonical words (SAINT→ST, MOUNT→MT).
	Name string
	// Type is the canonical street type (AVE, ST, ROAD, BLVD…) or empty.
	Type string
	// SufDir is a directional suffix (I 95 N) or empty.
	SufDir string
	// Cross is the second street of an intersection (`A & B`), else nil.
	Cross *Address
}

// ErrNoStreet is returned by ParseAddress when no street name is left after
// numbers, keywords and punctuation are removed.
var ErrNoStreet = errors.New("geocode: address has no street name")

// streetTypes maps every spelling seen in BPD, Sun and DOT data to the
// canonical type used by the Baltimore DOT centerlines.
var streetTypes = map[string]string{
	"AV": "AVE", "AVE": "AVE", "AVENUE": "AVE", "AVN": "AVE", "AVNUE": "AVE",
	"ST": "ST", "STR": "ST", "STREET": "ST",
	"RD": "ROAD", "ROAD": "ROAD",
	"DR": "DR", "DRIVE": "DR", "DRV": "DR",
	"LN": "LANE", "LA": "LANE", "LANE": "LANE",
	"PKWY": "PKWY", "PY": "PKWY", "PW": "PKWY", "PKY": "PKWY", "PARKWAY": "PKWY",
	"PKWAY": "PKWY", "PRKWY": "PKWY", "PARKWY": "PKWY",
	"CT": "CT", "COURT": "CT", "CRT": "CT",
	"BLVD": "BLVD", "BL": "BLVD", "BD": "BLVD", "B": "BLVD", "BOULEVARD": "BLVD",
	"PL": "PL", "PLACE": "PL",
	"WAY": "WAY", "WY": "WAY",
	"HWY": "HWY", "HY": "HWY", "HIGHWAY": "HWY",
	"AL": "AL", "ALY": "AL", "ALLEY": "AL",
	"TERR": "TERR", "TER": "TERR", "TE": "TERR", "TERRACE": "TERR",
	"CIR": "CIR", "CIRCLE": "CIR", "CI": "CIR",
	"SQ": "SQ", "SQUARE": "SQ",
	"DWY": "DWY", "DRWY": "DWY", "DRIVEWAY": "DWY",
	"TUN": "TUN", "TUNNEL": "TUN",
	"PIKE": "PIKE", "PK": "PIKE",
	"WALK": "WALK", "WK": "WALK",
	"PASS": "PASS", "PATH": "PATH", "GRTH": "GRTH", "GARTH": "GRTH",
	"MALL": "MALL", "MEWS": "MEWS",
	"PLZA": "PLZA", "PLZ": "PLZA", "PLAZA": "PLZA",
	"ROW": "ROW", "TRL": "TRL", "TRAIL": "TRL",
	"GRN": "GRN", "GREEN": "GRN", "RUN": "RUN",
	"HILL": "HILL", "PT": "PT",
}

// directions maps directional words to their one-letter form.
var directions = map[string]string{
	"N": "N", "S": "S", "E": "E", "W": "W",
	"NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
}

// dirWords turns a one-letter directional back into the word, for names such
// as NORTH AVE that a parser first reads as a directional.
var dirWords = map[string]string{"N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST"}

// nameWords canonicalises words inside street names so that SAINT PAUL and
// ST PAUL, MOUNT ROYAL and MT ROYAL meet. It is applied before the type is
// split off, so `X SAINT` and `X ST` parse alike (FuzzParseAddress relies on it).
var nameWords = map[string]string{
	"SAINT": "ST", "MOUNT": "MT", "FORT": "FT",
	"FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
	"SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
}

// separators split an intersection into its two streets.
var separators = map[string]bool{"&": true, "/": true, "@": true, "AND": true, "AT": true}

// ParseAddress parses a free-text address or intersection. It never panics;
// it fails only when no street name remains.
func ParseAddress(s string) (Address, error) {
	toks := tokenize(s)
	for i, t := range toks {
		if !separators[t] || i == 0 {
			continue
		}
		a, err := parseStreet(toks[:i])
		if err != nil {
			return Address{}, err
		}
		rest := toks[i+1:]
		// Only two streets are kept: `A & B & C` names one node by its first pair.
		for j, t := range rest {
			if separators[t] {
				rest = rest[:j]
				break
			}
		}
		b, err := parseStreet(rest)
		if err != nil {
			return Address{}, err
		}
		// A number on the cross street (`1200 N MILTON & 900 E BIDDLE`) is
		// kept so the normalised form re-parses identically; matching ignores it.
		a.Cross = &b
		return a, nil
	}
	return parseStreet(toks)
}

// tokenize upper-cases, cuts city/state tails, drops unit designators and
// punctuation, and splits intersection separators into their own tokens.
func tokenize(s string) []string {
	s = strings.ToUpper(s)
	if i := strings.IndexByte(s, ','); i >= 0 && strings.ContainsAny(s[:i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		s = s[:i]
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		case c == '\'' || c == '`':
			// O'DONNELL and ODONNELL are the same street.
		case c == '/' && i > 0 && i+1 < len(s) && isDigit(s[i-1]) && isDigit(s[i+1]):
			// a fraction (1200 1/2): not an intersection separator.
			b.WriteByte('-')
		case c == '&' || c == '/' || c == '@':
			b.WriteByte(' ')
			b.WriteByte(c)
			b.WriteByte(' ')
		case c == '#':
			return splitTokens(b.String())
		default:
			b.WriteByte(' ')
		}
	}
	return splitTokens(b.String())
}

func splitTokens(s string) []string {
	f := strings.Fields(s)
	out := f[:0]
	for _, t := range f {
		t = strings.Trim(t, "-")
		if t == "" {
			continue
		}
		out = append(out, t)
	}
	return out
}

// stripPlace drops a trailing zip, state and city, noise for a single-city
// geocoder. It strips until nothing changes, and runs per street of an
// intersection, so the normalised form never ends in one.
func stripPlace(out []string) []string {
	for {
		n := len(out)
		switch {
		case n > 1 && len(out[n-1]) == 5 && allDigits(out[n-1]):
			out = out[:n-1]
		case n > 1 && (out[n-1] == "MD" || out[n-1] == "MARYLAND"):
			out = out[:n-1]
			if n := len(out); n > 1 && out[n-1] == "BALTIMORE" {
				out = out[:n-1]
			}
		default:
			return out
		}
	}
}

// parseStreet parses `[number [BLOCK [OF]]] [dir] name [type] [sufdir]`.
func parseStreet(toks []string) (Address, error) {
	var a Address
	toks = stripPlace(toks)
	toks = parseNumber(toks, &a)
	canon := make([]string, len(toks))
	for i, t := range toks {
		if w, ok := nameWords[t]; ok {
			t = w
		}
		canon[i] = t
	}
	toks = canon
	if n := len(toks); n > 2 {
		// A suffix is a single letter (I 95 N) or a word after a type
		// (DENHAM CIRCLE SOUTH); NORTH alone at the end is part of a name.
		if d, ok := directions[toks[n-1]]; ok && (len(toks[n-1]) == 1 || isType(toks[n-2])) {
			a.SufDir = d
			toks = toks[:n-1]
		}
	}
	if len(toks) > 1 {
		if d, ok := directions[toks[0]]; ok && hasName(toks[1:]) {
			a.Dir = d
			toks = toks[1:]
		}
	}
	if len(toks) > 1 {
		if t, ok := streetTypes[toks[len(toks)-1]]; ok {
			a.Type = t
			toks = toks[:len(toks)-1]
			// `1600 25TH ST ST`: a repeated type is a typing slip. Dropping
			// every repeat keeps the normalised form a fixed point.
			for len(toks) > 1 && streetTypes[toks[len(toks)-1]] == t {
				toks = toks[:len(toks)-1]
			}
		}
	}
	if len(toks) == 0 {
		return Address{}, ErrNoStreet
	}
	a.Name = strings.Join(toks, " ")
	return a, nil
}

// hasName reports whether toks still hold a name once a trailing type is
// removed: in `EAST DR` EAST is the name, in `E MONUMENT ST` it is a prefix.
func isType(t string) bool {
	_, ok := streetTypes[t]
	return ok
}

func hasName(toks []string) bool {
	if len(toks) == 1 {
		_, isType := streetTypes[toks[0]]
		return !isType
	}
	return len(toks) > 1
}

// parseNumber consumes a leading house/block number and block keywords.
func parseNumber(toks []string, a *Address) []string {
	if len(toks) >= 2 && toks[0] == "UNIT" && (toks[1] == "BLOCK" || toks[1] == "BLK") {
		a.HasNumber, a.Block = true, true
		return numberTail(toks[2:], a)
	}
	if len(toks) == 0 || !isDigit(toks[0][0]) {
		return toks
	}
	num := toks[0]
	end := 0
	for end < len(num) && isDigit(num[end]) {
		end++
	}
	digits := num[:end]
	if len(digits) > 7 {
		return toks // not a house number (a phone number, an id): keep as name
	}
	// 1200A, 1200-1210 and 1200-1/2 keep the leading number.
	if end < len(num) && num[end] != '-' && !allLetters(num[end:]) {
		return toks
	}
	if end < len(num) && allLetters(num[end:]) && len(num)-end > 1 {
		return toks // 25TH is a street name, not a number
	}
	n, _ := strconv.Atoi(digits)
	a.Number, a.HasNumber = n, true
	if len(digits) > 1 && digits[0] == '0' {
		// BPD writes the unit block as 001 or 0001: a block, not house 1.
		a.Number, a.Block = n/100*100, true
	}
	return numberTail(toks[1:], a)
}

// numberTail consumes what may follow a number, in any order: BLOCK/BLK,
// OF (`1400 of N. Milton Ave.`) and a fraction (`1200 1/2 N MILTON`, the half
// house shares the point) that is not the last token. Consuming all of them
// in one loop means the first name token never looks like one, so the
// normalised form re-parses identically.
func numberTail(toks []string, a *Address) []string {
	for len(toks) > 0 {
		switch t := toks[0]; {
		case t == "BLOCK" || t == "BLK":
			a.Block = true
			a.Number = a.Number / 100 * 100
		case t == "OF":
		case isFraction(t) && len(toks) > 1:
		default:
			return toks
		}
		toks = toks[1:]
	}
	return toks
}

// isFraction matches the `1-2` token tokenize makes of `1/2`.
func isFraction(t string) bool {
	a, b, ok := strings.Cut(t, "-")
	return ok && allDigits(a) && allDigits(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return s != ""
}

// Street renders the street part: `N MILTON AVE`.
func (a Address) Street() string {
	parts := make([]string, 0, 4)
	for _, p := range []string{a.Dir, a.Name, a.Type, a.SufDir} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

// String renders the normalised address. Parsing the output again yields the
// same Address, so it is safe as a cache key and in quarantine details.
func (a Address) String() string {
	var b strings.Builder
	if a.HasNumber {
		b.WriteString(strconv.Itoa(a.Number))
		b.WriteByte(' ')
		if a.Block {
			b.WriteString("BLOCK ")
		}
	}
	b.WriteString(a.Street())
	if a.Cross != nil {
		b.WriteString(" & ")
		b.WriteString(a.Cross.String())
	}
	return b.String()
}

// NormalizeAddress returns the normalised form of s, or s upper-cased and
// space-collapsed when it cannot be parsed. Caches key on it so trivially
// different spellings share one entry.
func NormalizeAddress(s string) string {
	a, err := ParseAddress(s)
	if err != nil {
		return strings.Join(strings.Fields(strings.ToUpper(s)), " ")
	}
	return a.String()
}

// nameKey compacts a street name to letters and digits, so that MC KEAN and
// MCKEAN, COLD SPRING and COLDSPRING, CALHOUN-WOODYEAR and CALHOUN WOODYEAR
// share one index entry. Ordinal suffixes on numbers are dropped, so 23RD,
// 23TH and 23 (`800 E 34 ST`, `400 E 23th St`) meet.
func nameKey(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if isDigit(c) {
			b.WriteByte(c)
			if i+3 <= len(name) && (i+3 == len(name) || !isAlnum(name[i+3])) && isOrdinal(name[i+1:i+3]) {
				i += 2
			}
			continue
		}
		if c >= 'A' && c <= 'Z' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isOrdinal(s string) bool {
	switch strings.ToUpper(s) {
	case "ST", "ND", "RD", "TH":
		return true
	}
	return false
}

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}
