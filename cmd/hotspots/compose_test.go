package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
}
