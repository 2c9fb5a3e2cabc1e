package geo

import "slices"

// Role is what an API caller may see. Privacy is part of correctness: exact
// points describe overdose and shooting victims, so only analysts get them.
type Role string

// Roles, from most to least trusted.
const (
	// RoleAdmin manages keys, sources, areas and subscriptions, and sees
	// everything an analyst sees.
	RoleAdmin Role = "admin"
	// RoleAnalyst sees everything, including exact points.
	RoleAnalyst Role = "analyst"
	// RoleOutreach sees alerts and aggregates for its team's areas, no points.
	RoleOutreach Role = "outreach"
	// RolePublic (and anonymous callers) see aggregated, suppressed outputs.
	RolePublic Role = "public"
)

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleAnalyst, RoleOutreach, RolePublic:
		return r, nil
	}
	return "", Errorf(EINVALID, "unknown role %q (admin, analyst, outreach, public)", s)
}

// Principal is the authenticated caller of a request.
type Principal struct {
	KeyID int64 // 0 for anonymous
	Name  string
	Role  Role
	Team  string
	// Areas limits an outreach team to these "layer:code" areas; empty means
	// the whole city.
	Areas []string
}

// Anonymous is the principal of a request without a key.
var Anonymous = Principal{Role: RolePublic, Name: "anonymous"}

// SeesPoints reports whether the principal may see exact incident locations.
func (p Principal) SeesPoints() bool { return p.Role == RoleAdmin || p.Role == RoleAnalyst }

// SeesUnsuppressed reports whether small counts may be shown unsuppressed:
// everyone but the public works inside the health department's data
// agreement.
func (p Principal) SeesUnsuppressed() bool { return p.Role != RolePublic && p.Role != "" }

// IsAdmin reports whether the principal may manage keys, sources and areas.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// CoversArea reports whether an outreach principal's scope includes the area
// ("layer:code"); other roles cover everything.
func (p Principal) CoversArea(layerCode string) bool {
	if p.Role != RoleOutreach || len(p.Areas) == 0 {
		return true
	}
	return slices.Contains(p.Areas, layerCode)
}
