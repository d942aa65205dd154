# /opt/cloud/bin/health.sh: the router's checks, from vrd's real state
# (sourced by getRouterMonitorResults.sh and getRouterAlerts.sh).  Each
# health_* prints one line of text and returns 0 when healthy.
STATE_DIR=${STATE_DIR:-/var/lib/vrd}

health_vrd() {
	vrctl health >/dev/null 2>&1 && echo "vrd answers, state directory writable" ||
	    { echo "vrd does not answer /healthz"; return 1; }
}
health_dhcp() {
	local st n want
	st=$(vrctl --json state 2>/dev/null) || { echo "vrd state unavailable"; return 1; }
	case "$st" in *'"running": true'*) ;; *) echo "dnsmasq is not running"; return 1 ;; esac
	want=$(printf '%s' "$st" | sed -n 's/.*"dhcp_entries": *\([0-9]*\).*/\1/p' | head -n1)
	# the whole file and the entries added since (dhcphosts.d/, one file per batch)
	n=$(find "$STATE_DIR/dhcphosts" "$STATE_DIR/dhcphosts.d" -type f ! -name '.*' -exec cat {} + 2>/dev/null | grep -c .)
	n=$((n + $(grep -c '^dhcp-host=' "$STATE_DIR/dnsmasq.conf" 2>/dev/null)))
	[ "$n" = "${want:-0}" ] || { echo "dnsmasq files hold $n hosts, vrd $want"; return 1; }
	echo "dnsmasq running with $n hosts, as vrd holds"
}
health_dns() {
	systemctl -q is-active vr-dnsmasq.service && echo "dnsmasq answers DNS" ||
	    { echo "vr-dnsmasq.service is not active"; return 1; }
}
health_metadata() {
	systemctl -q is-active vr-metadata.service && echo "vr-metadata active" ||
	    { echo "vr-metadata.service is not active"; return 1; }
}
health_disk() {
	local use
	use=$(df --output=pcent / | tail -n 1 | tr -dc 0-9)
	[ "$use" -lt 90 ] && echo "root file system ${use}% used" ||
	    { echo "root file system ${use}% used"; return 1; }
}
HEALTH_CHECKS="vrd dhcp dns metadata disk"
