#!/usr/bin/env bash
# bench/dnsmasq_add.sh: what one added file costs Debian's dnsmasq while it holds N hosts:
# the way vrd adds entries without a SIGHUP (docs/state-dir.md). dnsmasq starts on a
# dhcp-hostsfile and an addn-hosts of N hosts (lines as vrd writes them), with
# dhcp-hostsdir and hostsdir watched; then, one at a time, a file of one new host is renamed
# into dhcphosts.d/ (timed until dnsmasq logs that it read it), into hosts.d/ (timed until
# dnsmasq answers an A query for the new name), and into both (until both). Prints the
# median milliseconds per added file and that over N: a constant there means dnsmasq's
# work per added file grows with the hosts it holds.
# Knobs: BENCH_ADD_SIZES ("1000 10000 30000"), BENCH_ADD_FILES (40 per mode).
# Needs root (a network namespace with a veth pair for dnsmasq's DHCP interface).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME="bench dnsmasq-add"
. "$ROOT/bench/lib/bench.sh"
SIZES=${BENCH_ADD_SIZES:-1000 10000 30000}
FILES=${BENCH_ADD_FILES:-40}
PY3=/usr/bin/python3
. "$ROOT/bench/lib/dnsmasq.sh"
dq_setup vr-dnsmasq-add

# hosts N: $WORK/dhcphosts and $WORK/hosts with N hosts in 10.0.1.0 and up, empty dirs
hosts() {
	rm -rf "$WORK/dhcphosts.d" "$WORK/hosts.d"
	mkdir -m 755 "$WORK/dhcphosts.d" "$WORK/hosts.d"
	dq_hosts "$1"
}

cat >"$WORK/dnsmasq.conf" <<EOF
no-resolv
no-hosts
bind-interfaces
interface=d0
except-interface=lo
listen-address=10.0.0.1
dhcp-range=set:n1,10.0.0.0,static,255.0.0.0,infinite
dhcp-leasefile=$WORK/leases
dhcp-hostsfile=$WORK/dhcphosts
addn-hosts=$WORK/hosts
dhcp-hostsdir=$WORK/dhcphosts.d
hostsdir=$WORK/hosts.d
log-facility=$WORK/log
EOF

# adds N: FILES added files per mode, one at a time; prints "dhcp hosts both" medians (ms)
adds() {
	ip netns exec "$NS" "$PY3" - "$1" "$FILES" "$WORK" <<'PYEOF'
import os, socket, struct, sys, time
n, files, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
log = open(d + "/log")
log.seek(0, 2)
logbuf = ""

def put(sub, name, line):
    tmp = "%s/%s/.%s.tmp" % (d, sub, name)
    with open(tmp, "w") as f:
        f.write(line)
    os.rename(tmp, "%s/%s/%s" % (d, sub, name))

def logged(path):
    global logbuf
    logbuf += log.read()
    if "cannot read" in logbuf:
        sys.exit(logbuf.strip())
    return ("read %s\n" % path) in logbuf

def answers(name, ip):
    q = struct.pack(">HHHHHH", 0x1d1d, 0x0100, 1, 0, 0, 0)
    q += bytes([len(name)]) + name.encode() + b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    try:
        s.sendto(q, ("10.0.0.1", 53))
        r = s.recv(512)
    except socket.timeout:
        return False
    finally:
        s.close()
    return r[:2] == q[:2] and (r[3] & 15) == 0 and r[-4:] == socket.inet_aton(ip)

def wait(cond):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > 120:
            sys.exit("dnsmasq did not take an added file within 120 s")
        time.sleep(0.0002)

out = []
k = n
for mode in ("dhcp", "hosts", "both"):
    times = []
    for f in range(files):
        k += 1
        j = k + 256
        ip = "10.%d.%d.%d" % ((j >> 16) & 255, (j >> 8) & 255, j & 255)
        name, fname = "vm%d" % k, "%s%d" % (mode, f)
        t0 = time.monotonic()
        if mode in ("dhcp", "both"):
            put("dhcphosts.d", fname, "02:00:%02x:%02x:%02x:%02x,%s,%s,infinite\n" % (
                (k >> 24) & 255, (k >> 16) & 255, (k >> 8) & 255, k & 255, ip, name))
        if mode in ("hosts", "both"):
            put("hosts.d", fname, "%s %s\n" % (ip, name))
        if mode in ("dhcp", "both"):
            wait(lambda: logged("%s/dhcphosts.d/%s" % (d, fname)))
        if mode in ("hosts", "both"):
            wait(lambda: answers(name, ip))
        times.append((time.monotonic() - t0) * 1000)
    times.sort()
    out.append("%.2f" % times[len(times) // 2])
print(" ".join(out))
PYEOF
}

printf '| hosts held | dhcphosts.d/ file: ms (median of %s) | hosts.d/ file: ms | both: ms | both: ns per host held |\n|---:|---:|---:|---:|---:|\n' "$FILES"
for n in $SIZES; do
	hosts "$n" || die "writing $n hosts"
	dq_start "$n"
	r=$(adds "$n") || die "adding files to dnsmasq holding $n hosts: $r"
	dq_stop
	read -r a b c <<<"$r"
	awk -v n="$n" -v a="$a" -v b="$b" -v c="$c" \
		'BEGIN {printf "| %d | %.2f | %.2f | %.2f | %.1f |\n", n, a, b, c, c * 1e6 / n}'
done
