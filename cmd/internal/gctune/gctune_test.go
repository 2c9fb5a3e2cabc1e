package gctune

import (
	"math"
	"runtime/debug"
	"testing"
	"testing/fstest"
)

func TestAvailable(t *testing.T) {
	meminfo := &fstest.MapFile{Data: []byte("MemFree:  100 kB\nMemTotal:       24000000 kB\n")}
	tests := []struct {
		name string
		fs   fstest.MapFS
		want int64
		ok   bool
	}{
		{"cgroup v2 limit", fstest.MapFS{"sys/fs/cgroup/memory.max": {Data: []byte("536870912\n")}, "proc/meminfo": meminfo}, 536870912, true},
		{"cgroup v2 unlimited", fstest.MapFS{"sys/fs/cgroup/memory.max": {Data: []byte("max\n")}, "proc/meminfo": meminfo}, 24000000 << 10, true},
		{"cgroup v1 limit", fstest.MapFS{"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("1073741824\n")}, "proc/meminfo": meminfo}, 1 << 30, true},
		{"cgroup v1 unlimited", fstest.MapFS{"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")}, "proc/meminfo": meminfo}, 24000000 << 10, true},
		{"no cgroup", fstest.MapFS{"proc/meminfo": meminfo}, 24000000 << 10, true},
		{"nothing readable", fstest.MapFS{}, 0, false},
		{"garbled meminfo", fstest.MapFS{"proc/meminfo": {Data: []byte("MemTotal: lots\n")}}, 0, false},
	}
	for _, tt := range tests {
		got, ok := Available(tt.fs)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %d %t, want %d %t", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// TestApply checks the settings land in the runtime, and that GOGC and
// GOMEMLIMIT in the environment win.
func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	s := Apply()
	if s.Percent != ServerPercent || debug.SetGCPercent(ServerPercent) != ServerPercent {
		t.Fatalf("GOGC not set: %+v", s)
	}
	if s.Limit <= 0 || debug.SetMemoryLimit(-1) != s.Limit {
		t.Fatalf("memory limit not set: %+v", s)
	}

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "2GiB")
	if s := Apply(); s != (Settings{}) {
		t.Fatalf("environment overridden: %+v", s)
	}
	if debug.SetGCPercent(100) != 100 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatal("runtime settings changed despite the environment")
	}
}
