# shellcheck shell=bash
# bench/lib/dnsmasq.sh - what the dnsmasq-alone benchmarks share (bench/dnsmasq_reload.sh,
# bench/dnsmasq_add.sh); source it after bench/lib/bench.sh.  It gives:
#   dq_setup NAME        checks dnsmasq and root, makes WORK (readable by nobody, as dnsmasq
#                        re-reads its files after dropping root) and the namespace NS
#                        (NAME$$, deleted at exit) with a veth pair, d0 holding 10.0.0.1/8
#                        for dnsmasq's DHCP interface
#   dq_hosts N           $WORK/dhcphosts and $WORK/hosts with N hosts from 10.0.1.0 up,
#                        each a line as vrd writes it ("MAC,IP,NAME,infinite"; "IP NAME")
#   dq_start N           dnsmasq on $WORK/dnsmasq.conf (logging to $WORK/log) in NS, its pid
#                        in DQ_PID (stopped at exit), once it has read $WORK/dhcphosts
#                        (N: the hosts it holds, for the message if it does not)
#   dq_stop              stops it

dq_setup() {
	command -v dnsmasq >/dev/null || die "dnsmasq is not installed (make deps)"
	[ "$(id -u)" = 0 ] || die "needs root"
	WORK=$(mktemp -d "/tmp/vr-$1.XXXXXX")
	chmod 755 "$WORK"
	NS=$1$$
	ip netns add "$NS" || die "ip netns add"
	NETNS+=("$NS")
	ip -n "$NS" link set lo up &&
		ip -n "$NS" link add d0 type veth peer name d1 &&
		ip -n "$NS" link set d0 up && ip -n "$NS" link set d1 up &&
		ip -n "$NS" addr add 10.0.0.1/8 dev d0 || die "veth"
}

dq_hosts() {
	/usr/bin/python3 - "$1" "$WORK" <<'PYEOF'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
with open(d + "/dhcphosts", "w") as h, open(d + "/hosts", "w") as a:
    for i in range(n):
        j = i + 256
        ip = "10.%d.%d.%d" % ((j >> 16) & 255, (j >> 8) & 255, j & 255)
        h.write("02:00:%02x:%02x:%02x:%02x,%s,vm%d,infinite\n" % (
            (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, ip, i))
        a.write("%s vm%d\n" % (ip, i))
PYEOF
}

dq_start() {
	: >"$WORK/log"
	ip netns exec "$NS" dnsmasq -C "$WORK/dnsmasq.conf" -k --pid-file="$WORK/pid" &
	DQ_PID=$!
	PIDS+=("$DQ_PID")
	wait_log "$WORK/log" "read $WORK/dhcphosts" "$DQ_PID" 600 ||
		die "dnsmasq did not start with $1 hosts"
}

dq_stop() {
	kill "$DQ_PID"
	wait "$DQ_PID" 2>/dev/null
}
