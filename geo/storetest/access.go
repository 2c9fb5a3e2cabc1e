package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// accessTests cover API keys and the access log.
var accessTests = []struct {
	name string
	fn   func(t *testing.T, open Opener)
}{
	{"KeysCreateLookupRevoke", testKeys},
	{"KeysRejectInvalid", testKeysInvalid},
	{"KeysSurviveReopen", testKeysReopen},
	{"AccessLog", testAccessLog},
}

func mustCreateKey(t *testing.T, s geo.Store, k geo.APIKey) (geo.APIKey, string) {
	t.Helper()
	got, secret, err := s.CreateKey(ctxT(t), k)
	if err != nil {
		t.Fatalf("CreateKey(%+v): %v", k, err)
	}
	return got, secret
}

func testKeys(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	admin, adminSecret := mustCreateKey(t, s, geo.APIKey{Name: "ops", Role: geo.RoleAdmin})
	out, outSecret := mustCreateKey(t, s, geo.APIKey{Name: "east team", Role: geo.RoleOutreach, Team: "east",
		Areas: []string{"neighborhoods:ABELL", "neighborhoods:OLDTOWN"}})
	if admin.ID == 0 || out.ID == admin.ID {
		t.Fatalf("ids %d, %d: want distinct non-zero", admin.ID, out.ID)
	}
	for _, sec := range []string{adminSecret, outSecret} {
		if !strings.HasPrefix(sec, geo.KeySecretPrefix) || len(sec) < 40 {
			t.Fatalf("secret %q: want %s and 32 random bytes", sec, geo.KeySecretPrefix)
		}
	}
	if adminSecret == outSecret || !strings.HasPrefix(adminSecret, admin.Prefix) || len(admin.Prefix) >= len(adminSecret)/2 {
		t.Fatalf("prefix %q of secret %q: want a short leading part of a unique secret", admin.Prefix, adminSecret)
	}

	got, err := s.LookupKey(ctx, geo.HashKeySecret(outSecret))
	if err != nil {
		t.Fatalf("LookupKey: %v", err)
	}
	want := geo.Principal{KeyID: out.ID, Name: "east team", Role: geo.RoleOutreach, Team: "east",
		Areas: []string{"neighborhoods:ABELL", "neighborhoods:OLDTOWN"}}
	if p := got.Principal(); p.KeyID != want.KeyID || p.Name != want.Name || p.Role != want.Role || p.Team != want.Team ||
		!slices.Equal(p.Areas, want.Areas) {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	if got.LastUsedAt == nil {
		t.Fatalf("LookupKey did not record the use")
	}
	_, err = s.LookupKey(ctx, geo.HashKeySecret(outSecret+"x"))
	wantCode(t, "LookupKey(unknown)", err, geo.ENOTFOUND)
	_, err = s.LookupKey(ctx, nil)
	wantCode(t, "LookupKey(nil)", err, geo.ENOTFOUND)

	keys, err := s.ListKeys(ctx, geo.KeyFilter{})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if len(keys) != 2 || keys[0].ID != admin.ID || keys[1].ID != out.ID {
		t.Fatalf("ListKeys: %+v, want the two keys in id order", keys)
	}
	if keys[1].LastUsedAt == nil || keys[0].LastUsedAt != nil {
		t.Fatalf("last used: %v, %v; want only the looked-up key", keys[0].LastUsedAt, keys[1].LastUsedAt)
	}
	if keys[1].Prefix != out.Prefix || keys[1].Team != "east" || len(keys[0].Areas) != 0 {
		t.Fatalf("listed key %+v, created %+v", keys[1], out)
	}

	// Revocation takes effect on the very next lookup.
	rev, err := s.RevokeKey(ctx, out.ID)
	if err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	if rev.RevokedAt == nil || rev.ID != out.ID {
		t.Fatalf("RevokeKey returned %+v", rev)
	}
	_, err = s.LookupKey(ctx, geo.HashKeySecret(outSecret))
	wantCode(t, "LookupKey(revoked)", err, geo.ENOTFOUND)
	again, err := s.RevokeKey(ctx, out.ID)
	if err != nil || again.RevokedAt == nil || !again.RevokedAt.Equal(*rev.RevokedAt) {
		t.Fatalf("second RevokeKey: %+v, %v; want the first revocation time kept", again, err)
	}
	_, err = s.RevokeKey(ctx, out.ID+1000)
	wantCode(t, "RevokeKey(unknown)", err, geo.ENOTFOUND)
	if _, err := s.LookupKey(ctx, geo.HashKeySecret(adminSecret)); err != nil {
		t.Fatalf("other key after revoke: %v", err)
	}

	active, err := s.ListKeys(ctx, geo.KeyFilter{})
	if err != nil || len(active) != 1 || active[0].ID != admin.ID {
		t.Fatalf("ListKeys after revoke: %+v, %v; want the admin key only", active, err)
	}
	all, err := s.ListKeys(ctx, geo.KeyFilter{IncludeRevoked: true})
	if err != nil || len(all) != 2 || all[1].RevokedAt == nil {
		t.Fatalf("ListKeys(IncludeRevoked): %+v, %v", all, err)
	}
}

func testKeysInvalid(t *testing.T, open Opener) {
	s := open(t)
	for name, k := range map[string]geo.APIKey{
		"no name":             {Role: geo.RoleAnalyst},
		"unknown role":        {Name: "x", Role: "root"},
		"areas on analyst":    {Name: "x", Role: geo.RoleAnalyst, Areas: []string{"neighborhoods:ABELL"}},
		"area without layer":  {Name: "x", Role: geo.RoleOutreach, Areas: []string{"ABELL"}},
		"empty area code":     {Name: "x", Role: geo.RoleOutreach, Areas: []string{"neighborhoods:"}},
		"name far too long":   {Name: strings.Repeat("n", 300), Role: geo.RolePublic},
		"role in wrong case":  {Name: "x", Role: "Admin"},
		"blank name (spaces)": {Name: "   ", Role: geo.RolePublic},
	} {
		_, _, err := s.CreateKey(ctxT(t), k)
		wantCode(t, "CreateKey("+name+")", err, geo.EINVALID)
	}
	keys, err := s.ListKeys(ctxT(t), geo.KeyFilter{IncludeRevoked: true})
	if err != nil || len(keys) != 0 {
		t.Fatalf("ListKeys after rejected creates: %+v, %v", keys, err)
	}
}

func testKeysReopen(t *testing.T, open Opener) {
	s := open(t)
	k, secret := mustCreateKey(t, s, geo.APIKey{Name: "analyst", Role: geo.RoleAnalyst, Team: "epi"})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t)
	got, err := s.LookupKey(ctxT(t), geo.HashKeySecret(secret))
	if err != nil || got.ID != k.ID || got.Role != geo.RoleAnalyst {
		t.Fatalf("LookupKey after reopen: %+v, %v", got, err)
	}
	if !got.CreatedAt.Equal(k.CreatedAt) {
		t.Fatalf("created %v after reopen, %v before", got.CreatedAt, k.CreatedAt)
	}
}

func testAccessLog(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	from, to := base.AddDate(0, 0, -28), base
	bbox := orb.Bound{Min: orb.Point{-76.6318, 39.2904}, Max: orb.Point{-76.6098, 39.3046}}
	entries := []geo.AccessEntry{
		{At: base, KeyID: 7, KeyName: "analyst", Role: geo.RoleAnalyst, Route: "GET /tiles/:layer/:z/:x/:y",
			Layer: "incidents", Tile: "14/4686/6266", BBox: &bbox, WindowFrom: &from, WindowTo: &to, Rows: 12, RemoteAddr: "10.0.0.5"},
		{At: base.Add(time.Minute), KeyID: 8, KeyName: "admin", Role: geo.RoleAdmin, Route: "GET /api/v1/alerts/:id",
			Layer: "alerts", Area: "neighborhoods:ABELL", Rows: 3},
		{At: base.Add(2 * time.Minute), KeyID: 7, KeyName: "analyst", Role: geo.RoleAnalyst, Route: "GET /api/v1/alerts",
			Layer: "alerts", Rows: 0, RemoteAddr: "2001:db8::1"},
	}
	for _, e := range entries {
		if err := s.AppendAccess(ctx, e); err != nil {
			t.Fatalf("AppendAccess: %v", err)
		}
	}
	got, err := s.ListAccess(ctx, geo.AccessFilter{})
	if err != nil {
		t.Fatalf("ListAccess: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ListAccess: %d entries, want 3", len(got))
	}
	for i, g := range got {
		w := entries[2-i] // newest first
		if g.ID == 0 {
			t.Errorf("entry %d: no id", i)
		}
		g.ID = 0
		if !g.At.Equal(w.At) || g.KeyID != w.KeyID || g.KeyName != w.KeyName || g.Role != w.Role || g.Route != w.Route ||
			g.Layer != w.Layer || g.Area != w.Area || g.Tile != w.Tile || g.Rows != w.Rows || g.RemoteAddr != w.RemoteAddr ||
			!timePtrEqual(g.WindowFrom, w.WindowFrom) || !timePtrEqual(g.WindowTo, w.WindowTo) || !boundEqual(g.BBox, w.BBox) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	seven := int64(7)
	since, until := base.Add(30*time.Second), base.Add(3*time.Minute)
	byKey, err := s.ListAccess(ctx, geo.AccessFilter{KeyID: &seven, Since: &since, Until: &until})
	if err != nil || len(byKey) != 1 || byKey[0].Route != "GET /api/v1/alerts" {
		t.Fatalf("ListAccess(key 7, since): %+v, %v", byKey, err)
	}
	paged, err := s.ListAccess(ctx, geo.AccessFilter{Limit: 1, Offset: 1})
	if err != nil || len(paged) != 1 || paged[0].KeyID != 8 {
		t.Fatalf("ListAccess(limit 1, offset 1): %+v, %v", paged, err)
	}

	// A zero time is stamped by the store.
	if err := s.AppendAccess(ctx, geo.AccessEntry{Role: geo.RolePublic, KeyName: "anonymous", Route: "GET /x"}); err != nil {
		t.Fatalf("AppendAccess(no time): %v", err)
	}
	latest, err := s.ListAccess(ctx, geo.AccessFilter{Limit: 1})
	if err != nil || len(latest) != 1 || latest[0].At.IsZero() || latest[0].KeyID != 0 {
		t.Fatalf("stamped entry: %+v, %v", latest, err)
	}
}

func timePtrEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func boundEqual(a, b *orb.Bound) bool {
	if a == nil || b == nil {
		return a == b
	}
	const eps = 1e-9
	for i := range 2 {
		if d := a.Min[i] - b.Min[i]; d > eps || d < -eps {
			return false
		}
		if d := a.Max[i] - b.Max[i]; d > eps || d < -eps {
			return false
		}
	}
	return true
}
