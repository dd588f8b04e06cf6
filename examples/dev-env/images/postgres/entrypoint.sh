#!/bin/bash
# The entrypoint of dev-env/postgres:15 (Debian's PostgreSQL 15), with the
# behaviour of the official postgres image's:
#
#   - started as root: make PGDATA and the socket directory the postgres
#     user's, then run again as that user (setpriv, from util-linux);
#   - an empty PGDATA is initialised on the first start: initdb with
#     POSTGRES_USER / POSTGRES_PASSWORD, listen_addresses = '*', password
#     (scram-sha-256) authentication for connections over the network,
#     POSTGRES_DB created, /docker-entrypoint-initdb.d/*.sql and *.sh run;
#   - then postgres itself replaces this script (PID 1, SIGINT stops it).
#
# Variables: POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD
# is trust), POSTGRES_USER (postgres), POSTGRES_DB (= POSTGRES_USER),
# POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (scram-sha-256).
set -Eeuo pipefail

log() { echo "entrypoint: $*" >&2; }

# `docker run IMAGE -c x=y` means `postgres -c x=y`
if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" != postgres ]; then
	exec "$@"
fi

: "${PGDATA:?PGDATA must be set}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
export POSTGRES_USER POSTGRES_DB POSTGRES_HOST_AUTH_METHOD

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	# only what is not the postgres user's already: a big PGDATA that is
	# fine is not walked through chown again and again
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	chmod 0700 "$PGDATA"
	chown postgres:postgres /var/run/postgresql
	chmod 3777 /var/run/postgresql
	export HOME=/var/lib/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		log "error: the database is not initialised and POSTGRES_PASSWORD is not set."
		log "  Set POSTGRES_PASSWORD (e.g. in the service's env_file), or"
		log "  POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without one."
		exit 1
	fi
	if [ -n "$(ls -A "$PGDATA")" ]; then
		log "error: $PGDATA is not empty but holds no database (no PG_VERSION)"
		exit 1
	fi
	log "initialising a database in $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
	# the password through a pipe, never on a command line
	# shellcheck disable=SC2086
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		--encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

	# A server for the set-up only, on a socket in a directory of its own:
	# neither the network nor pg_isready's default socket sees it, so a
	# healthcheck does not call the database ready before it is.
	init_sock=$(mktemp -d /tmp/postgres-init.XXXXXX)
	pg_ctl -D "$PGDATA" -w -s \
		-o "-c listen_addresses='' -c unix_socket_directories='$init_sock'" start
	export PGHOST=$init_sock PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD
	if [ "$POSTGRES_DB" != postgres ]; then
		psql -v ON_ERROR_STOP=1 -q --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh) log "running $f"; . "$f" ;;
		*.sql) log "running $f"; psql -v ON_ERROR_STOP=1 -q --dbname "$POSTGRES_DB" -f "$f" ;;
		*.sql.gz) log "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 -q --dbname "$POSTGRES_DB" ;;
		*) log "ignoring $f" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w -s stop
	unset PGHOST PGUSER PGPASSWORD
	rmdir "$init_sock"
	log "database initialised; starting postgres"
else
	log "database in $PGDATA already initialised; starting postgres"
fi

exec "$@"
