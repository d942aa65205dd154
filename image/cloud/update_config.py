#!/bin/bash
# /opt/cloud/bin/update_config.py FILE [false]: CloudStack's call for one
# configuration file the agent copied to /var/cache/cloud/FILE.  The router's
# own kinds (vm_dhcp_entry.json, vm_password.json, vm_metadata.json,
# guest_network.json) go to vrd (vrctl update-config); the others (firewall,
# NAT, VPN, load balancing, monitoring, ...) are outside a dhcpsrvr router's
# scope: accepted and logged as not applicable.  The file is then kept as
# processed/FILE.gz, as CloudStack's update_config.py keeps it.  Exit status
# 0 when applied, 1 with the reason on stderr when vrd refused it.  The
# optional second argument (CloudStack's "false": do not process at once) is
# accepted; vrd applies every file at once.
. /opt/cloud/bin/cloud.sh
[ $# -ge 1 ] || { echo "usage: update_config.py FILE [false]" >&2; exit 2; }
name=$(basename "$1")
path=$CACHE/$name
[ -f "$path" ] || { echo "update_config.py: $path: no such file" >&2; cloud_log "$path missing"; exit 1; }
type=$(cloud_type "$name")
if [ -z "$type" ]; then
	cloud_log "$name: not applicable to this router (dhcpsrvr: DHCP, DNS, user data, passwords)"
	echo "$name: not applicable to this router"
	cloud_processed "$path"
	exit 0
fi
if out=$(vrctl --cache-dir "$CACHE" update-config "$name" 2>&1); then
	cloud_log "$name ($type): $out"
	printf '%s\n' "$out"
	cloud_processed "$CACHE/processed/$name"
	exit 0
fi
cloud_log "$name ($type) refused: $out"
printf 'update_config.py: %s: %s\n' "$name" "$out" >&2
exit 1
