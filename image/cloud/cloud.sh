# /opt/cloud/bin/cloud.sh: what the CloudStack-facing scripts share (sourced).
CACHE=${CACHE:-/var/cache/cloud}
CLOUD_LOG=${CLOUD_LOG:-/var/log/cloud.log}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

cloud_log() { echo "$(date '+%F %T') $(basename "$0"): $*" >>"$CLOUD_LOG"; }

# cloud_type NAME: the vrd command type of a file CloudStack names NAME
# (update_config.py's convention: <kind>.json[.<uuid>]), "" when the kind is
# outside this router's scope (firewall, NAT, VPN, load balancing, ...).
cloud_type() {
	case "$1" in
	vm_dhcp_entry.json*) echo dhcpentry ;;
	vm_password.json*) echo vmpassword ;;
	vm_metadata.json*) echo vmdata ;;
	guest_network.json*) echo guestnetwork ;;
	*) echo "" ;;
	esac
}

# cloud_processed PATH: keeps the applied file as processed/<name>.gz
cloud_processed() {
	mkdir -p "$CACHE/processed"
	gzip -f -c "$1" >"$CACHE/processed/$(basename "$1").gz" && rm -f "$1"
}
