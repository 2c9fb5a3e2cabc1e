package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// No Docker engine runs where the tests run, so the compose file is checked
// with the real compose-spec parser: a typo, a missing health check or a
// wrong build path fails here instead of on a deployment.
func TestDockerComposeFile(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("hotspots"), cli.WithResolvedPaths(true),
		cli.WithEnv([]string{"HOTSPOTS_DB_PASSWORD=secret"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose file does not load: %v", err)
	}
	svc := func(name string) types.ServiceConfig {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("service %q missing", name)
		}
		return s
	}

	db := svc("postgis")
	if !strings.HasPrefix(db.Image, "postgis/postgis:15-3") {
		t.Errorf("postgis image = %q, want postgis/postgis:15-3.x", db.Image)
	}
	if db.HealthCheck == nil || len(db.HealthCheck.Test) == 0 || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready") {
		t.Errorf("postgis needs a pg_isready health check, got %+v", db.HealthCheck)
	}

	apiSvc := svc("api")
	if apiSvc.Build == nil {
		t.Fatal("api must be built from the repository")
	}
	if _, err := os.Stat(filepath.Join(apiSvc.Build.Context, apiSvc.Build.Dockerfile)); err != nil {
		t.Errorf("api build: %v", err)
	}
	if _, err := os.Stat(filepath.Join(apiSvc.Build.Context, "cmd", "hotspots")); err != nil {
		t.Errorf("api build context has no cmd/hotspots: %v", err)
	}
	if apiSvc.HealthCheck == nil || !strings.Contains(strings.Join(apiSvc.HealthCheck.Test, " "), "/readyz") {
		t.Errorf("api health check must probe /readyz, got %+v", apiSvc.HealthCheck)
	}
	for _, name := range []string{"api", "ingest"} {
		s := svc(name)
		url := s.Environment["HOTSPOTS_DATABASE_URL"]
		if url == nil || !strings.Contains(*url, "@postgis:5432/") || !strings.Contains(*url, "secret") {
			t.Errorf("%s: HOTSPOTS_DATABASE_URL = %v, want the postgis service with the configured password", name, url)
		}
		dep, ok := s.DependsOn["postgis"]
		if !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s must wait for a healthy postgis, got %+v", name, s.DependsOn)
		}
		if len(s.Command) == 0 {
			t.Errorf("%s: no command", name)
		}
	}
	if got := strings.Join(svc("ingest").Command, " "); got != "ingest --watch" {
		t.Errorf("ingest command = %q", got)
	}
	if len(apiSvc.Ports) == 0 || apiSvc.Ports[0].Target != 8080 {
		t.Errorf("api must publish 8080, got %+v", apiSvc.Ports)
	}
	if _, ok := p.Volumes["pgdata"]; !ok {
		t.Error("postgis data must live in a named volume")
	}
	if v := apiSvc.Environment["HOTSPOTS_POLL"]; v == nil || *v != "false" {
		t.Errorf("api must leave polling to the ingest worker (HOTSPOTS_POLL=false), got %v", v)
	}

	// Every command and HOTSPOTS_* variable the file gives the binary must
	// be one it knows: parse each service's command with the real CLI under
	// the service's environment.
	known := cliEnvVars(t)
	for _, name := range []string{"api", "ingest"} {
		s := svc(name)
		for k := range s.Environment {
			if strings.HasPrefix(k, "HOTSPOTS_") && !known[k] {
				t.Errorf("%s: environment %s is read by no flag", name, k)
			}
		}
		for k, v := range s.Environment {
			if v != nil {
				t.Setenv(k, *v)
			}
		}
		var c CLI
		parser, err := kong.New(&c, kong.Exit(func(int) { t.Fatalf("%s: command exits", name) }))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(s.Command); err != nil {
			t.Errorf("%s: command %q does not parse: %v", name, s.Command, err)
		}
	}
}

// cliEnvVars lists the environment variables the command line reads.
func cliEnvVars(t *testing.T) map[string]bool {
	t.Helper()
	var c CLI
	parser, err := kong.New(&c)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			for _, e := range f.Envs {
				out[e] = true
			}
		}
		for _, ch := range n.Children {
			walk(ch)
		}
	}
	walk(parser.Model.Node)
	return out
}
