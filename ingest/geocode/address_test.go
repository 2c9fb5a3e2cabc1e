package geocode

import (
	"errors"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
		// fields checked in addition to the normalised form
		number int
		block  bool
		dir    string
		name   string
		typ    string
		cross  string
	}{
		"bpd block":                 {in: "1200 N MILTON AV", want: "1200 N MILTON AVE", number: 1200, dir: "N", name: "MILTON", typ: "AVE"},
		"unit block":                {in: "0 N ABINGTON AV", want: "0 N ABINGTON AVE", number: 0, dir: "N", name: "ABINGTON", typ: "AVE"},
		"zero padded is unit block": {in: "001 CAMBRIA ST", want: "0 BLOCK CAMBRIA ST", block: true, name: "CAMBRIA", typ: "ST"},
		"four digit zero padded":    {in: "0001 N STRICKER ST", want: "0 BLOCK N STRICKER ST", block: true, dir: "N", name: "STRICKER", typ: "ST"},
		"BLOCK keyword":             {in: "6300 BLOCK FRANKFORD AVE", want: "6300 BLOCK FRANKFORD AVE", number: 6300, block: true, name: "FRANKFORD", typ: "AVE"},
		"BLK keyword rounds down":   {in: "6310 BLK FRANKFORD AV", want: "6300 BLOCK FRANKFORD AVE", number: 6300, block: true, name: "FRANKFORD", typ: "AVE"},
		"unit block of":             {in: "Unit block of Morris Road", want: "0 BLOCK MORRIS ROAD", block: true, name: "MORRIS", typ: "ROAD"},
		"block of":                  {in: "1400 of N. Milton Ave.", want: "1400 N MILTON AVE", number: 1400, dir: "N", name: "MILTON", typ: "AVE"},
		"DRWY":                      {in: "200 S ELLICOTT DRWY", want: "200 S ELLICOTT DWY", number: 200, dir: "S", name: "ELLICOTT", typ: "DWY"},
		"BL":                        {in: "700 WASHINGTON BL", want: "700 WASHINGTON BLVD", number: 700, name: "WASHINGTON", typ: "BLVD"},
		"BD":                        {in: "700 WASHINGTON BD", want: "700 WASHINGTON BLVD", number: 700, name: "WASHINGTON", typ: "BLVD"},
		"B":                         {in: "700 WASHINGTON B", want: "700 WASHINGTON BLVD", number: 700, name: "WASHINGTON", typ: "BLVD"},
		"PY":                        {in: "2600 GWYNNS FALLS PY", want: "2600 GWYNNS FALLS PKWY", number: 2600, name: "GWYNNS FALLS", typ: "PKWY"},
		"PW":                        {in: "2600 GWYNNS FALLS PW", want: "2600 GWYNNS FALLS PKWY", number: 2600, name: "GWYNNS FALLS", typ: "PKWY"},
		"Pkway":                     {in: "1701 Gwynns Falls Pkway", want: "1701 GWYNNS FALLS PKWY", number: 1701, name: "GWYNNS FALLS", typ: "PKWY"},
		"LA":                        {in: "5511 BOWLEYS LA", want: "5511 BOWLEYS LANE", number: 5511, name: "BOWLEYS", typ: "LANE"},
		"TE":                        {in: "2900 CLIFTON PARK TE", want: "2900 CLIFTON PARK TERR", number: 2900, name: "CLIFTON PARK", typ: "TERR"},
		"TER":                       {in: "2928 CLIFTON PARK TER", want: "2928 CLIFTON PARK TERR", number: 2928, name: "CLIFTON PARK", typ: "TERR"},
		"HY":                        {in: "4400 PULASKI HY", want: "4400 PULASKI HWY", number: 4400, name: "PULASKI", typ: "HWY"},
		"WY":                        {in: "1500 WADSWORTH WY", want: "1500 WADSWORTH WAY", number: 1500, name: "WADSWORTH", typ: "WAY"},
		"road spelled out":          {in: "4900 Challedon Road ", want: "4900 CHALLEDON ROAD", number: 4900, name: "CHALLEDON", typ: "ROAD"},
		"suffix-less BROADWAY":      {in: "143 N BROADWAY", want: "143 N BROADWAY", number: 143, dir: "N", name: "BROADWAY"},
		"suffix-less THE ALAMEDA":   {in: "5656 THE ALAMEDA", want: "5656 THE ALAMEDA", number: 5656, name: "THE ALAMEDA"},
		"hyphenated alley":          {in: "1100 CALHOUN-WOODYEAR", want: "1100 CALHOUN-WOODYEAR", number: 1100, name: "CALHOUN-WOODYEAR"},
		"directional word":          {in: "1100 EAST COLD SPRING LN", want: "1100 E COLD SPRING LANE", number: 1100, dir: "E", name: "COLD SPRING", typ: "LANE"},
		"NORTH is a name":           {in: "1300 North Ave.", want: "1300 NORTH AVE", number: 1300, name: "NORTH", typ: "AVE"},
		"W NORTH":                   {in: "1600 W NORTH AV", want: "1600 W NORTH AVE", number: 1600, dir: "W", name: "NORTH", typ: "AVE"},
		"EAST is a name":            {in: "EAST DR", want: "EAST DR", name: "EAST", typ: "DR"},
		"repeated type":             {in: "1600 25TH ST ST", want: "1600 25TH ST", number: 1600, name: "25TH", typ: "ST"},
		"saint":                     {in: "3800 Saint Lo Drive", want: "3800 ST LO DR", number: 3800, name: "ST LO", typ: "DR"},
		"st paul":                   {in: "301 ST PAUL ST", want: "301 ST PAUL ST", number: 301, name: "ST PAUL", typ: "ST"},
		"word suffix":               {in: "2900 DENHAM CIRCLE SOUTH", want: "2900 DENHAM CIR S", number: 2900, name: "DENHAM", typ: "CIR"},
		"city state tail":           {in: "212 Old Riverside Rd, Brooklyn, MD", want: "212 OLD RIVERSIDE ROAD", number: 212, name: "OLD RIVERSIDE", typ: "ROAD"},
		"zip tail":                  {in: "1800 ORLEANS ST BALTIMORE MD 21287", want: "1800 ORLEANS ST", number: 1800, name: "ORLEANS", typ: "ST"},
		"unit designator":           {in: "1200A N MILTON AVE #3", want: "1200 N MILTON AVE", number: 1200, dir: "N", name: "MILTON", typ: "AVE"},
		"half house":                {in: "1200 1/2 N MILTON AV", want: "1200 N MILTON AVE", number: 1200, dir: "N", name: "MILTON", typ: "AVE"},
		"apostrophe":                {in: "O'Donnell St", want: "ODONNELL ST", name: "ODONNELL", typ: "ST"},
		"ampersand":                 {in: "E Baltimore St & N Highland Ave", want: "E BALTIMORE ST & N HIGHLAND AVE", dir: "E", name: "BALTIMORE", typ: "ST", cross: "N HIGHLAND AVE"},
		"and":                       {in: "Liberty Heights Ave and Gwynn Oak Ave", want: "LIBERTY HEIGHTS AVE & GWYNN OAK AVE", name: "LIBERTY HEIGHTS", typ: "AVE", cross: "GWYNN OAK AVE"},
		"at":                        {in: "Winans Way at Franklintown Rd", want: "WINANS WAY & FRANKLINTOWN ROAD", name: "WINANS", typ: "WAY", cross: "FRANKLINTOWN ROAD"},
		"slash":                     {in: "N MILTON AV/E BIDDLE ST", want: "N MILTON AVE & E BIDDLE ST", dir: "N", name: "MILTON", typ: "AVE", cross: "E BIDDLE ST"},
		"three streets keep two":    {in: "5TH ST & DORIS AV & DORIS AVE", want: "5TH ST & DORIS AVE", name: "5TH", typ: "ST", cross: "DORIS AVE"},
		"cross number kept":         {in: "1200 N MILTON AV & 900 E BIDDLE ST", want: "1200 N MILTON AVE & 900 E BIDDLE ST", number: 1200, dir: "N", name: "MILTON", typ: "AVE", cross: "E BIDDLE ST"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := ParseAddress(tt.in)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tt.in, err)
			}
			if got := a.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if a.Number != tt.number || a.Block != tt.block || a.Dir != tt.dir || a.Name != tt.name || a.Type != tt.typ {
				t.Errorf("got number %d block %v dir %q name %q type %q", a.Number, a.Block, a.Dir, a.Name, a.Type)
			}
			cross := ""
			if a.Cross != nil {
				cross = a.Cross.Street()
			}
			if cross != tt.cross {
				t.Errorf("cross = %q, want %q", cross, tt.cross)
			}
		})
	}
}

func TestParseAddressErrors(t *testing.T) {
	for _, in := range []string{"", "   ", "1200", "#12", "12 BLOCK", "A & ", ",,,"} {
		if a, err := ParseAddress(in); !errors.Is(err, ErrNoStreet) {
			t.Errorf("ParseAddress(%q) = %q, %v; want ErrNoStreet", in, a.String(), err)
		}
	}
}

func TestNameKey(t *testing.T) {
	tests := map[string]struct{ a, b string }{
		"spaces":       {"MC KEAN", "MCKEAN"},
		"hyphen":       {"CALHOUN-WOODYEAR", "CALHOUN WOODYEAR"},
		"ordinal typo": {"23TH", "23RD"},
		"bare number":  {"34", "34TH"},
		"half street":  {"22ND 1-2", "22 1/2"},
		"dots":         {"MT. WASHINGTON", "MT WASHINGTON"},
	}
	for name, tt := range tests {
		if nameKey(tt.a) != nameKey(tt.b) {
			t.Errorf("%s: nameKey(%q)=%q != nameKey(%q)=%q", name, tt.a, nameKey(tt.a), tt.b, nameKey(tt.b))
		}
	}
	if nameKey("1ST") == nameKey("1STREET") {
		t.Error("ordinal stripping must stop at a word boundary")
	}
}

func TestNormalizeAddress(t *testing.T) {
	if a, b := NormalizeAddress("1200 n. Milton Avenue"), NormalizeAddress("1200 N MILTON AV"); a != b {
		t.Errorf("NormalizeAddress differs: %q vs %q", a, b)
	}
	if got := NormalizeAddress("  12  "); got != "12" {
		t.Errorf("unparseable input: got %q", got)
	}
}

// FuzzParseAddress checks that parsing never panics and that the
// normalised form is a fixed point: parsing it again gives the same form.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"1200 N MILTON AV", "0 N ABINGTON AV", "001 CAMBRIA ST", "6300 BLOCK FRANKFORD AVE",
		"200 S ELLICOTT DRWY", "5656 THE ALAMEDA", "Unit block of Morris Road", "1400 of N. Milton Ave.",
		"Winans Way at Franklintown Rd", "E Baltimore St & N Highland Ave", "N MILTON AV/E BIDDLE ST",
		"1600 25TH ST ST", "212 Old Riverside Rd, Brooklyn, MD", "1200 1/2 N MILTON", "2900 DENHAM CIRCLE SOUTH",
		"I 95 N", "X SAINT", "1 BLOCK OF OF X", "X 12345 12345", "N ST ST", "& X", "AT X & Y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		norm := a.String()
		b, err := ParseAddress(norm)
		if err != nil {
			t.Fatalf("ParseAddress(%q) ok as %q, but the normalised form fails: %v", s, norm, err)
		}
		if again := b.String(); again != norm {
			t.Fatalf("not stable: %q -> %q -> %q", s, norm, again)
		}
	})
}
