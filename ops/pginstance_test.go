package ops_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBin is where Debian installs the PostgreSQL 15 server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// pgInstance is a throwaway PostgreSQL server of the test's own, in a
// temporary folder on a free port, so a fault test can stop and start a
// real database without touching the machine's shared cluster.
type pgInstance struct {
	t      *testing.T
	dir    string
	port   int
	asUser []string // prefix that runs a command as the postgres user
}

// startPG initdbs and starts a private server and installs PostGIS in its
// postgres database. It skips on a laptop without the server programs and
// fails under CI=true. The server is stopped and its folder removed when
// the test ends.
func startPG(t *testing.T) *pgInstance {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL server programs required under CI=true: %v", err)
		}
		t.Skipf("no PostgreSQL server programs: %v", err)
	}
	dir, err := os.MkdirTemp("", "hotspots-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgInstance{t: t, dir: dir, port: freePort(t)}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// initdb refuses to run as root; the server then runs as postgres.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		p.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	p.run(filepath.Join(pgBin, "initdb"), "-D", p.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	p.Start()
	t.Cleanup(func() { p.stop(false) })
	mustExec(t, p.URL("postgres"), "CREATE EXTENSION IF NOT EXISTS postgis")
	return p
}

func (p *pgInstance) data() string { return filepath.Join(p.dir, "data") }

// URL is the address of database db on the instance.
func (p *pgInstance) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// Start starts the server and waits until it accepts connections.
func (p *pgInstance) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50", p.port, p.dir)
	p.run(filepath.Join(pgBin, "pg_ctl"), "-D", p.data(), "-o", opts, "-l", filepath.Join(p.dir, "log"), "-w", "-t", "60", "start")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return
		}
		if ctx.Err() != nil {
			p.t.Fatalf("private PostgreSQL did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server in fast mode: sessions are cut, as when a
// database host goes away.
func (p *pgInstance) Stop() { p.t.Helper(); p.stop(true) }

func (p *pgInstance) stop(must bool) {
	out, err := p.command(filepath.Join(pgBin, "pg_ctl"), "-D", p.data(), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil && must {
		p.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (p *pgInstance) run(name string, args ...string) {
	p.t.Helper()
	if out, err := p.command(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("%s %v: %v\n%s\n%s", filepath.Base(name), args, err, out, log)
	}
}

// command runs name as the postgres user when the test runs as root.
func (p *pgInstance) command(name string, args ...string) *exec.Cmd {
	if len(p.asUser) == 0 {
		return exec.Command(name, args...)
	}
	full := append(append(append([]string{}, p.asUser[1:]...), name), args...)
	return exec.Command(p.asUser[0], full...)
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
