#!/usr/bin/env bash
# bench/dnsmasq_reload.sh: how long Debian's dnsmasq takes to re-read a dhcp-hostsfile of N
# hosts after SIGHUP, with nothing of ours running: the part of a router's convergence that is
# dnsmasq's own.  Each host is a line as vrd writes it ("MAC,IP,NAME,infinite", one
# addn-hosts line "IP NAME" beside it).  For each N it prints the reload time and that time
# divided by N^2: a constant there means dnsmasq's work grows with the square of the hosts it
# holds (for every dhcp-host with an address, dnsmasq 2.90 walks the list of all dhcp-hosts
# read so far looking for the same address: option.c, "duplicate dhcp-host IP address").
# Knobs: BENCH_RELOAD_SIZES ("5000 10000 20000 40000"), BENCH_RELOAD_ROUNDS (3, median).
# Needs root (a network namespace with a veth pair for dnsmasq's DHCP interface).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME="bench dnsmasq-reload"
. "$ROOT/bench/lib/bench.sh"
SIZES=${BENCH_RELOAD_SIZES:-5000 10000 20000 40000}
ROUNDS=${BENCH_RELOAD_ROUNDS:-3}
PY3=/usr/bin/python3
. "$ROOT/bench/lib/dnsmasq.sh"
dq_setup vr-dnsmasq-reload

cat >"$WORK/dnsmasq.conf" <<EOF
no-resolv
no-hosts
bind-interfaces
interface=d0
except-interface=lo
dhcp-range=set:n1,10.0.0.0,static,255.0.0.0,infinite
dhcp-leasefile=$WORK/leases
dhcp-hostsfile=$WORK/dhcphosts
addn-hosts=$WORK/hosts
log-facility=$WORK/log
EOF

# reload_ms PID: sends SIGHUP, prints the milliseconds until dnsmasq logs that it has read
# the dhcp-hostsfile (it logs that line once the file is parsed)
reload_ms() {
	"$PY3" - "$1" "$WORK/log" "$WORK/dhcphosts" <<'PYEOF'
import os, signal, sys, time
pid, log, name = int(sys.argv[1]), sys.argv[2], "read " + sys.argv[3] + "\n"
with open(log) as f:
    f.seek(0, 2)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGHUP)
    buf = ""
    while time.monotonic() - t0 < 300:
        buf += f.read()
        if "cannot read" in buf:
            sys.exit(buf.strip())
        if name in buf:
            print("%.1f" % ((time.monotonic() - t0) * 1000))
            sys.exit(0)
        os.kill(pid, 0)
        time.sleep(0.002)
sys.exit("dnsmasq did not re-read the file within 300 s")
PYEOF
}

printf '| hosts | reload ms (median of %s) | ns per host^2 |\n|---:|---:|---:|\n' "$ROUNDS"
for n in $SIZES; do
	dq_hosts "$n" || die "writing $n hosts"
	dq_start "$n"
	: >"$WORK/times"
	for _ in $(seq "$ROUNDS"); do
		reload_ms "$DQ_PID" >>"$WORK/times" || die "reload with $n hosts"
	done
	dq_stop
	med=$(sort -n "$WORK/times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	awk -v n="$n" -v m="$med" 'BEGIN {printf "| %d | %.1f | %.2f |\n", n, m, m * 1e6 / (n * n)}'
done
