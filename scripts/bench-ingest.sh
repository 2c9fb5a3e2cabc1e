#!/usr/bin/env bash
# Times loading a 1,000,000-row coordinate-bearing CSV into PostGIS with
# `hotspots ingest` (parse, validate, H3, areas, idempotent upsert) and with
# ogr2ogr (a plain COPY of points, no validation) on the same file.
#
#   scripts/bench-ingest.sh [rows]          (default 1000000)
#
# Uses HOTSPOTS_DATABASE_URL when set; otherwise provisions a local PostGIS
# (scripts/provision-postgis.sh) and a throwaway database, dropped on exit.
# The target is >= 50,000 rows/s for `hotspots ingest` on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${1:-1000000}
log() { echo "bench-ingest: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go not found"
command -v ogr2ogr >/dev/null || die "ogr2ogr not found (apt-get install gdal-bin)"

work=$(mktemp -d)
cleanup() {
	rm -rf "$work"
	if [ -n "${BENCH_DB:-}" ]; then
		psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

if [ -z "${HOTSPOTS_DATABASE_URL:-}" ]; then
	ADMIN_URL=$(scripts/provision-postgis.sh | tail -n1)
	BENCH_DB="hotspots_bench_$$"
	psql "$ADMIN_URL" -qv ON_ERROR_STOP=1 -c "CREATE DATABASE $BENCH_DB" >/dev/null
	HOTSPOTS_DATABASE_URL="${ADMIN_URL%%/postgres\?*}/$BENCH_DB?sslmode=disable"
	psql "$HOTSPOTS_DATABASE_URL" -qv ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
fi
export HOTSPOTS_DATABASE_URL

log "building"
go build -o "$work/hotspots" ./cmd/hotspots
go build -o "$work/ingestbench" ./ingest/internal/ingestbench
"$work/ingestbench" -write-mapping "$work/synthetic.yaml"
log "generating $ROWS rows"
"$work/ingestbench" -gen "$ROWS" >"$work/rows.csv"
ls -lh "$work/rows.csv" >&2

rate() { awk -v n="$ROWS" -v s="$1" 'BEGIN { printf "%.0f rows/s", n / s }'; }
now() { date +%s.%N; }

# hotspots ingest: the CLI's ingest command when it has one, else the same
# ingest.Run through the bench driver.
# The city's area layers go in before the clock starts (ingest would load
# them on first use otherwise), so the timed run assigns every incident its
# neighborhood, CSA and districts, as a real deployment does.
"$work/hotspots" migrate --reload-areas >/dev/null
if "$work/hotspots" ingest --help >/dev/null 2>&1; then
	cmd=("$work/hotspots" ingest --mapping "$work/synthetic.yaml" "$work/rows.csv")
else
	log "hotspots has no ingest command yet: timing ingest.Run through ingestbench"
	cmd=("$work/ingestbench" -mapping "$work/synthetic.yaml" -load "$work/rows.csv")
fi
# CPU time, the figure to judge changes by on a shared machine: the ingest
# process's own (from wait4, through GNU time when installed) and its
# PostgreSQL backends' and their parallel workers' (sampled from /proc
# every 0.3 s, each process's last reading). Backends are found by their
# process title, "postgres: <cluster>: <user> <db> ...", workers by
# "parallel worker for PID <backend>".
backend_ticks() { # db -> sum over its backends of the highest utime+stime seen
	local -A seen=()
	local p f v total=0
	while read -r line; do
		for p in $line; do
			read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
			v=$((f[13] + f[14]))
			[ "${seen[$p]:-0}" -lt "$v" ] && seen[$p]=$v
		done
	done
	for p in "${!seen[@]}"; do total=$((total + seen[$p])); done
	echo "$total"
}
sample_backends() { # db pid: prints backend pids every 0.3 s while pid lives
	local b w leader
	while kill -0 "$2" 2>/dev/null; do
		b=" $(pgrep -d ' ' -f "postgres: [^ ]+: [a-z_0-9]+ $1 " || true) "
		# and the parallel workers of those backends (index builds)
		while read -r w leader; do
			[[ "$b" == *" $leader "* ]] && b+="$w "
		done < <(pgrep -a -f "postgres: [^ ]+: parallel worker for PID" | sed -nE 's/^([0-9]+) .* for PID ([0-9]+).*/\1 \2/p')
		echo "$b"
		sleep 0.3
	done
}
timecmd=()
command -v /usr/bin/time >/dev/null && timecmd=(/usr/bin/time -f "%U %S %M" -o "$work/ingest.time")

log "hotspots ingest"
t0=$(now)
"${timecmd[@]}" "${cmd[@]}" >"$work/ingest.out" 2>"$work/ingest.err" &
ingest_pid=$!
db_name=$(psql "$HOTSPOTS_DATABASE_URL" -Atc "SELECT current_database()")
pg_ticks=$(sample_backends "$db_name" "$ingest_pid" | backend_ticks)
wait "$ingest_pid" || { cat "$work/ingest.err" >&2; die "ingest failed"; }
t1=$(now)
ingest_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')

log "ogr2ogr"
# GDAL's PG driver wants key=value pairs, not a URL with query parameters.
IFS='|' read -r db user host port < <(psql "$HOTSPOTS_DATABASE_URL" -Atc \
	"SELECT current_database(), current_user, coalesce(host(inet_server_addr()), 'localhost'), inet_server_port()")
pass=$(printf '%s' "$HOTSPOTS_DATABASE_URL" | sed -nE 's#^[a-z]+://[^:/@]+:([^@]*)@.*#\1#p')
pg="PG:dbname=$db user=$user host=$host port=$port${pass:+ password=$pass}"
ogrtime=()
[ ${#timecmd[@]} -gt 0 ] && ogrtime=(/usr/bin/time -f "%U %S %M" -o "$work/ogr.time")
t0=$(now)
"${ogrtime[@]}" ogr2ogr -f PostgreSQL "$pg" "$work/rows.csv" -nln bench_ogr2ogr -overwrite \
	-oo X_POSSIBLE_NAMES=lon -oo Y_POSSIBLE_NAMES=lat -oo KEEP_GEOM_COLUMNS=NO \
	-a_srs EPSG:4326 -lco GEOMETRY_NAME=geom --config PG_USE_COPY YES -gt 65536 &
ogr_pid=$!
ogr_ticks=$(sample_backends "$db_name" "$ogr_pid" | backend_ticks)
wait "$ogr_pid" || die "ogr2ogr failed"
t1=$(now)
ogr_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
psql "$HOTSPOTS_DATABASE_URL" -qc "DROP TABLE IF EXISTS bench_ogr2ogr" >/dev/null

echo
echo "machine:         $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rows:            $ROWS"
printf 'hotspots ingest: %8.1f s  %s (validate, H3, areas, idempotent upsert)\n' "$ingest_s" "$(rate "$ingest_s")"
printf 'ogr2ogr:         %8.1f s  %s (COPY only)\n' "$ogr_s" "$(rate "$ogr_s")"
awk -v a="$ingest_s" -v b="$ogr_s" 'BEGIN { printf "ratio:           %.2f (hotspots ingest rows/s over ogr2ogr rows/s)\n", b / a }'
if [ -s "$work/ingest.time" ]; then
	read -r u sy rss <"$work/ingest.time"
	awk -v u="$u" -v s="$sy" -v pg="$pg_ticks" -v hz="$(getconf CLK_TCK)" -v n="$ROWS" -v rss="$rss" 'BEGIN {
		go = u + s; p = pg / hz
		printf "CPU per row:     %.1f us (hotspots %.1f s = %.1f us, PostgreSQL backends %.1f s = %.1f us); peak RSS %d MB\n",
			(go + p) / n * 1e6, go, go / n * 1e6, p, p / n * 1e6, rss / 1024 }'
fi
if [ -s "$work/ogr.time" ]; then
	read -r u sy rss <"$work/ogr.time"
	awk -v u="$u" -v s="$sy" -v pg="$ogr_ticks" -v hz="$(getconf CLK_TCK)" -v n="$ROWS" 'BEGIN {
		go = u + s; p = pg / hz
		printf "ogr2ogr CPU:     %.1f us per row (ogr2ogr %.1f s = %.1f us, PostgreSQL backends %.1f s = %.1f us)\n",
			(go + p) / n * 1e6, go, go / n * 1e6, p, p / n * 1e6 }'
fi
tail -n 1 "$work/ingest.out"
# BENCH_INGEST_LOG=file keeps the ingest's log (its timestamps show where a
# run's time went: the switch to bulk, the end of the rows, FinishLoad).
if [ -n "${BENCH_INGEST_LOG:-}" ]; then
	cp "$work/ingest.err" "$BENCH_INGEST_LOG"
fi
