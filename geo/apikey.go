package geo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// APIKey is a caller's key as stored: everything but the secret, of which
// only a hash is kept.
type APIKey struct {
	ID    int64    `json:"id"`
	Name  string   `json:"name"`
	Role  Role     `json:"role"`
	Team  string   `json:"team,omitempty"`
	Areas []string `json:"areas"`
	// Prefix is the first characters of the secret, so an operator can tell
	// keys apart in lists and logs without the secret being stored.
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Principal is the caller a request made with this key acts as.
func (k APIKey) Principal() Principal {
	return Principal{KeyID: k.ID, Name: k.Name, Role: k.Role, Team: k.Team, Areas: k.Areas}
}

// Validate checks a key about to be created: a name, a known role, and areas
// written as "layer:code".
func (k APIKey) Validate() error {
	if strings.TrimSpace(k.Name) == "" {
		return FieldErrorf("name", "a key needs a name saying whose it is")
	}
	if len(k.Name) > 200 || len(k.Team) > 200 {
		return FieldErrorf("name", "name and team are at most 200 characters")
	}
	if _, err := ParseRole(string(k.Role)); err != nil {
		return FieldErrorf("role", "%s", ErrorMessage(err))
	}
	if len(k.Areas) > 0 && k.Role != RoleOutreach {
		return FieldErrorf("areas", "areas limit outreach keys only; role %s sees the whole city", k.Role)
	}
	if len(k.Areas) > 1000 {
		return FieldErrorf("areas", "at most 1000 areas")
	}
	for _, a := range k.Areas {
		layer, code, ok := strings.Cut(a, ":")
		if !ok || layer == "" || code == "" || len(a) > 200 {
			return FieldErrorf("areas", "area %q: want layer:code, e.g. neighborhoods:ABELL", a)
		}
	}
	return nil
}

// KeySecretPrefix starts every secret, so a leaked key is recognisable to
// secret scanners and to people.
const KeySecretPrefix = "hsk_"

// keyPrefixLen is how much of the secret is kept in clear as APIKey.Prefix:
// "hsk_" and 8 characters (48 random bits), enough to tell keys apart and
// far too little to guess the rest.
const keyPrefixLen = len(KeySecretPrefix) + 8

// NewKeySecret returns a new random secret (32 bytes from crypto/rand), its
// display prefix and its hash. Stores call it in CreateKey so that the
// secret never reaches storage.
func NewKeySecret() (secret, prefix string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", nil, Errorf(EINTERNAL, "random key: %v", err)
	}
	secret = KeySecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, secret[:keyPrefixLen], HashKeySecret(secret), nil
}

// HashKeySecret is the stored form of a secret: its SHA-256.
//
// A fast hash is right here, unlike for passwords: the secret is 256 random
// bits, so there is no dictionary to try and a brute force over 2^256
// candidates is hopeless however fast each guess is. A slow KDF (bcrypt,
// argon2) would only add tens of milliseconds to every API request, and
// salting is pointless when no two secrets are alike. Being deterministic,
// the hash is also the lookup key, so a request costs one indexed read.
func HashKeySecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// KeyFilter narrows ListKeys.
type KeyFilter struct {
	// IncludeRevoked lists revoked keys too.
	IncludeRevoked bool
}

// KeyService stores API keys. Revocation takes effect at once: LookupKey
// reads the store on every call and nothing caches a principal past one
// request.
type KeyService interface {
	// CreateKey validates k, generates its secret and stores k with the
	// secret's hash and prefix only. It returns the stored key and the
	// secret, which is never available again.
	CreateKey(ctx context.Context, k APIKey) (APIKey, string, error)
	// LookupKey returns the key whose secret hashes to hash, unless it is
	// revoked (ENOTFOUND for unknown and revoked alike, so a caller cannot
	// tell them apart). It records the use in LastUsedAt, at most about
	// once a minute per key so busy keys do not turn reads into writes.
	LookupKey(ctx context.Context, hash []byte) (APIKey, error)
	// ListKeys returns keys in ID order.
	ListKeys(ctx context.Context, f KeyFilter) ([]APIKey, error)
	// RevokeKey revokes the key and returns it; revoking a revoked key
	// changes nothing. ENOTFOUND for an unknown id.
	RevokeKey(ctx context.Context, id int64) (APIKey, error)
}

// KeyTouchInterval is how stale LastUsedAt may get before LookupKey writes
// it again.
const KeyTouchInterval = time.Minute

// AccessEntry is one request that returned point-level data: who, when,
// which route, layer, place and time window, and how much.
type AccessEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	KeyID   int64     `json:"key_id,omitempty"` // 0 for a request without key
	KeyName string    `json:"key_name"`
	Role    Role      `json:"role"`
	// Route is the method and route template, e.g. "GET /tiles/:layer/:z/:x/:y".
	Route string `json:"route"`
	Layer string `json:"layer,omitempty"`
	// Area is the "layer:code" area asked for, if any.
	Area string `json:"area,omitempty"`
	// Tile is "z/x/y" for a tile request.
	Tile string `json:"tile,omitempty"`
	// BBox is the lon/lat box the data came from, when known.
	BBox       *orb.Bound `json:"bbox,omitempty"`
	WindowFrom *time.Time `json:"window_from,omitempty"`
	WindowTo   *time.Time `json:"window_to,omitempty"`
	// Rows is how many point-level records the response held.
	Rows       int    `json:"rows"`
	RemoteAddr string `json:"remote_addr,omitempty"`
}

// AccessFilter narrows ListAccess.
type AccessFilter struct {
	KeyID        *int64
	Since, Until *time.Time // At >= Since, At < Until
	Limit        int        // 0: no limit
	Offset       int
}

// AccessLogService keeps the append-only record of who read point-level
// data. There is deliberately no way to change or delete an entry through
// it; the stores also refuse UPDATE and DELETE on the table.
type AccessLogService interface {
	// AppendAccess records e; At is set by the store when zero.
	AppendAccess(ctx context.Context, e AccessEntry) error
	// ListAccess returns entries newest first.
	ListAccess(ctx context.Context, f AccessFilter) ([]AccessEntry, error)
}
