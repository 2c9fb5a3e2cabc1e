package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"hotspots/geo"
	"hotspots/geo/sqlite"
)

func TestKeysCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	code, out, errOut := hs(t, ctx, dir, "keys", "create", "--name", "east lead", "--role", "outreach",
		"--team", "east", "--area", "neighborhood:abell", "--area", "neighborhood:oldtown")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`(?m)^secret: (hsk_\S+)$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "id:     1") || !strings.Contains(out, "areas:  neighborhood:abell, neighborhood:oldtown") {
		t.Fatalf("create printed:\n%s", out)
	}
	secret := m[1]

	// The printed secret is a working key of the store, which holds only
	// its hash.
	st, err := sqlite.Open(ctx, dir+"/hotspots.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.LookupKey(ctx, geo.HashKeySecret(secret))
	st.Close()
	if err != nil || k.Role != geo.RoleOutreach || k.Team != "east" || len(k.Areas) != 2 {
		t.Fatalf("lookup of the printed secret: %+v, %v", k, err)
	}

	code, out, errOut = hs(t, ctx, dir, "keys", "create", "--name", "ops", "--role", "admin")
	if code != 0 {
		t.Fatalf("second create: exit %d: %s", code, errOut)
	}
	code, out, errOut = hs(t, ctx, dir, "keys", "list")
	if code != 0 || !strings.Contains(out, "east lead") || !strings.Contains(out, "ops") || strings.Contains(out, secret) {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = hs(t, ctx, dir, "keys", "revoke", "1")
	if code != 0 || !strings.Contains(out, "revoked key 1") {
		t.Fatalf("revoke: exit %d\n%s\n%s", code, out, errOut)
	}
	_, out, _ = hs(t, ctx, dir, "keys", "list")
	if strings.Contains(out, "east lead") {
		t.Fatalf("revoked key listed without --revoked:\n%s", out)
	}
	_, out, _ = hs(t, ctx, dir, "keys", "list", "--revoked")
	if !strings.Contains(out, "east lead") {
		t.Fatalf("revoked key missing with --revoked:\n%s", out)
	}

	for name, args := range map[string][]string{
		"unknown role":      {"keys", "create", "--name", "x", "--role", "root"},
		"no name":           {"keys", "create", "--role", "admin"},
		"areas on analysts": {"keys", "create", "--name", "x", "--role", "analyst", "--area", "neighborhood:abell"},
		"bad area":          {"keys", "create", "--name", "x", "--role", "outreach", "--area", "abell"},
		"unknown id":        {"keys", "revoke", "99"},
		"id not a number":   {"keys", "revoke", "one"},
	} {
		code, _, errOut := hs(t, ctx, dir, args...)
		lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
		if code == 0 || !strings.HasPrefix(lines[len(lines)-1], "hotspots: ") {
			t.Errorf("%s: exit %d, stderr %q; want a one-line failure", name, code, errOut)
		}
	}
}
