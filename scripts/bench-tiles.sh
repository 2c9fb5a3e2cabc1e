#!/usr/bin/env bash
# Hex tiles on loopback, in one run: the hotspots API over PostGIS (encoded
# tile cache off, then on) against PostGIS alone building the same tiles
# with ST_AsMVT (pg_tileserv's SQL over public.hex_r9), at concurrency 8 and
# 64 over the z15-16, z13-14 and z10-12 tile lists of scripts/bench/tiles,
# twice: first with tilebench's own Go load generator (pgx for PostGIS, a
# Go HTTP client for hotspots), then the way the shared peer figures were
# taken: pgbench with the shared scripts unchanged against wrk replaying
# the same lists (installed from Debian when missing and root).
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
die() { log "ERROR: $*"; exit 1; }

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

# The shared method: PostGIS alone through pgbench with the shared scripts
# unchanged (simple protocol, -j 2), against the hotspots API driven by wrk
# replaying the same tile list (scripts/bench/tiles/wrk-hex.lua), as the
# peer servers' figures in scripts/bench/tiles/README.md were measured. wrk
# is a C load generator, so far less of the two cores goes to generating
# load than with the Go client above. Per band, the runs follow each other
# within a minute.
command -v pgbench >/dev/null || die "pgbench not found (postgresql-client)"
if ! command -v wrk >/dev/null; then
	[ "$(id -u)" -eq 0 ] || die "wrk not found (apt-get install wrk)"
	log "installing wrk"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
secs=${DURATION%s}
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_server MODE: the real API handler over PostGIS in a child process,
# tile cache on (cached) or off (uncached); sets srv_pid and srv_url.
start_server() {
	"$work/tilebench" -serve "$1" -database-url "$HOTSPOTS_BENCH_DATABASE_URL" >"$work/srv-$1.out" &
	srv_pid=$!
	for _ in $(seq 100); do
		srv_url=$(head -n1 "$work/srv-$1.out" 2>/dev/null || true)
		[ -n "$srv_url" ] && return
		sleep 0.1
	done
	die "$1 server did not start"
}
stop_server() { kill "$srv_pid" && wait "$srv_pid" 2>/dev/null || true; }

# wrk_row BAND CONC TARGET: measure with wrk, print a table row, set rps.
wrk_row() {
	local before after line req dur p50 p99 errs
	before=$(cpu_ticks "$srv_pid")
	line=$(wrk -t2 -c"$2" -d"$DURATION" -s scripts/bench/tiles/wrk-hex.lua "$srv_url" -- "scripts/bench/tiles/zxy-$1.txt" | grep '^WRK ')
	after=$(cpu_ticks "$srv_pid")
	read -r _ req dur p50 p99 errs <<<"$line"
	rps=$(awk -v r="$req" -v d="$dur" 'BEGIN {printf "%d", r / d}')
	local cpu ratio
	cpu=$(awk -v t=$((after - before)) -v k="$tck" -v r="$req" 'BEGIN {printf "%d", t / k * 1e6 / r}')
	ratio=$(awk -v a="$rps" -v b="${pg_tps[$1/$2]:-0}" 'BEGIN {if (b > 0) printf "**%.2fx**", a / b}')
	echo "| $1 | $2 | $3 | $rps | $p50 | $p99 | $errs | $cpu | $ratio |"
}

echo
echo "The shared method: pgbench (PostGIS alone) against wrk (hotspots), $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg):"
echo
echo "| band | conc | target | req/s | p50 ms | p99 ms | errors | server CPU µs/req | req/s vs pgbench |"
echo "|---|---|---|---|---|---|---|---|---|"
declare -A pg_tps
for band in high mid low; do
	for c in 8 64; do
		# A tenth of the transactions logged, for p50 and p99.
		rm -f "$work"/pgb.*
		out=$(cd "$work" && pgbench -n -f "$OLDPWD/scripts/bench/tiles/mvt_hex_r9_$band.sql" -c "$c" -j 2 -T "$secs" \
			-l --sampling-rate=0.1 --log-prefix=pgb "$HOTSPOTS_BENCH_DATABASE_URL" 2>/dev/null)
		tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' <<<"$out")
		read -r p50 p99 < <(cat "$work"/pgb.* | awk '{print $3}' | sort -n |
			awk '{v[NR] = $1} END {if (NR) printf "%.3f %.3f\n", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000}')
		pg_tps[$band/$c]=${tps%.*}
		echo "| $band | $c | pgbench ST_AsMVT | ${tps%.*} | ${p50:-?} | ${p99:-?} | | | |"
	done
	start_server uncached
	# One pass first: the aggregates are built on the first request of a
	# data version, which is not what is being measured.
	wrk -t1 -c1 -d3s -s scripts/bench/tiles/wrk-hex.lua "$srv_url" -- "scripts/bench/tiles/zxy-$band.txt" >/dev/null
	for c in 8 64; do
		wrk_row "$band" "$c" "hotspots uncached"
	done
	stop_server
	start_server cached
	wrk -t1 -c1 -d3s -s scripts/bench/tiles/wrk-hex.lua "$srv_url" -- "scripts/bench/tiles/zxy-$band.txt" >/dev/null
	wrk_row "$band" 64 "hotspots cached"
	stop_server
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
