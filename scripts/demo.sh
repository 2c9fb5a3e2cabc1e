#!/usr/bin/env bash
# Runs the main job on a fresh Debian machine with Go: loads the bundled
# real Baltimore sample and the simulated overdose stream into the embedded
# store (.hotspots/ in the working folder), detects, serves the map and API
# and prints the URL. Extra arguments go to `hotspots demo` (e.g.
# --listen 0.0.0.0:8080); HOTSPOTS_DATABASE_URL selects PostGIS instead.
#
# H3 is a C library used through cgo, so Go needs a C compiler; when there
# is none and we are root, the gcc package is installed first.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || { echo "demo.sh: go not found on PATH" >&2; exit 1; }
if ! command -v "$(go env CC)" >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "demo.sh: installing gcc (cgo, for H3)" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev >&2
	else
		echo "demo.sh: no C compiler ($(go env CC)); install gcc (cgo is needed for H3)" >&2
		exit 1
	fi
fi
export CGO_ENABLED=1
exec go run ./cmd/hotspots demo "$@"
