#!/usr/bin/env bash
# Makes a local PostgreSQL 15 + PostGIS 3 server usable for hotspots on a
# Debian 12 machine, from nothing: installs the packages when missing, starts
# the cluster when it is not running (containers have no systemd to do it),
# and creates a login role with a password when missing.
#
# It prints the admin URL (for the role) on stdout as its last line, so a
# caller can do:  admin_url=$(scripts/provision-postgis.sh | tail -n1)
#
# Environment (all optional):
#   HOTSPOTS_PG_ROLE      login role to create         (default hotspots)
#   HOTSPOTS_PG_PASSWORD  its password                 (default hotspots)
#   HOTSPOTS_PG_PORT      cluster port                 (default 5432)
#   CI=true               any failure is fatal (it always is here; CI only
#                         changes the wording)
set -euo pipefail

PG_VERSION=15
ROLE=${HOTSPOTS_PG_ROLE:-hotspots}
PASSWORD=${HOTSPOTS_PG_PASSWORD:-hotspots}
PORT=${HOTSPOTS_PG_PORT:-5432}

log() { echo "provision-postgis: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	elif [ "$(id -un)" = postgres ]; then
		"$@"
	else
		sudo -n -u postgres -- "$@"
	fi
}

# install_packages installs PostgreSQL and PostGIS from Debian when dpkg does
# not list them as installed.
install_packages() {
	local missing=()
	for p in "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3"; do
		if ! dpkg -s "$p" >/dev/null 2>&1; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "need root to install ${missing[*]}"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq "${missing[@]}" >&2
}

# start_cluster starts the Debian cluster "main" unless it is already up; a
# fresh install without systemd leaves it stopped.
start_cluster() {
	if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" '$1 == v && $2 == "main"' | grep -q .; then
		log "creating cluster $PG_VERSION/main"
		pg_createcluster "$PG_VERSION" main --port "$PORT" >&2
	fi
	if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
		log "starting cluster $PG_VERSION/main"
		pg_ctlcluster "$PG_VERSION" main start >&2
	fi
	local port
	port=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $3}')
	[ -n "$port" ] && PORT=$port
	for _ in $(seq 1 30); do
		if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
			return
		fi
		sleep 1
	done
	die "PostgreSQL $PG_VERSION did not accept connections on 127.0.0.1:$PORT"
}

# ensure_role creates the login role (a superuser, since tests install the
# postgis extension in throwaway databases) when it does not exist. Peer
# authentication on the socket lets the postgres OS user do it on a fresh
# install; TCP connections then use the password (scram on Debian).
ensure_role() {
	local exists
	exists=$(as_postgres psql -p "$PORT" -Atqc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")
	if [ "$exists" != 1 ]; then
		log "creating role $ROLE"
		as_postgres psql -p "$PORT" -qv ON_ERROR_STOP=1 \
			-c "CREATE ROLE \"$ROLE\" LOGIN SUPERUSER PASSWORD '$PASSWORD'" >&2
	fi
}

install_packages
start_cluster
ensure_role
echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/postgres?sslmode=disable"
