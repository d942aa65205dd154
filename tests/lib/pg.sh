# tests/lib/pg.sh - a throw-away PostgreSQL cluster for a test (bash; source it).
# shellcheck shell=bash
#
#   pg_start DIR      initdb and pg_ctl start a cluster in DIR (created, owned
#                     by the unprivileged user PG_USER, since postgres refuses
#                     to run as root), listening only on a Unix socket in DIR;
#                     bounded wait until it accepts connections.  Sets PG_DIR
#                     and PG_BIN.  1 (with its log on stderr) on failure.
#   pg_stop           pg_ctl stop -m immediate (no-op if not started); the
#                     caller's temp dir removal takes DIR
#   pg_createdb NAME  a new database NAME (dropped first if there)
#   pg_uri NAME       prints the postgresql:// URI of database NAME
#   pg_sql NAME SQL   runs SQL in database NAME with psql (unaligned, tuples
#                     only) and prints its output
#
# The caller arranges pg_stop at exit (mgr.sh does it for MGR_DB=pg).

PG_USER=${PG_USER:-nobody}
PG_DIR=""
PG_BIN=""

pg_find_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && PG_BIN=$d
	done
	[ -n "$PG_BIN" ]
}

pg_as() { # runs a command as PG_USER in DIR
	(cd "$PG_DIR" && runuser -u "$PG_USER" -- "$@")
}

pg_start() {
	local i
	PG_DIR=$1
	if ! pg_find_bin; then
		echo "# no PostgreSQL server (make deps installs postgresql)" >&2
		PG_DIR=""
		return 1
	fi
	mkdir -p "$PG_DIR" && chown "$PG_USER" "$PG_DIR" && chmod 0700 "$PG_DIR" || return 1
	# the directories above DIR must be searchable by PG_USER
	chmod o+x "$(dirname "$PG_DIR")" 2>/dev/null
	if ! pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U vrm --auth=trust -E UTF8 \
	    --no-sync >"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		PG_DIR=""
		return 1
	fi
	# no TCP at all; the socket (and its lock file) in DIR; fsync off: a
	# test's cluster need not survive a power loss
	if ! pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c fsync=off -c max_connections=200" \
	    start >/dev/null 2>&1; then
		cat "$PG_DIR/server.log" >&2
		return 1
	fi
	for i in $(seq 200); do
		pg_sql postgres "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "# PostgreSQL in $PG_DIR did not accept connections within 10 s" >&2
	return 1
}

pg_stop() {
	[ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 60 stop >/dev/null 2>&1
	PG_DIR=""
}

pg_sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -U vrm -d "$1" -c "$2"
}

pg_createdb() {
	pg_sql postgres "DROP DATABASE IF EXISTS \"$1\"" >/dev/null &&
	    pg_sql postgres "CREATE DATABASE \"$1\"" >/dev/null
}

pg_uri() {
	printf 'postgresql://vrm@/%s?host=%s\n' "$1" "$PG_DIR"
}
