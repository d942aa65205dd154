#!/usr/bin/env bash
# tests/integration/dhcp6.sh - dual stack: vrd, the real dnsmasq, ISC's
# dhclient -6 (a real DHCPv6 client) and the guests' own kernels (router
# advertisements) in network namespaces (tests/lib/netns.sh).
#
# A guestnetwork with router_guest_ip6/cidr6 as CloudStack's GuestNetwork sends
# them, then dhcpentries as CloudStack sends them, one with ipv6_address.
# Checks:
#   - vrd puts fd00:1::1/64 on eth1 next to the IPv4 addresses;
#   - dnsmasq.conf gets the DHCPv6 range, enable-ra and the IPv6 DNS server;
#     dhcphosts the guest's [IPv6]; hosts its AAAA line;
#   - g1 (ipv6_address fd00:1::65) gets exactly that address by DHCPv6, with
#     the router as DNS server, and still its IPv4 lease (udhcpc);
#   - g1's kernel takes the router advertisements: a default route via the
#     router's link-local address (proto ra);
#   - g2 (no ipv6_address) gets no DHCPv6 address;
#   - removing g1's entry takes its address away: a new Solicit gets nothing.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

vt_need --root "network namespaces" dnsmasq udhcpc dhclient ip

vt_init
nt_init
nt_on_cleanup vt_cleanup

MAC1=02:00:4c:5f:01:01 IP1=10.1.1.101 IP6_1=fd00:1::65
MAC2=02:00:4c:5f:01:02 IP2=10.1.1.102

nt_vr_create 02:00:11:22:33:66
VR=$NT_VR
# addresses usable at once: no duplicate address detection in these namespaces
ip netns exec "$VR" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.eth1.accept_dad=0
for g in g1 g2; do
	ns=$(nt_ns "$g")
	nt__netns_add "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	mac=$MAC1
	[ "$g" = g2 ] && mac=$MAC2
	ip -n "$VR" link add "v-$g" type veth peer name eth0 address "$mac" netns "$ns"
	ip -n "$VR" link set "v-$g" master eth1 up
	ip -n "$ns" link set eth0 up
done

vrd_router v "$VR"

F="$VT_TMP/files"
mkdir -p "$F"
# CloudStack's Gson shapes (nulls left out)
cat >"$F/net.json" <<J
{"add":true,"mac_address":"02:00:11:22:33:66","device":"eth1","router_guest_ip":"10.1.1.1","router_guest_netmask":"255.255.255.0","cidr":"24","cidr6":"fd00:1::/64","dns":"10.1.1.1","domain_name":"cloud.internal","router_guest_ip6":"fd00:1::1","type":"guestnetwork","delete_from_processed_cache":false}
J
cat >"$F/vm1.json" <<J
{"host_name":"vm1","mac_address":"$MAC1","ipv4_address":"$IP1","ipv6_address":"$IP6_1","dns_addresses":"10.1.1.1","default_gateway":"10.1.1.1","default_entry":true,"remove":false,"type":"dhcpentry","delete_from_processed_cache":false}
J
cat >"$F/vm2.json" <<J
{"host_name":"vm2","mac_address":"$MAC2","ipv4_address":"$IP2","dns_addresses":"10.1.1.1","default_gateway":"10.1.1.1","default_entry":true,"remove":false,"type":"dhcpentry","delete_from_processed_cache":false}
J
sed 's/"remove":false/"remove":true/' "$F/vm1.json" >"$F/vm1-remove.json"

if out=$(vt_vrctl v apply "$F/net.json" "$F/vm2.json" 2>&1); then
	ok "push the dual-stack guest network and two entries (vrctl: $out)"
else
	fail "push the dual-stack guest network and two entries" "$out"
	vt_finish
fi
check_eq "eth1 holds the router's IPv6 address (set by vrd)" "fd00:1::1/64" \
    "$(ip -n "$VR" -6 -o addr show dev eth1 scope global | awk '{print $4}')"
check "dnsmasq.conf: the DHCPv6 range" grep -qx 'dhcp-range=set:net_eth1,fd00:1::,static,64,infinite' "$STATE/dnsmasq.conf"
check "dnsmasq.conf: router advertisements" grep -qx 'enable-ra' "$STATE/dnsmasq.conf"
check "dnsmasq.conf: the router as IPv6 DNS server" \
    grep -qx 'dhcp-option=tag:net_eth1,option6:dns-server,\[fd00:1::1\]' "$STATE/dnsmasq.conf"
check "dhcphosts: vm2 without an IPv6 address" grep -qxF "$MAC2,$IP2,vm2,infinite" "$STATE/dhcphosts"

if nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG" --log-dhcp; then
	ok "dnsmasq starts on vrd's dnsmasq.conf"
else
	fail "dnsmasq starts on vrd's dnsmasq.conf" "$(tail -n 10 "$DM_LOG" 2>&1)"
	vt_finish
fi
# vm1 comes after dnsmasq runs: an addition, its [IPv6] reaches dnsmasq
# through dhcphosts.d/ (inotify), with no SIGHUP
n=$(nt_dnsmasq_log_count "read $STATE/dhcphosts\.d/")
nh=$(nt_dnsmasq_log_count "read $STATE/dhcphosts$")
if out=$(vt_vrctl v apply "$F/vm1.json" 2>&1); then
	ok "push vm1 with its ipv6_address while dnsmasq runs (vrctl: $out)"
else
	fail "push vm1 with its ipv6_address" "$out"
fi
check "dnsmasq read the added dhcphosts.d/ file (inotify)" nt_dnsmasq_wait_log "read $STATE/dhcphosts\.d/" "$n" 10
check_eq "no SIGHUP: dnsmasq did not re-read dhcphosts" "$nh" "$(nt_dnsmasq_log_count "read $STATE/dhcphosts$")"
check "hosts.d/1: vm1's AAAA line" grep -qxF "$IP6_1 vm1" "$STATE/hosts.d/1"
check "dhcphosts.d/1: vm1 with its [IPv6]" grep -qxF "$MAC1,$IP1,[$IP6_1],vm1,infinite" "$STATE/dhcphosts.d/1"

if nt_dhcp g1 5; then
	check_eq "g1's IPv4 lease as before" "$IP1" "$(nt_lease_get g1 ip)"
else
	fail "g1 gets its IPv4 lease" "$(tail -n 5 "$NT_DIR/g1.udhcpc.log" 2>&1)"
fi
if nt_dhcp6 g1; then
	check_eq "g1 gets exactly its ipv6_address by DHCPv6 (dhclient -6)" "$IP6_1" "$(nt_lease6 g1 iaaddr)"
	check_eq "g1's DHCPv6 DNS server is the router" "fd00:1::1" "$(nt_lease6 g1 'option dhcp6.name-servers')"
else
	fail "g1 gets a DHCPv6 lease" "$(tail -n 8 "$NT_DIR/g1.dhclient6.log" 2>&1)" "$(tail -n 8 "$DM_LOG")"
fi
# the bridge's link-local address, from its MAC (EUI-64)
RLL=fe80::11ff:fe22:3366
ra_route() { ip -n "$(nt_ns g1)" -6 route show default proto ra | grep -q "^default via $RLL dev eth0"; }
if nt_wait_for 20 ra_route; then
	ok "g1's kernel took the router advertisement: default via the router's $RLL (proto ra)"
else
	fail "g1's kernel took a router advertisement from $RLL" \
	    "$(ip -n "$(nt_ns g1)" -6 route 2>&1)" "$(grep -i 'RTR-ADVERT' "$DM_LOG" | tail -n 3)"
fi
check "dnsmasq logged its router advertisements on eth1" grep -q 'RTR-ADVERT(eth1)' "$DM_LOG"

if nt_dhcp6 g2 && [ -n "$(nt_lease6 g2 iaaddr)" ]; then
	fail "g2 (no ipv6_address) gets no DHCPv6 address" "it got $(nt_lease6 g2 iaaddr)"
else
	ok "g2 (no ipv6_address) gets no DHCPv6 address"
fi

if out=$(vt_vrctl v apply "$F/vm1-remove.json" 2>&1); then
	ok "push vm1's removal"
else
	fail "push vm1's removal" "$out"
fi
check "dhcphosts: vm1 gone" bash -c "! grep -q '$MAC1' '$STATE/dhcphosts'"
if nt_dhcp6 g1 && [ -n "$(nt_lease6 g1 iaaddr)" ]; then
	fail "after the removal g1 gets no DHCPv6 address" "it got $(nt_lease6 g1 iaaddr)"
else
	ok "after the removal g1 gets no DHCPv6 address"
fi
check "dnsmasq still runs" nt_dnsmasq_alive
vrd_stop v
vt_finish
