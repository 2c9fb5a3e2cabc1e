package gctune

import (
	"math"
	"runtime/debug"
	"testing"
	"testing/fstest"
)

func TestAvailable(t *testing.T) {
	meminfo := &fstest.MapFile{Data: []byte("MemFree:  100 kB\nMemTotal:       24000000 kB\n")}
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	const total = 24000000 << 10
	tests := []struct {
		name string
		fs   fstest.MapFS
		want int64
		ok   bool
	}{
		{"v2 container (own namespace)", fstest.MapFS{
			"proc/self/cgroup": file("0::/\n"), "sys/fs/cgroup/memory.max": file("536870912\n"), "proc/meminfo": meminfo}, 536870912, true},
		{"v2 systemd unit with MemoryMax", fstest.MapFS{
			"proc/self/cgroup": file("0::/system.slice/hotspots.service\n"),
			"sys/fs/cgroup/system.slice/hotspots.service/memory.max": file("1073741824\n"),
			"sys/fs/cgroup/system.slice/memory.max":                  file("max\n"),
			"proc/meminfo":                                           meminfo}, 1 << 30, true},
		{"v2 parent tighter than the unit", fstest.MapFS{
			"proc/self/cgroup": file("0::/system.slice/hotspots.service\n"),
			"sys/fs/cgroup/system.slice/hotspots.service/memory.max": file("max\n"),
			"sys/fs/cgroup/system.slice/memory.max":                  file("268435456\n"),
			"proc/meminfo":                                           meminfo}, 268435456, true},
		{"v2 unlimited", fstest.MapFS{
			"proc/self/cgroup": file("0::/user.slice\n"), "sys/fs/cgroup/user.slice/memory.max": file("max\n"), "proc/meminfo": meminfo}, total, true},
		{"v1 memory controller", fstest.MapFS{
			"proc/self/cgroup": file("5:devices:/\n4:memory:/docker/abc\n1:cpu,cpuacct:/\n"),
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": file("2147483648\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            file("9223372036854771712\n"),
			"proc/meminfo": meminfo}, 2 << 30, true},
		{"v1 unlimited", fstest.MapFS{
			"proc/self/cgroup": file("4:memory:/x\n"),
			"sys/fs/cgroup/memory/x/memory.limit_in_bytes": file("9223372036854771712\n"),
			"proc/meminfo": meminfo}, total, true},
		{"no /proc/self/cgroup, root v2 limit", fstest.MapFS{
			"sys/fs/cgroup/memory.max": file("536870912\n"), "proc/meminfo": meminfo}, 536870912, true},
		{"no cgroup at all", fstest.MapFS{"proc/meminfo": meminfo}, total, true},
		{"nothing readable", fstest.MapFS{}, 0, false},
		{"garbled meminfo", fstest.MapFS{"proc/meminfo": file("MemTotal: lots\n")}, 0, false},
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
