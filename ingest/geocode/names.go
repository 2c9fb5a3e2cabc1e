package geocode

import "strings"

// candidates finds every street variant carrying the written name, each
// with the penalty for how its directional, type and suffix differ from the
// written ones. All are located; resolve keeps the best-scoring tier, so a
// relaxed variant wins only where no exact one has the address (downtown
// `300 ST PAUL ST` is SAINT PAUL PL in the DOT data).
func (o *Offline) candidates(a Address) []cand {
	n := o.net
	names := n.byName[nameKey(a.Name)]
	pen := 0.0
	if rest, ok := strings.CutPrefix(a.Name, "THE "); ok && len(names) == 0 {
		names = n.byName[nameKey(rest)] // THE FALLSWAY is FALLSWAY
	}
	if len(names) == 0 {
		names = o.abbreviated(a.Name)
		pen += penAbbrevName
	}
	if len(names) == 0 && o.cfg.Fuzzy {
		names = o.fuzzy(nameKey(a.Name))
		pen += penFuzzyName - penAbbrevName
	}
	if a.Dir == "" && n.manyDirs(names) {
		// BPD exports since 2017 drop the directional; inferring it from
		// which variant has the block is reliable but not certain.
		pen += penDirInferred
	}
	out := make([]cand, 0, len(names))
	for _, vi := range names {
		v := &n.variants[vi]
		p := pen
		switch {
		case a.Type == "" && v.typ != "":
			p += penTypeMissing
		case a.Type == "" || a.Type == v.typ:
		case v.typ == "":
			p += penTypeToTypeless
		default:
			p += penTypeRelaxed
		}
		switch {
		case a.Dir == "" || a.Dir == v.dir:
		case v.dir == "":
			p += penDirToDirless
		default:
			p += penDirRelaxed
		}
		if a.SufDir != "" && a.SufDir != v.suf {
			p += penSufDir
		}
		out = append(out, cand{vi, p})
	}
	return out
}

// abbreviated matches names written with initials or without a generational
// suffix: MARTIN L KING JR and MARTIN LUTHER KING both name MARTIN LUTHER
// KING JR. Each written word must equal the indexed word or be its initial.
func (o *Offline) abbreviated(name string) []int32 {
	want := trimGenerational(strings.Fields(name))
	if len(want) < 2 {
		return nil
	}
	var out []int32
	for vi := range o.net.variants {
		v := &o.net.variants[vi]
		if v.name[0] != want[0][0] {
			continue
		}
		have := trimGenerational(strings.Fields(v.name))
		if len(have) != len(want) {
			continue
		}
		ok := true
		for i := range want {
			if want[i] != have[i] && !(len(want[i]) == 1 && want[i][0] == have[i][0]) &&
				!(len(have[i]) == 1 && have[i][0] == want[i][0]) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, int32(vi))
		}
	}
	return out
}

func trimGenerational(words []string) []string {
	if n := len(words); n > 1 && (words[n-1] == "JR" || words[n-1] == "SR") {
		return words[:n-1]
	}
	return words
}

// manyDirs reports whether the variants carry more than one directional.
func (n *network) manyDirs(vs []int32) bool {
	if len(vs) < 2 {
		return false
	}
	for _, v := range vs[1:] {
		if n.variants[v].dir != n.variants[vs[0]].dir {
			return true
		}
	}
	return false
}

// fuzzy returns the variants of every indexed name one edit away from key.
// It runs only after an exact miss, so its linear scan does not affect the
// common path; short names are excluded because one edit changes them too much.
func (o *Offline) fuzzy(key string) []int32 {
	if len(key) < 5 {
		return nil
	}
	var out []int32
	for _, k := range o.net.keys {
		if k[0] != key[0] || abs(len(k)-len(key)) > 1 || !oneEdit(k, key) {
			continue
		}
		out = append(out, o.net.byName[k]...)
	}
	return out
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// oneEdit reports whether a and b differ by at most one insertion, deletion,
// substitution or adjacent transposition.
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return len(b)-len(a) <= 1
	}
	switch {
	case len(a) == len(b):
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	default:
		return a[i:] == b[i+1:]
	}
}
