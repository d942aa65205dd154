#!/usr/bin/env bash
# tests/integration/dhcp6_gateway.sh - a dual-stack shared network whose IPv6
# gateway is another router, as CloudStack's dhcpsrvr router serves it: vrd,
# the real dnsmasq, the network's router (radvd, in its own namespace, as the
# physical router of a CloudStack shared network: managed flag, prefix, itself
# as default router), a guest's kernel, ndisc6's rdisc6 and ISC dhclient -6,
# all in network namespaces (tests/lib/netns.sh).
#
# The guestnetwork carries router_guest_ip6_gateway (the cmdline's
# ip6gateway) and dns6 (ip6dns1, ip6dns2) as CloudStack's GuestNetwork sends
# them.  Checks:
#   - dnsmasq.conf: no enable-ra, the DHCPv6 DNS servers are the router's own
#     address, then dns6;
#   - rdisc6 in the guest hears exactly one router, the gateway (managed,
#     lifetime > 0), and dnsmasq logged no router advertisement;
#   - the guest's kernel has its default route via the gateway only;
#   - dhclient -6 gets the guest's ipv6_address with the DNS servers in order;
#   - the same network with this router as gateway (its own address): RAs
#     from the router again, with the DNS servers as RDNSS, and the kernel
#     takes it as a default router.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

vt_need --root "network namespaces" dnsmasq dhclient radvd rdisc6 ip

vt_init
nt_init
nt_on_cleanup vt_cleanup

MAC1=02:00:4c:5f:02:01 IP1=10.1.1.101 IP6_1=fd00:1::65
GW6=fd00:1::fe DNS6="2001:db8::53,2001:db8::54"

nt_vr_create 02:00:11:22:33:77
VR=$NT_VR
nt_guest_create g1 "$MAC1"
nt_guest_create gw 02:00:00:00:00:fe
G1=$(nt_ns g1) GW=$(nt_ns gw)
# the network's router: the gateway address, forwarding (a router), radvd
ip netns exec "$GW" sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.eth0.accept_dad=0
ip -n "$GW" -6 addr add "$GW6/64" dev eth0 nodad
no_tentative() { ! ip -n "$1" -6 addr show tentative | grep -q inet6; }
for ns in "$VR" "$G1" "$GW"; do
	nt_wait_for 10 no_tentative "$ns" || diag "$ns: addresses still tentative"
done
lladdr() { ip -n "$1" -6 -o addr show dev "$2" scope link | awk '{print $4}' | cut -d/ -f1; }
GWLL=$(lladdr "$GW" eth0) RLL=$(lladdr "$VR" eth1)
diag "gateway $GW6 ($GWLL), router's bridge $RLL"

cat >"$NT_DIR/radvd.conf" <<EOF2
interface eth0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 30;
	MaxRtrAdvInterval 100;
	AdvManagedFlag on;
	AdvDefaultLifetime 1800;
	prefix fd00:1::/64 { AdvAutonomous off; };
};
EOF2
nt_run_bg gw radvd -n -m stderr -C "$NT_DIR/radvd.conf" -p "$NT_DIR/radvd.pid" \
    >"$NT_DIR/radvd.log" 2>&1
nt_wait_pid_file "$NT_DIR/radvd.pid" 10 >/dev/null || diag "radvd: $(tail -n 5 "$NT_DIR/radvd.log")"

vrd_router v "$VR"

F="$VT_TMP/files"
mkdir -p "$F"
# CloudStack's GuestNetwork (Gson: nulls left out) for a shared network: the
# IPv4 and IPv6 gateways are the network's router, not this one
net_json() { # IP6_GATEWAY
	echo "{\"add\":true,\"mac_address\":\"02:00:11:22:33:77\",\"device\":\"eth1\",\"router_guest_ip\":\"10.1.1.1\",\"router_guest_netmask\":\"255.255.255.0\",\"router_guest_gateway\":\"10.1.1.254\",\"cidr\":\"24\",\"cidr6\":\"64\",\"dns\":\"10.1.1.1\",\"dns6\":\"$DNS6\",\"domain_name\":\"cloud.internal\",\"router_guest_ip6\":\"fd00:1::1\",\"router_guest_ip6_gateway\":\"$1\",\"type\":\"guestnetwork\",\"delete_from_processed_cache\":false}"
}
net_json "$GW6" >"$F/net.json"
cat >"$F/vm1.json" <<J
{"host_name":"vm1","mac_address":"$MAC1","ipv4_address":"$IP1","ipv6_address":"$IP6_1","dns_addresses":"10.1.1.1","default_gateway":"10.1.1.254","default_entry":true,"remove":false,"type":"dhcpentry","delete_from_processed_cache":false}
J
if out=$(vt_vrctl v apply "$F/net.json" "$F/vm1.json" 2>&1); then
	ok "push the network (IPv6 gateway $GW6, dns6 $DNS6) and vm1 (vrctl: $out)"
else
	fail "push the network and vm1" "$out"
	vt_finish
fi
check "networks.json keeps the IPv6 gateway and dns6" python3 -c '
import json, sys
n = json.load(open(sys.argv[1]))[0]
sys.exit(not (n["router_guest_ip6_gateway"] == sys.argv[2] and n["dns6"] == sys.argv[3]))' \
    "$STATE/networks.json" "$GW6" "$DNS6"
check "dnsmasq.conf: no router advertisements (enable-ra)" bash -c "! grep -q '^enable-ra' '$STATE/dnsmasq.conf'"
check "dnsmasq.conf: DHCPv6 DNS servers the router, then dns6" grep -qxF \
    'dhcp-option=tag:net_eth1,option6:dns-server,[fd00:1::1],[2001:db8::53],[2001:db8::54]' \
    "$STATE/dnsmasq.conf"

if nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG" --log-dhcp; then
	ok "dnsmasq starts on vrd's dnsmasq.conf"
else
	fail "dnsmasq starts on vrd's dnsmasq.conf" "$(tail -n 10 "$DM_LOG" 2>&1)"
	vt_finish
fi

# rdisc6 GUEST: every advertisement answering its solicitations (-m: all
# routers; 3 tries, 1.5 s each), as "ROUTER managed=Yes|No lifetime=S rdnss=A,B"
rdisc() {
	ip netns exec "$(nt_ns "$1")" rdisc6 -m -n -r 3 -w 1500 eth0 2>&1 | awk '
	/Stateful address conf/ { m = $NF }
	/Router lifetime/ { l = $(NF - 2) }
	/Recursive DNS server/ { d = d (d ? "," : "") $NF }
	/^ from / { print $2, "managed=" m, "lifetime=" l, "rdnss=" d; m = l = d = "" }' | sort -u
}
ras=$(rdisc g1)
check_eq "rdisc6 in the guest: one router, the network's gateway (managed, lifetime 1800)" \
    "$GWLL managed=Yes lifetime=1800 rdnss=" "$ras"
check_eq "dnsmasq sent no router advertisement" 0 "$(nt_dnsmasq_log_count 'RTR-ADVERT')"
gw_route() { ip -n "$G1" -6 route show default | grep -q "via $GWLL dev eth0 proto ra"; }
if nt_wait_for 20 gw_route; then
	check_eq "the guest's kernel: its only default route is the gateway's" \
	    "default via $GWLL dev eth0 proto ra" \
	    "$(ip -n "$G1" -6 route show default | awk '{print $1, $2, $3, $4, $5, $6, $7}')"
else
	fail "the guest's kernel takes the gateway's advertisement" "$(ip -n "$G1" -6 route 2>&1)"
fi

if nt_dhcp6 g1; then
	check_eq "vm1 gets exactly its ipv6_address by DHCPv6 (dhclient -6)" "$IP6_1" "$(nt_lease6 g1 iaaddr)"
	check_eq "its DHCPv6 DNS servers: the router, then the network's" "fd00:1::1,$DNS6" \
	    "$(nt_lease6 g1 'option dhcp6.name-servers')"
else
	fail "vm1 gets a DHCPv6 lease" "$(tail -n 8 "$NT_DIR/g1.dhclient6.log" 2>&1)" "$(tail -n 8 "$DM_LOG")"
fi

# This router as the gateway (the cmdline's ip6gateway = eth0ip6): it
# advertises itself again, with the DNS servers as RDNSS.
net_json fd00:1::1 >"$F/net-own.json"
if out=$(vt_vrctl v apply "$F/net-own.json" 2>&1); then
	ok "push the network with this router's own address as IPv6 gateway (vrctl: $out)"
else
	fail "push the network with this router as IPv6 gateway" "$out"
fi
check "dnsmasq.conf: enable-ra" grep -qx 'enable-ra' "$STATE/dnsmasq.conf"
if nt_dnsmasq_sync && [ "$NT_DNSMASQ_SYNCED" = restarted ]; then
	ok "dnsmasq restarted on the new dnsmasq.conf (as vr-dnsmasq-reconf.path does)"
else
	fail "dnsmasq restarted on the new dnsmasq.conf" "$(tail -n 10 "$DM_LOG" 2>&1)"
fi
ra_from_router() { rdisc g1 | grep -q "^$RLL "; }
nt_wait_for 20 ra_from_router
check_eq "rdisc6: the router and the gateway advertise, the router with the DNS servers as RDNSS" \
    "$(printf '%s\n' "$GWLL managed=Yes lifetime=1800 rdnss=" \
    "$RLL managed=Yes lifetime=1800 rdnss=fd00:1::1,$DNS6" | sort)" "$(rdisc g1)"
r_route() { ip -n "$G1" -6 route show default | grep -q "via $RLL dev eth0 proto ra"; }
check "the guest's kernel takes the router as a default router too" nt_wait_for 20 r_route
check "dnsmasq still runs" nt_dnsmasq_alive
vrd_stop v
vt_finish
