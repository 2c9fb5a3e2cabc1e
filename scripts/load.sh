#!/usr/bin/env bash
# Load proof: serves hotspots on PostGIS, drives tiles at a steady rate
# with cmd/loadgen while ingests of synthetic rows run against the same
# database, and prints the table (errors, p50/p90/p99, ingest throughput).
#
#   scripts/load.sh                      (500 req/s for 60 s)
#   RATE=1000 DURATION=30s scripts/load.sh
#
# Environment: RATE (500), DURATION (60s), ROWS per concurrent ingest
# (200000), INGEST (1; 0 measures tiles alone), CONCURRENCY (4096 requests
# in flight before loadgen drops one), LAYERS (hex), ZOOMS (11-15),
# LOADGEN_ARGS (extra loadgen flags, e.g. '-header "Authorization: Bearer
# KEY"'), SERVE_ARGS (extra serve flags). Uses a throwaway database on the
# local PostGIS (scripts/provision-postgis.sh), dropped on exit; traffic
# goes to 127.0.0.1 only. Exits non-zero when any request failed or was
# dropped, or an ingest failed.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-500}
DURATION=${DURATION:-60s}
ROWS=${ROWS:-200000}
LAYERS=${LAYERS:-hex}
ZOOMS=${ZOOMS:-11-15}
INGEST=${INGEST:-1}
CONCURRENCY=${CONCURRENCY:-4096}
log() { echo "load.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v go >/dev/null || die "go not found"
command -v psql >/dev/null || die "psql not found"

work=$(mktemp -d)
SERVE_PID="" INGEST_PID="" LOAD_DB=""
cleanup() {
	[ -n "$INGEST_PID" ] && kill "$INGEST_PID" 2>/dev/null || true
	if [ -n "$SERVE_PID" ]; then
		kill "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	if [ -n "$LOAD_DB" ]; then
		psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $LOAD_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

ADMIN_URL=$(scripts/provision-postgis.sh | tail -n1)
LOAD_DB="hotspots_load_$$"
psql "$ADMIN_URL" -qv ON_ERROR_STOP=1 -c "CREATE DATABASE $LOAD_DB" >/dev/null
export HOTSPOTS_DATABASE_URL="${ADMIN_URL%%/postgres\?*}/$LOAD_DB?sslmode=disable"
psql "$HOTSPOTS_DATABASE_URL" -qv ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
export HOTSPOTS_CITY=baltimore HOTSPOTS_LOG_LEVEL=warn

log "building"
go build -o "$work/hotspots" ./cmd/hotspots
go build -o "$work/loadgen" ./cmd/loadgen
go build -o "$work/ingestbench" ./ingest/internal/ingestbench
"$work/ingestbench" -write-mapping "$work/synthetic.yaml"

log "seeding: the bundled Baltimore samples"
"$work/hotspots" migrate --reload-areas >/dev/null
for s in bpd-part1-2018:bpd-part1-2018 bpd-part1-2020:bpd-part1-2020 sun-homicides:sun-homicides najera-homicides:najera-homicides; do
	"$work/hotspots" ingest --no-alerts --mapping "mappings/${s%%:*}.yaml" "sample/${s##*:}.csv" >/dev/null
done
log "generating $ROWS synthetic rows per concurrent ingest"
for seed in 1 2; do
	"$work/ingestbench" -gen "$ROWS" -seed "$seed" >"$work/rows$seed.csv"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
# The load comes from one address without a key: a per-key rate limit would
# measure the limiter, not the server, so it is switched off when serve has one.
serve_args=(--listen "127.0.0.1:$port" --no-poll)
if "$work/hotspots" serve --help 2>/dev/null | grep -q -- '--rate-limit'; then
	serve_args+=(--rate-limit=0)
fi
# shellcheck disable=SC2206
serve_args+=(${SERVE_ARGS:-})
"$work/hotspots" serve "${serve_args[@]}" >"$work/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 120); do
	curl -fsS "$url/readyz" >/dev/null 2>&1 && break
	kill -0 "$SERVE_PID" 2>/dev/null || { cat "$work/serve.log" >&2; die "serve exited"; }
	sleep 0.5
done
curl -fsS "$url/readyz" >/dev/null || die "serve not ready at $url"

# Ingests run back to back for the whole load, alternating two seeds so
# every run changes rows and moves the data version (which empties the
# tile cache): the worst case for tiles, not a quiet reload.
ingest_loop() {
	child=""
	trap '[ -n "$child" ] && kill "$child" 2>/dev/null; wait 2>/dev/null; exit 0' TERM
	seed=1
	while :; do
		t0=$(date +%s.%N)
		"$work/hotspots" ingest --no-alerts --mapping "$work/synthetic.yaml" "$work/rows$seed.csv" >>"$work/ingest.out" 2>>"$work/ingest.err" &
		child=$!
		if wait "$child"; then
			echo "$t0 $(date +%s.%N)" >>"$work/ingest.times"
		else
			echo "FAILED" >>"$work/ingest.out"
		fi
		seed=$((3 - seed))
	done
}
count_incidents() { psql "$HOTSPOTS_DATABASE_URL" -Atc "SELECT count(*) FROM incidents"; }
before=$(count_incidents)
if [ "$INGEST" = 1 ]; then
	ingest_loop &
	INGEST_PID=$!
fi

log "loadgen: $RATE req/s for $DURATION on $LAYERS, zooms $ZOOMS (concurrent ingest: $INGEST)"
set +e
# shellcheck disable=SC2086
"$work/loadgen" -url "$url" -rate "$RATE" -duration "$DURATION" -layers "$LAYERS" -zooms "$ZOOMS" -concurrency "$CONCURRENCY" \
	-json "$work/load.json" ${LOADGEN_ARGS:-} >"$work/load.table"
status=$?
set -e
if [ -n "$INGEST_PID" ]; then
	kill "$INGEST_PID" 2>/dev/null || true
	wait "$INGEST_PID" 2>/dev/null || true
	INGEST_PID=""
fi

echo
echo "## Tiles under load ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
cat "$work/load.table"
echo
if [ "$INGEST" = 1 ]; then
	echo "## Concurrent ingest"
else
	echo "## Database (no concurrent ingest)"
fi
echo
runs=0
[ -f "$work/ingest.times" ] && runs=$(wc -l <"$work/ingest.times")
failed=$(grep -c FAILED "$work/ingest.out" 2>/dev/null || true)
echo "| measure | value |"
echo "|---|---|"
if [ "$INGEST" = 1 ]; then
	echo "| ingests completed during the load | $runs of $ROWS rows each (one more was running when the load ended) |"
	echo "| failed ingests | ${failed:-0} |"
	after=$(count_incidents)
	secs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["elapsed_ns"]/1e9)' "$work/load.json")
	awk -v a="$before" -v b="$after" -v s="$secs" 'BEGIN { printf "| new incidents committed during the load | %d (%.0f rows/s while serving tiles) |\n", b - a, (b - a) / s }'
fi
if [ "$runs" -gt 0 ]; then
	awk -v rows="$ROWS" '{ s += $2 - $1; n++ } END { printf "| ingest throughput while serving tiles | %.0f rows/s (%.1f s per run) |\n", rows * n / s, s / n }' "$work/ingest.times"
fi
if grep -q 'hotspots_tile_cache_requests_total' < <(curl -fsS "$url/metrics" 2>/dev/null); then
	curl -fsS "$url/metrics" | awk '/^hotspots_tile_cache_requests_total/ { if ($0 ~ /result="hit"/) h += $2; else m += $2 } END { if (h + m) printf "| tile cache hit rate | %.1f%% (%d hits, %d misses) |\n", 100 * h / (h + m), h, m }'
fi
psql "$HOTSPOTS_DATABASE_URL" -Atc "SELECT '| incidents in the database at the end | ' || count(*) || ', ' || pg_size_pretty(pg_database_size(current_database())) || ' |' FROM incidents"
[ -s "$work/ingest.err" ] && { log "ingest stderr:"; tail -n 5 "$work/ingest.err" >&2; }
[ "${failed:-0}" -gt 0 ] && status=1
exit "$status"
