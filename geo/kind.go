package geo

import (
	"sort"
	"strings"
)

// Kind is the classification of an incident. Kinds are plain strings so that a
// city can add its own (for example 911 call types) by configuration; the
// constants below are the ones every shipped mapping uses.
type Kind string

// Kinds shipped with hotspots. Fatal and non-fatal are separate kinds rather
// than a flag because the city's indicators, targets and alert thresholds are
// all defined per kind ("non-fatal shootings per 1,000 residents").
const (
	KindOverdoseFatal     Kind = "overdose_fatal"
	KindOverdoseNonFatal  Kind = "overdose_nonfatal"
	KindOverdoseSuspected Kind = "overdose_suspected"
	KindShootingFatal     Kind = "shooting_fatal"
	KindShootingNonFatal  Kind = "shooting_nonfatal"
	KindHomicide          Kind = "homicide"
	KindShotsFired        Kind = "shots_fired"
	KindDrugArrest        Kind = "drug_arrest"
	KindCall911Other      Kind = "call_other"
)

// Family groups kinds for maps and filters: "overdose", "shooting",
// "homicide", "shots_fired", or the kind itself for custom kinds.
func (k Kind) Family() string {
	s := string(k)
	switch {
	case strings.HasPrefix(s, "overdose"):
		return "overdose"
	case strings.HasPrefix(s, "shooting"):
		return "shooting"
	}
	return s
}

// Fatal reports whether the kind records a death.
func (k Kind) Fatal() bool {
	return k == KindOverdoseFatal || k == KindShootingFatal || k == KindHomicide
}

// KindSet is the set of kinds a city recognises. Incidents of any other kind
// are quarantined with ReasonUnknownKind rather than stored.
type KindSet map[Kind]bool

// DefaultKinds returns the kinds shipped with hotspots.
func DefaultKinds() KindSet {
	return KindSet{
		KindOverdoseFatal: true, KindOverdoseNonFatal: true, KindOverdoseSuspected: true,
		KindShootingFatal: true, KindShootingNonFatal: true, KindHomicide: true,
		KindShotsFired: true, KindDrugArrest: true, KindCall911Other: true,
	}
}

// Sorted returns the kinds in lexical order, for stable output.
func (s KindSet) Sorted() []Kind {
	out := make([]Kind, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ParseKinds parses a comma-separated list of kinds or families
// ("shooting,overdose_fatal") against the set, expanding families.
func (s KindSet) ParseKinds(list string) ([]Kind, error) {
	var out []Kind
	seen := map[Kind]bool{}
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		matched := false
		for _, k := range s.Sorted() {
			if string(k) == part || k.Family() == part {
				if !seen[k] {
					out = append(out, k)
					seen[k] = true
				}
				matched = true
			}
		}
		if !matched {
			return nil, Errorf(EINVALID, "unknown kind %q", part)
		}
	}
	return out, nil
}

// Validate reports whether the kind is a well-formed identifier.
func (k Kind) Validate() error {
	if k == "" {
		return Errorf(EINVALID, "empty kind")
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return Errorf(EINVALID, "kind %q: only a-z, 0-9 and _ allowed", string(k))
		}
	}
	return nil
}
