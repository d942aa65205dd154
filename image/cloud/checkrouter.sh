#!/bin/bash
# /opt/cloud/bin/checkrouter.sh: "Status: PRIMARY" when this (never
# redundant) router serves: vrd answers /healthz and dnsmasq runs by vrd's
# own account (vrctl state); else "Status: FAULT" with the reason.
. /opt/cloud/bin/cloud.sh
if ! vrctl health >/dev/null 2>&1; then
	echo "Status: FAULT (vrd does not answer)"; exit 0
fi
if ! vrctl --json state | grep -q '"running": *true'; then
	echo "Status: FAULT (dnsmasq is not running)"; exit 0
fi
echo "Status: PRIMARY"
