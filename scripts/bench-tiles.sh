#!/usr/bin/env bash
# Hex tiles on loopback, in one run: the hotspots API over PostGIS (encoded
# tile cache off, then on) against PostGIS alone building the same tiles
# with ST_AsMVT (pg_tileserv's SQL over public.hex_r9), at concurrency 8 and
# 64 over the z15-16, z13-14 and z10-12 tile lists of scripts/bench/tiles.
# As a second reference, pgbench runs the shared scripts unchanged.
#
#   scripts/bench-tiles.sh [incidents]      (default 1000000)
#
# Uses HOTSPOTS_BENCH_DATABASE_URL when set (a database of its own: the
# incidents stay there between runs and public.hex_r9 is rebuilt); otherwise
# provisions a local PostGIS and a database hotspots_bench_tiles, kept so a
# rerun skips the load. DURATION (default 10s) is the time per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
DURATION=${DURATION:-10s}
log() { echo "bench-tiles: $*" >&2; }

if [ -z "${HOTSPOTS_BENCH_DATABASE_URL:-}" ]; then
	ADMIN_URL=$(scripts/provision-postgis.sh | tail -n1)
	psql "$ADMIN_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = 'hotspots_bench_tiles'" | grep -q 1 ||
		psql "$ADMIN_URL" -qv ON_ERROR_STOP=1 -c "CREATE DATABASE hotspots_bench_tiles" >/dev/null
	HOTSPOTS_BENCH_DATABASE_URL="${ADMIN_URL%%/postgres\?*}/hotspots_bench_tiles?sslmode=disable"
fi
psql "$HOTSPOTS_BENCH_DATABASE_URL" -qv ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building"
go build -o "$work/tilebench" ./cmd/tilebench

echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/tilebench" -database-url "$HOTSPOTS_BENCH_DATABASE_URL" -load "$N" -duration "$DURATION" \
	-tiles scripts/bench/tiles -bands high,mid,low -conc 8,64 -cached-conc 64

if command -v pgbench >/dev/null; then
	echo
	echo "pgbench, the shared scripts unchanged (PostGIS alone, simple protocol):"
	secs=${DURATION%s}
	for band in high mid low; do
		for c in 8 64; do
			tps=$(pgbench -n -f "scripts/bench/tiles/mvt_hex_r9_$band.sql" -c "$c" -j 2 -T "$secs" "$HOTSPOTS_BENCH_DATABASE_URL" 2>/dev/null |
				sed -nE 's/^tps = ([0-9.]+).*/\1/p')
			echo "| $band | $c | pgbench ST_AsMVT | ${tps:-?} |"
		done
	done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
