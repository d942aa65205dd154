#!/bin/bash
# /opt/cloud/bin/getRouterMonitorResults.sh [true]: the router's health checks
# as the management server reads them: {"basic": {CHECK: {"success": ...,
# "lastUpdate": ms, "lastRunDuration": ms, "message": ...}}, "advanced": {}};
# "true" (perform fresh checks) is accepted: every call checks afresh.
. /opt/cloud/bin/cloud.sh
. /opt/cloud/bin/health.sh
sep= out='{"basic": {'
for c in $HEALTH_CHECKS; do
	t0=$(date +%s%3N)
	if msg=$(health_$c); then s=true; else s=false; fi
	t1=$(date +%s%3N)
	msg=${msg//\\/\\\\}; msg=${msg//\"/\\\"}
	out+="$sep\"${c}_check\": {\"success\": \"$s\", \"lastUpdate\": \"$t1\", \"lastRunDuration\": \"$((t1 - t0))\", \"message\": \"$msg\"}"
	sep=", "
done
echo "$out}, \"advanced\": {}}"
