package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it the VCS revision Go records in the binary is used.
var version = ""

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version and the Go toolchain.
func (VersionCmd) Run(_ context.Context, a *App) error {
	fmt.Fprintln(a.Stdout, "hotspots", Version())
	return nil
}

// Version returns the build's version string.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	rev, dirty := "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "devel (" + bi.GoVersion + ")"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return rev + dirty + " (" + bi.GoVersion + ")"
}
