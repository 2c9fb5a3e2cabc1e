package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"hotspots/geo"
)

// KeysCmd manages API keys in the store: the way to make the first admin
// key, which can then manage the others over /api/v1/admin/keys too.
type KeysCmd struct {
	Create KeysCreateCmd `cmd:"" help:"Create a key and print its secret, once: only a hash of it is stored."`
	List   KeysListCmd   `cmd:"" help:"List keys (never their secrets)."`
	Revoke KeysRevokeCmd `cmd:"" help:"Revoke a key by id; it stops working on the next request."`
}

// KeysCreateCmd creates one key.
type KeysCreateCmd struct {
	Name string   `name:"name" required:"" help:"Whose key it is (a person, team or system)."`
	Role string   `name:"role" required:"" enum:"admin,analyst,outreach,public" help:"admin, analyst (sees points), outreach (alerts and aggregates of its areas) or public."`
	Team string   `name:"team" help:"Team the key belongs to; subscriptions are managed per team."`
	Area []string `name:"area" help:"Limit an outreach key to this layer:code area (repeat for more); none: the whole city."`
}

// Run creates the key and prints it.
func (c KeysCreateCmd) Run(ctx context.Context, a *App) error {
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	k, secret, err := st.CreateKey(ctx, geo.APIKey{Name: c.Name, Role: geo.Role(c.Role), Team: c.Team, Areas: c.Area})
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	fmt.Fprintf(a.Stdout, "id:     %d\nname:   %s\nrole:   %s\n", k.ID, k.Name, k.Role)
	if k.Team != "" {
		fmt.Fprintf(a.Stdout, "team:   %s\n", k.Team)
	}
	if len(k.Areas) > 0 {
		fmt.Fprintf(a.Stdout, "areas:  %s\n", strings.Join(k.Areas, ", "))
	}
	fmt.Fprintf(a.Stdout, "prefix: %s\nsecret: %s\n\n", k.Prefix, secret)
	fmt.Fprintln(a.Stdout, "Store the secret now: it is not shown again. Send it as 'Authorization: Bearer <secret>'.")
	return nil
}

// KeysListCmd lists keys.
type KeysListCmd struct {
	Revoked bool `name:"revoked" help:"Include revoked keys."`
}

// Run prints one line per key.
func (c KeysListCmd) Run(ctx context.Context, a *App) error {
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := st.ListKeys(ctx, geo.KeyFilter{IncludeRevoked: c.Revoked})
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	w := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tROLE\tTEAM\tAREAS\tPREFIX\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, keyDash(k.Team),
			keyDash(strings.Join(k.Areas, ",")), k.Prefix, k.CreatedAt.Format(time.RFC3339), keyStamp(k.LastUsedAt), keyStamp(k.RevokedAt))
	}
	return w.Flush()
}

// KeysRevokeCmd revokes one key.
type KeysRevokeCmd struct {
	ID int64 `arg:"" help:"Id of the key (see keys list)."`
}

// Run revokes the key.
func (c KeysRevokeCmd) Run(ctx context.Context, a *App) error {
	st, err := a.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := st.RevokeKey(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("revoke key %d: %w", c.ID, err)
	}
	fmt.Fprintf(a.Stdout, "revoked key %d (%s, %s, prefix %s) at %s\n", k.ID, k.Name, k.Role, k.Prefix, k.RevokedAt.Format(time.RFC3339))
	return nil
}

func keyDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func keyStamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
