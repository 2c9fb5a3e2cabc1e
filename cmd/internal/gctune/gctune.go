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
	"slices"
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
// quarters of the memory the process may use (see Available), each unless
// the environment sets it (GOGC, GOMEMLIMIT).
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

// Available is the memory a process may use, read from root: the
// tightest memory limit of its cgroup and the cgroup's ancestors (v2
// memory.max or v1 memory.limit_in_bytes, found through
// /proc/self/cgroup, as for a systemd unit with MemoryMax or a container),
// otherwise MemTotal of /proc/meminfo.
func Available(root fs.FS) (int64, bool) {
	var best int64
	for _, f := range cgroupLimitFiles(root) {
		b, err := fs.ReadFile(root, f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		// "max" (v2) does not parse; an unlimited v1 cgroup reports a
		// number near 2^63.
		if err != nil || n <= 0 || n >= 1<<50 {
			continue
		}
		if best == 0 || n < best {
			best = n
		}
	}
	if best > 0 {
		return best, true
	}
	return memTotal(root)
}

// cgroupLimitFiles lists the memory limit files of the process's cgroups
// and their ancestors, both hierarchies.
func cgroupLimitFiles(root fs.FS) []string {
	var out []string
	add := func(dir, file, path string) {
		path = strings.Trim(path, "/")
		for {
			out = append(out, strings.TrimSuffix(dir+"/"+path, "/")+"/"+file)
			if path == "" {
				return
			}
			i := strings.LastIndexByte(path, '/')
			if i < 0 {
				path = ""
			} else {
				path = path[:i]
			}
		}
	}
	b, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			add("sys/fs/cgroup", "memory.max", f[2])
		case slices.Contains(strings.Split(f[1], ","), "memory"):
			add("sys/fs/cgroup/memory", "memory.limit_in_bytes", f[2])
		}
	}
	return out
}

// memTotal is MemTotal of /proc/meminfo in bytes.
func memTotal(root fs.FS) (int64, bool) {
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
