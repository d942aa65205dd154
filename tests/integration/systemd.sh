#!/usr/bin/env bash
# tests/integration/systemd.sh - the systemd units and the daemons' side of
# systemd's notification protocol.
#
# `make install` into a temporary tree whose ExecStart binaries are the
# installed copies, then `systemd-analyze verify` on every unit (status 0 and
# not one warning), the security exposure of vr-metadata (<= 2.0) and vrd
# (<= 2.5) from `systemd-analyze security --offline=true`, and that the units
# and example configs agree (dnsmasq's pid file is the one vrd signals, the
# path unit watches the dnsmasq.conf dnsmasq reads, vr-metadata runs as vrd's
# metadata-user).  Then vrd and vr-metadata are started with NOTIFY_SOCKET on
# a datagram socket this test reads (tests/lib/notify_listen.py) and
# WATCHDOG_USEC=400000: READY=1 (with a STATUS) arrives, WATCHDOG=1 pings
# repeat with no gap above the interval, vrd stops pinging once its state
# directory is gone, and STOPPING=1 comes on SIGTERM.  (The other tests run
# both daemons without NOTIFY_SOCKET.)  Last, vr-manager started by its
# unit's ExecStart from the installed example manager.conf sends READY=1.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/metadata.sh"
vt_init

WD_USEC=400000
I="$VT_TMP/inst"
U="$I/units"

# --- make install, systemd-analyze ------------------------------------------

if out=$(make -s --no-print-directory -C "$ROOT" -o all install BUILD="$BUILD" PREFIX="$I/usr" \
    SYSCONFDIR="$I/etc" UNITDIR="$U" SYSUSERSDIR="$I/sysusers.d" TMPFILESDIR="$I/tmpfiles.d" 2>&1); then
	ok "make install puts binaries, units, sysusers, tmpfiles and configs in a DESTDIR-less tree"
else
	fail "make install into $I" "$out"
	md_finish
fi
for f in usr/sbin/vrd usr/sbin/vr-metadata usr/bin/vrctl etc/vrd/vrd.conf etc/vrd/metadata.conf \
    etc/vr-manager/manager.conf sysusers.d/vr.conf tmpfiles.d/vr.conf; do
	[ -e "$I/$f" ] || fail "installed: $f"
done
# make install keeps an operator's config
echo "# mine" >"$I/etc/vrd/vrd.conf"
echo "# mine too" >"$I/etc/vr-manager/manager.conf"
make -s --no-print-directory -C "$ROOT" -o all install BUILD="$BUILD" PREFIX="$I/usr" \
    SYSCONFDIR="$I/etc" UNITDIR="$U" SYSUSERSDIR="$I/sysusers.d" TMPFILESDIR="$I/tmpfiles.d" >/dev/null 2>&1
check_eq "make install leaves an existing /etc/vrd/vrd.conf alone" "# mine" "$(cat "$I/etc/vrd/vrd.conf")"
check_eq "make install leaves an existing /etc/vr-manager/manager.conf alone" "# mine too" \
    "$(cat "$I/etc/vr-manager/manager.conf")"
cp "$ROOT/systemd/vrd.conf" "$I/etc/vrd/vrd.conf"
cp "$ROOT/systemd/manager.conf" "$I/etc/vr-manager/manager.conf"

check "make install puts vr-manager in sbin (its unit's ExecStart)" test -x "$I/usr/sbin/vr-manager"

units=()
for u in "$U"/*; do units+=("$u"); done
check_eq "seven units installed" 7 "${#units[@]}"
for u in "${units[@]}"; do
	out=$(systemd-analyze verify "$u" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify $(basename "$u"): no error, no warning"
	else
		fail "systemd-analyze verify $(basename "$u"): no error, no warning" "status $rc" "$out"
	fi
done
out=$(systemd-analyze verify "${units[@]}" 2>&1)
check_eq "systemd-analyze verify of all units together is silent" "" "$out"

# exposure UNIT MAX: systemd-analyze security's overall figure is at most MAX
exposure() {
	local u=$1 max=$2 line level
	line=$(systemd-analyze security --offline=true --no-pager "$U/$u" 2>&1 | grep 'Overall exposure')
	level=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$line")
	if [ -n "$level" ] && awk -v l="$level" -v m="$max" 'BEGIN { exit !(l <= m) }'; then
		ok "systemd-analyze security $u: $level <= $max"
	else
		fail "systemd-analyze security $u: exposure at most $max" "${line:-(no figure)}"
	fi
}
exposure vr-metadata.service 2.0
exposure vrd.service 2.5
exposure vr-manager.service 2.0
exposure vr-dnsmasq.service 3.5

# key FILE KEY: the value of "key = value" in a config file
key() { sed -n "s/^$2[[:space:]]*=[[:space:]]*//p" "$1" | head -n 1; }
execstart() { sed -n 's/^ExecStart=//p' "$U/$1"; }
pidfile=$(key "$I/etc/vrd/vrd.conf" dnsmasq-pid-file)
statedir=$(key "$I/etc/vrd/vrd.conf" state-dir)
case " $(execstart vr-dnsmasq.service) " in
*" --pid-file=$pidfile "*) ok "vr-dnsmasq writes the pid file vrd signals ($pidfile)" ;;
*) fail "vr-dnsmasq writes the pid file vrd signals ($pidfile)" "$(execstart vr-dnsmasq.service)" ;;
esac
case " $(execstart vr-dnsmasq.service) " in
*" --conf-file=$statedir/dnsmasq.conf "*) ok "vr-dnsmasq reads vrd's $statedir/dnsmasq.conf" ;;
*) fail "vr-dnsmasq reads vrd's $statedir/dnsmasq.conf" "$(execstart vr-dnsmasq.service)" ;;
esac
check_eq "the path unit watches that dnsmasq.conf" "$statedir/dnsmasq.conf" \
    "$(sed -n 's/^PathChanged=//p' "$U/vr-dnsmasq-reconf.path")"
check_eq "vr-metadata.service runs as vrd's metadata-user" "User=$(key "$I/etc/vrd/vrd.conf" metadata-user)" \
    "$(grep '^User=' "$U/vr-metadata.service")"
check_eq "vr-metadata may write only passwords/" "ReadWritePaths=$statedir/passwords" \
    "$(grep '^ReadWritePaths=' "$U/vr-metadata.service")"
check_eq "vr-metadata's state-dir is vrd's" "$statedir" "$(key "$I/etc/vrd/metadata.conf" state-dir)"
check "the tmpfiles entry makes passwords/ the metadata user's" \
    grep -qE "^d $statedir/passwords +0700 vr-metadata vr-metadata" "$I/tmpfiles.d/vr.conf"
check "vr-metadata is a sysusers.d user" grep -q '^u vr-metadata ' "$I/sysusers.d/vr.conf"

# --- notifications -----------------------------------------------------------

SOCK="$VT_TMP/notify.sock"
NLOG="$VT_TMP/notify.log"
: >"$NLOG"
vt_bg "$VT_PY" "$VT_LIB/notify_listen.py" "$SOCK" "$NLOG"
for i in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "notify_listen.py made $SOCK"

# lines PID WHAT: how many messages WHAT (e.g. WATCHDOG=1) PID sent
lines() { awk -v p="$1" -v w="$2" '$2 == p && $3 == w' "$NLOG" | wc -l; }
# wait_lines PID WHAT N [SECONDS]: until PID has sent WHAT at least N times
wait_lines() {
	local i
	for i in $(seq $((${4:-5} * 20))); do
		[ "$(lines "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}
# max_gap PID: longest time (ms) between two WATCHDOG=1 of PID
max_gap() {
	awk -v p="$1" '$2 == p && $3 == "WATCHDOG=1" { if (t) { g = $1 - t; if (g > m) m = g } t = $1 }
	    END { printf "%d\n", m }' "$NLOG"
}

# notify_checks LABEL PID
notify_checks() {
	local n=$1 pid=$2 gap
	if wait_lines "$pid" READY=1 1; then
		ok "$n sends READY=1"
	else
		fail "$n sends READY=1" "$(cat "$NLOG")"
	fi
	check "$n sends a STATUS with READY=1" grep -qE "^[0-9.]+ $pid STATUS=.+" "$NLOG"
	if wait_lines "$pid" WATCHDOG=1 5; then
		ok "$n repeats WATCHDOG=1 (5 pings within 5 s at WATCHDOG_USEC=$WD_USEC)"
	else
		fail "$n repeats WATCHDOG=1" "$(lines "$pid" WATCHDOG=1) pings" "$(tail -n 20 "$NLOG")"
	fi
	gap=$(max_gap "$pid")
	if [ "$gap" -le $((WD_USEC / 1000)) ]; then
		ok "$n: no gap between pings above the watchdog interval (longest $gap ms)"
	else
		fail "$n: no gap between pings above the watchdog interval" "longest $gap ms"
	fi
}

vrd_new v
export NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=$WD_USEC
vrd_start v
started=$?
unset NOTIFY_SOCKET WATCHDOG_USEC
if [ "$started" -eq 0 ]; then
	VPID=${VRD_PID[v]}
	notify_checks vrd "$VPID"
	check "vrd logs its watchdog period" grep -q 'watchdog: pinging every 200 ms' "${VRD_LOG[v]}"
	# a state directory that takes no file: vrd stops pinging, so systemd
	# would restart it
	rm -rf "${VRD_STATE[v]}"
	for i in $(seq 100); do
		grep -q 'watchdog: not well' "${VRD_LOG[v]}" && break
		sleep 0.05
	done
	n1=$(lines "$VPID" WATCHDOG=1)
	for i in $(seq 100); do
		[ "$(grep -c 'watchdog: not well' "${VRD_LOG[v]}")" -ge 3 ] && break
		sleep 0.05
	done
	n2=$(lines "$VPID" WATCHDOG=1)
	if [ "$(grep -c 'watchdog: not well' "${VRD_LOG[v]}")" -ge 3 ] && [ "$n1" = "$n2" ]; then
		ok "vrd stops pinging once its state directory is gone"
	else
		fail "vrd stops pinging once its state directory is gone" \
		    "pings before/after: $n1/$n2" "$(grep -c 'watchdog: not well' "${VRD_LOG[v]}") 'not well' lines"
	fi
	vrd_stop v
	check_eq "vrd stops with status 0" 0 "$?"
	if wait_lines "$VPID" STOPPING=1 1; then
		ok "vrd sends STOPPING=1 on SIGTERM"
	else
		fail "vrd sends STOPPING=1 on SIGTERM" "$(tail -n 5 "$NLOG")"
	fi
else
	fail "vrd starts with NOTIFY_SOCKET and WATCHDOG_USEC set"
fi

md_new m
MDPORT=$(vt_free_port v)
mkdir -p "$VT_TMP/mdstate"
export NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=$WD_USEC
md_start m --state-dir "$VT_TMP/mdstate" --user nobody --listen "127.0.0.1:$MDPORT" \
    --password-port "$(vt_free_port v)"
started=$?
unset NOTIFY_SOCKET WATCHDOG_USEC
if [ "$started" -eq 0 ]; then
	MPID=${MD_PID[m]}
	check_eq "vr-metadata runs as nobody (it notifies after dropping privileges)" "65534 65534" "$(md_uid m)"
	notify_checks vr-metadata "$MPID"
	md_stop m
	check_eq "vr-metadata stops with status 0" 0 "$?"
	if wait_lines "$MPID" STOPPING=1 1; then
		ok "vr-metadata sends STOPPING=1 on SIGTERM"
	else
		fail "vr-metadata sends STOPPING=1 on SIGTERM" "$(tail -n 5 "$NLOG")"
	fi
else
	fail "vr-metadata starts with NOTIFY_SOCKET and WATCHDOG_USEC set"
fi

# vr-manager as its unit starts it: the installed binary, the unit's own
# ExecStart (the installed example config) and only the database and the API
# port moved into this test's directory (the shipped ones are
# /var/lib/vr-manager/manager.db and 127.0.0.1:8080, which other runs may hold).
read -r -a mgr_cmd <<<"$(execstart vr-manager.service)"
check_eq "vr-manager.service starts the installed binary with the installed config" \
    "$I/usr/sbin/vr-manager serve --config $I/etc/vr-manager/manager.conf" "${mgr_cmd[*]}"
MGRPORT=$(vt_free_port v)
MGRLOG="$VT_TMP/vr-manager.log"
NOTIFY_SOCKET="$SOCK" "${mgr_cmd[@]}" --db "$VT_TMP/manager.db" --listen "127.0.0.1:$MGRPORT" \
    >"$MGRLOG" 2>&1 &
GPID=$!
VT_BG_PIDS+=("$GPID")
if wait_lines "$GPID" READY=1 1 60; then
	ok "vr-manager serve starts from the shipped manager.conf with an empty database (READY=1)"
	check "vr-manager answers its API on the port given" bash -c "exec 3<>/dev/tcp/127.0.0.1/$MGRPORT"
	kill -TERM "$GPID"
	wait "$GPID"
	check_eq "vr-manager stops with status 0" 0 "$?"
	if wait_lines "$GPID" STOPPING=1 1; then
		ok "vr-manager sends STOPPING=1 on SIGTERM"
	else
		fail "vr-manager sends STOPPING=1 on SIGTERM" "$(tail -n 5 "$NLOG")"
	fi
else
	fail "vr-manager serve starts from the shipped manager.conf with an empty database (READY=1)" \
	    "$(tail -n 20 "$MGRLOG")"
fi
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$MGRLOG"; then
	fail "no sanitizer report in vr-manager's stderr" "$(head -n 40 "$MGRLOG")"
fi

md_finish
