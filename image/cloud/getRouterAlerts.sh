#!/bin/bash
# /opt/cloud/bin/getRouterAlerts.sh [LAST]: the router's alerts since LAST
# ("YYYY-MM-DD HH:MM:SS"; default: all), one "TIME,MESSAGE" line each, or
# "No Alerts": a check that fails now (health.sh) and the vrd, dnsmasq and
# vr-metadata units' failures in the journal.
. /opt/cloud/bin/cloud.sh
. /opt/cloud/bin/health.sh
since=${1:-}
now=$(date '+%F %T')
alerts=()
for c in $HEALTH_CHECKS; do
	msg=$(health_$c) || alerts+=("$now,$c: $msg")
done
while IFS= read -r l; do
	[ -n "$l" ] && alerts+=("$l")
done < <(journalctl -q -o short-iso -u vrd -u vr-dnsmasq -u vr-metadata --no-pager \
    ${since:+--since "$since"} 2>/dev/null | grep -E 'Failed|failed with|core-dump' |
    sed -E 's/^([0-9-]+)T([0-9:]+)[^ ]* [^ ]+ /\1 \2,/')
if [ ${#alerts[@]} -eq 0 ]; then echo "No Alerts"; else printf '%s\n' "${alerts[@]}"; fi
