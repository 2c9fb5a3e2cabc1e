// Package gctune sets the Go garbage collector for a long-running server.
//
// Serving allocates a few kilobytes per request (net/http's request and
// header maps, Echo's context, the response bytes) while the live heap of
// a server answering tiles from its aggregates can be a few megabytes. At
// the default GOGC=100 the collector then runs whenever the heap has grown
// by as little as 4 MB: dozens of cycles a second under load, each taking
// a processor for its mark phase. On the tile benchmark (uncached z15-16
// tiles at concurrency 8 on two cores) GOGC=400 cut the server's CPU per
// request from 41-45 µs to 31-35 µs. The Go GC guide's advice for such a
// process is a higher GOGC with a memory limit as the ceiling, which is
// what Apply sets: the limit keeps a large heap from growing five-fold,
// since above it the collector runs as often as needed to stay under.
//
// One-shot commands (ingest) are left at the default: there a higher
// GOGC doubled peak memory without saving CPU (BENCHMARKS.md, Ingest).
package gctune

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// ServerPercent is the GOGC a server runs with unless GOGC is set.
const ServerPercent = 400

// Settings is what Apply set; a zero field was left to the environment.
type Settings struct {
	Percent int
	// Limit is the soft memory limit in bytes.
	Limit int64
}

// Apply sets GOGC to ServerPercent and the soft memory limit to three
// quarters of the memory the process may use (its cgroup's limit, else
// the machine's), each unless the environment sets it (GOGC, GOMEMLIMIT).
func Apply() Settings {
	var s Settings
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(ServerPercent)
		s.Percent = ServerPercent
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if avail, ok := Available(os.DirFS("/")); ok {
			s.Limit = avail / 4 * 3
			debug.SetMemoryLimit(s.Limit)
		}
	}
	return s
}

// Available is the memory a process may use, read from root: the cgroup
// v2 or v1 limit when one is set, otherwise MemTotal of /proc/meminfo.
func Available(root fs.FS) (int64, bool) {
	if b, err := fs.ReadFile(root, "sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
			return n, true
		}
	}
	if b, err := fs.ReadFile(root, "sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		// An unlimited v1 cgroup reports a number near 2^63.
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<50 {
			return n, true
		}
	}
	b, err := fs.ReadFile(root, "proc/meminfo")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}
