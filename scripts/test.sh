#!/usr/bin/env bash
# Runs the whole hotspots test suite against a real PostGIS, on a fresh
# Debian 12 machine with Go and root as well as on a developer's laptop.
#
#   scripts/test.sh [go test packages...]     (default ./...)
#
# Without HOTSPOTS_TEST_DATABASE_URL it provisions PostgreSQL 15 + PostGIS
# (scripts/provision-postgis.sh), creates a throwaway database with the
# postgis extension, and drops it on exit. With CI=true nothing may be
# skipped: a missing tool or database is a failure.
#
# The last line is "N passed, N failed, N skipped" over every test and
# subtest that ran.
set -euo pipefail
cd "$(dirname "$0")/.."

CI=${CI:-}
log() { echo "test.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ensure_system_packages installs the Debian packages tests need besides
# PostgreSQL: chromium (the headless browser tests of the map in api/ rely
# on it being here), gdal-bin (ogr2ogr, to check exported layers) and gcc
# (cgo, for H3). Missing packages are installed when running as root;
# otherwise they are reported, and under CI=true that is fatal.
ensure_system_packages() {
	local want=(chromium gdal-bin gcc) missing=()
	for p in "${want[@]}"; do
		if ! dpkg -s "$p" >/dev/null 2>&1; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return
	fi
	if [ "$(id -u)" -ne 0 ]; then
		if [ "$CI" = true ]; then
			die "missing packages ${missing[*]} and not root to install them"
		fi
		log "missing packages ${missing[*]} (not root); tests needing them will skip"
		return
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ensure_database exports HOTSPOTS_TEST_DATABASE_URL, provisioning PostGIS
# and a throwaway database when it is not already set.
ensure_database() {
	if [ -n "${HOTSPOTS_TEST_DATABASE_URL:-}" ]; then
		log "using HOTSPOTS_TEST_DATABASE_URL from the environment"
		return
	fi
	if ! command -v dpkg >/dev/null; then
		[ "$CI" = true ] && die "not a Debian machine and HOTSPOTS_TEST_DATABASE_URL unset"
		log "not a Debian machine: PostGIS tests will skip (set HOTSPOTS_TEST_DATABASE_URL)"
		return
	fi
	local admin_url db base
	admin_url=$(scripts/provision-postgis.sh | tail -n1)
	db="hotspots_test_$$_$(date +%s)"
	psql "$admin_url" -qv ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null
	TEST_DB_ADMIN_URL=$admin_url
	TEST_DB_NAME=$db
	trap drop_database EXIT
	base=${admin_url%%/postgres\?*}
	export HOTSPOTS_TEST_DATABASE_URL="$base/$db?sslmode=disable"
	psql "$HOTSPOTS_TEST_DATABASE_URL" -qv ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
	log "test database $db ready (PostGIS $(psql "$HOTSPOTS_TEST_DATABASE_URL" -Atc 'SELECT postgis_lib_version()'))"
}

drop_database() {
	if [ -n "${TEST_DB_NAME:-}" ]; then
		psql "$TEST_DB_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $TEST_DB_NAME WITH (FORCE)" >/dev/null 2>&1 ||
			log "could not drop test database $TEST_DB_NAME"
	fi
}

# run_tests runs go test verbosely, streams its output, and prints the
# closing count line from the --- PASS/FAIL/SKIP lines of every test and
# subtest; a package that fails to build counts as one failure.
run_tests() {
	local out status passed failed skipped broken
	out=$(mktemp)
	set +e
	go test -count=1 -timeout 20m -v "$@" 2>&1 | tee "$out"
	status=${PIPESTATUS[0]}
	set -e
	passed=$(grep -cE '^\s*--- PASS: ' "$out" || true)
	failed=$(grep -cE '^\s*--- FAIL: ' "$out" || true)
	skipped=$(grep -cE '^\s*--- SKIP: ' "$out" || true)
	broken=$(grep -cE '^FAIL\s.*\[(build|setup) failed\]' "$out" || true)
	failed=$((failed + broken))
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1 # a panic or timeout without a --- FAIL line
	fi
	echo
	grep -E '^(ok|FAIL|---)\s' "$out" | grep -vE '^--- (PASS|SKIP)' || true
	if [ "$CI" = true ] && [ "$skipped" -gt 0 ]; then
		log "skipped under CI=true:"
		grep -E '^\s*--- SKIP: ' "$out" >&2 || true
	fi
	rm -f "$out"
	echo "$passed passed, $failed failed, $skipped skipped"
	return "$status"
}

command -v go >/dev/null || die "go not found"
ensure_system_packages
ensure_database
if [ $# -eq 0 ]; then
	set -- ./...
fi
run_tests "$@"
