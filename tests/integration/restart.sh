#!/usr/bin/env bash
# tests/integration/restart.sh - crash consistency of vrd's state directory.
#
# A client (tests/lib/batch_stream.py) streams batches; batch k adds VM k
# (dhcpentry + vmpassword + vmdata with metadata "batch" = k) in the guest
# network 10.1.0.0/16 and records every acknowledged (200) batch.  Five times,
# vrd is killed with SIGKILL while the client is sending (after a varying
# number of acknowledgements) and restarted on the same state directory; the
# client goes on with the next batch.  After each restart
# (tests/lib/restart_check.py): every acknowledged batch is fully present
# (dhcphosts line, vms/<ip>.json with its metadata, passwords/<ip>, GET
# /v1/vms), each batch in flight at a kill is wholly present or wholly absent,
# no .*.tmp file and no journal remain, every vms/*.json parses, the VM count
# and the generation (file and GET /v1/state) match the applied batches, and
# dnsmasq --test accepts dnsmasq.conf.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
vt_init

ROUNDS=${ROUNDS:-5}
W="$VT_TMP/stream"
mkdir -p "$W"

acks() { [ -f "$W/acks" ] && wc -l <"$W/acks" || echo 0; }
unknowns() { [ -f "$W/unknown" ] && wc -l <"$W/unknown" || echo 0; }

# verify LABEL: the state after a restart, while the client is paused.
verify() {
	local label=$1 st what diag
	vt_http r GET /v1/vms
	cp "$HTTP_BODY_FILE" "$W/vms.json"
	st=$HTTP_STATUS
	vt_http r GET /v1/state
	cp "$HTTP_BODY_FILE" "$W/state.json"
	if [ "$st" != 200 ] || [ "$HTTP_STATUS" != 200 ]; then
		fail "$label: GET /v1/vms and /v1/state answer 200" "$st / $HTTP_STATUS"
		return
	fi
	while IFS=$'\t' read -r st what diag; do
		if [ "$st" = ok ]; then
			ok "$label: $what"
		else
			fail "$label: $what" "$(printf '%b' "$diag")"
		fi
	done < <("$VT_PY" "$VT_LIB/restart_check.py" "${VRD_STATE[r]}" "$W" "$G0" "$W/vms.json" \
	    "$W/state.json" 2>&1 || echo "fail	restart_check.py ran	exit $?")
	if command -v dnsmasq >/dev/null; then
		local out
		out=$(dnsmasq --test --conf-file="${VRD_STATE[r]}/dnsmasq.conf" 2>&1)
		if [[ "$out" == *"syntax check OK"* ]]; then
			ok "$label: dnsmasq --test accepts dnsmasq.conf"
		else
			fail "$label: dnsmasq --test accepts dnsmasq.conf" "$out"
		fi
	else
		ok "$label: dnsmasq --test # SKIP dnsmasq not installed"
	fi
}

vrd_new r
if ! vrd_start r; then
	fail "vrd starts"
	vt_finish
fi
vt_http r POST /v1/commands --body '{"type":"guestnetwork","device":"eth1","router_guest_ip":"10.1.0.1","cidr":"10.1.0.0/16","dns":"10.1.0.1","domain_name":"cloud.internal","add":true}'
check_eq "guest network 10.1.0.0/16 accepted" 200 "$HTTP_STATUS"
G0=$(vt_gen r)
[ "$HTTP_STATUS" = 200 ] && [[ "$G0" =~ ^[0-9]+$ ]] || vt_finish

vt_bg "$VT_PY" "$VT_LIB/batch_stream.py" "${VRD_URL[r]}" "${VRD_TOKEN_FILE[r]}" "$W"
CLIENT=$VT_LAST_PID

# kill points: acknowledgements to wait for in each round, then a short
# extra delay (ms) so that the kill lands at different points of a commit
STEPS=(6 2 11 4 8 3 9)
DELAYS=(0 3 1 7 2 5 0)
replays=0
for round in $(seq "$ROUNDS"); do
	target=$(($(acks) + ${STEPS[$(((round - 1) % 7))]}))
	for i in $(seq 1000); do # bounded: 20 s
		[ "$(acks)" -ge "$target" ] && break
		vt_alive "$CLIENT" && vrd_alive r || break
		sleep 0.02
	done
	if [ "$(acks)" -lt "$target" ]; then
		fail "round $round: the client reaches $target acknowledgements" "acks: $(acks); client alive: $(vt_alive "$CLIENT" && echo yes || echo no)" \
		    "rejected: $(head -n 3 "$W/rejected" 2>/dev/null)"
		break
	fi
	touch "$W/pause"
	d=${DELAYS[$(((round - 1) % 7))]}
	[ "$d" -gt 0 ] && sleep "0.00$d"
	vrd_kill9 r
	# the client notices (its batch in flight fails) before vrd comes back, so
	# that it stays paused while the state is checked
	for i in $(seq 500); do
		[ "$(unknowns)" -ge "$round" ] && break
		sleep 0.01
	done
	[ "$(unknowns)" -ge "$round" ] || fail "round $round: the client sees the kill" "unknown: $(cat "$W/unknown" 2>/dev/null)"
	at_kill="acks $(acks)"
	[ -e "${VRD_STATE[r]}/journal" ] && { at_kill+=", journal present"; replays=$((replays + 1)); }
	tmps=$(find "${VRD_STATE[r]}" -name '.*.tmp' | wc -l)
	[ "$tmps" -gt 0 ] && at_kill+=", $tmps .tmp file(s)"
	diag "round $round: killed vrd with SIGKILL ($at_kill)"
	if ! vrd_start r; then
		fail "round $round: vrd restarts on the same state directory"
		break
	fi
	ok "round $round: vrd restarts on the same state directory"
	verify "round $round"
	rm -f "$W/pause"
done

# let the client send a few more after the last restart, then stop it
target=$(($(acks) + 3))
for i in $(seq 500); do
	[ "$(acks)" -ge "$target" ] && break
	vt_alive "$CLIENT" && vrd_alive r || break
	sleep 0.02
done
touch "$W/stop"
for i in $(seq 500); do
	vt_alive "$CLIENT" || break
	sleep 0.02
done
wait "$CLIENT" 2>/dev/null
check "the client ended cleanly" test -s "$W/done"
diag "$(acks) batches acknowledged, $(wc -l <"$W/unknown" 2>/dev/null || echo 0) in flight at a kill, $replays journal(s) left by a kill"

# a clean stop and a last start: everything is still there
vrd_stop r
rc=$?
check_eq "vrd stops on SIGTERM after the stream with status 0" 0 "$rc"
if vrd_start r; then
	ok "vrd starts again after the stream"
	verify "final"
else
	fail "vrd starts again after the stream"
fi
vt_finish
