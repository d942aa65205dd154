#!/usr/bin/env bash
# mgr_pg.sh: the manager's suite on PostgreSQL.  Runs mgr_api, mgr_failures,
# mgr_restart, mgr_crash, mgr_concurrency and mgr_clients with
# MGR_ENGINE=pg: each starts its own throw-away cluster (tests/lib/pg.sh),
# puts every manager's database on it and stops it at exit.  Each check is
# reported under the name of the test it belongs to.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TESTS=(mgr_api mgr_failures mgr_restart mgr_crash mgr_concurrency mgr_clients)
status=0
for t in "${TESTS[@]}"; do
	MGR_ENGINE=pg bash "$HERE/$t.sh" 2>&1 | sed -E "s/^(not )?ok( [0-9]+)? - /&[pg $t] /"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ]; then
		echo "# $t on PostgreSQL exited with status $rc"
		status=1
	fi
done
exit "$status"
