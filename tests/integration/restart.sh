#!/usr/bin/env bash
# tests/integration/restart.sh - crash consistency of vrd's state directory.
#
# Four concurrent clients (tests/lib/batch_stream.py; CLIENTS=N) stream
# batches, each its own range of k, so that vrd commits several at once
# (group commit); batch k adds VM k (dhcpentry + vmpassword + vmdata with
# metadata "batch" = k) in the guest network 10.1.0.0/16 and each client
# records every acknowledged (200) batch; at least 334 batches, 1,002
# commands, in all.  Twenty times, vrd is killed with SIGKILL while the
# clients are sending (after a number of acknowledgements and an extra 0-9 ms
# drawn from a seed printed in the output; RESTART_SEED=S replays a run) and
# restarted on the same state directory; each client goes on with its next
# batch.  Right after each kill, before the restart: every vms/*.json and
# networks.json parses, every line of dhcphosts, dhcpopts, hosts and of the
# added files in dhcphosts.d/ and hosts.d/ is well formed, no IP is in
# dhcphosts and dhcphosts.d/ twice, the generation file is a number, dnsmasq
# --test accepts dnsmasq.conf with them.  After each restart
# (tests/lib/restart_check.py): every acknowledged batch is fully present
# (dhcphosts line, vms/<ip>.json with its metadata, passwords/<ip>, GET
# /v1/vms), each batch in flight at a kill (one per client) is wholly present
# or wholly absent, the acknowledged generations are distinct and rise with k
# within each client,
# dhcphosts.d/ and hosts.d/ are empty (the start compacts), no .*.tmp file
# and no journal remain, every vms/*.json parses, the VM count
# and the generation (file and GET /v1/state) match the applied batches, and
# dnsmasq --test accepts dnsmasq.conf.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
vt_init

ROUNDS=${ROUNDS:-20}
BATCHES=${BATCHES:-334}       # 3 commands each: 1,002 commands, all clients together
CLIENTS=${CLIENTS:-4}
STRIDE=15000                  # client c streams k from (c - 1) * STRIDE + 1 (restart_check.py)
W="$VT_TMP/stream"
mkdir -p "$W"
for c in $(seq "$CLIENTS"); do mkdir -p "$W/c$c"; done

lines_of() { cat "$W"/c*/"$1" 2>/dev/null | wc -l; }
acks() { lines_of acks; }
unknowns() { lines_of unknown; }
clients_alive() { # all of them
	local p
	for p in "${CLIENT_PIDS[@]}"; do vt_alive "$p" || return 1; done
}
clients_each() { # touch/rm NAME in every client's directory
	local c
	for c in $(seq "$CLIENTS"); do "$1" -f "$W/c$c/$2"; done
}

# verify LABEL: the state after a restart, while the client is paused.
verify() {
	local label=$1 st what diag
	vt_http r GET /v1/vms
	cp "$HTTP_BODY_FILE" "$W/vms.json"
	st=$HTTP_STATUS
	vt_http r GET /v1/state
	cp "$HTTP_BODY_FILE" "$W/state.json"
	for f in acks unknown rejected; do cat "$W"/c*/"$f" >"$W/$f" 2>/dev/null; done
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
	dnsmasq_ok "$label"
}

# dnsmasq_ok LABEL: dnsmasq --test accepts dnsmasq.conf with every line of
# dhcphosts and dhcphosts.d/ as dhcp-host= and every dhcpopts line as
# dhcp-option= (--test alone does not read the files dnsmasq.conf names)
dnsmasq_ok() {
	local label=$1 out s=${VRD_STATE[r]}
	{
		echo "conf-file=$s/dnsmasq.conf"
		find "$s/dhcphosts.d" -type f ! -name '.*' -exec cat {} + | cat "$s/dhcphosts" - | sed 's/^/dhcp-host=/'
		sed 's/^/dhcp-option=/' "$s/dhcpopts"
	} >"$W/check.conf"
	out=$(dnsmasq --test -C "$W/check.conf" 2>&1)
	if [[ "$out" == *"syntax check OK"* ]]; then
		ok "$label: dnsmasq --test accepts dnsmasq.conf and the $(grep -c '^dhcp-host=' "$W/check.conf") lines of dhcphosts and dhcphosts.d/"
	else
		fail "$label: dnsmasq --test accepts dnsmasq.conf and the lines of dhcphosts and dhcphosts.d/" "$out"
	fi
}

vrd_new r
if ! vrd_start r --threads 16; then
	fail "vrd starts"
	vt_finish
fi
vt_http r POST /v1/commands --body '{"type":"guestnetwork","device":"eth1","router_guest_ip":"10.1.0.1","cidr":"10.1.0.0/16","dns":"10.1.0.1","domain_name":"cloud.internal","add":true}'
check_eq "guest network 10.1.0.0/16 accepted" 200 "$HTTP_STATUS"
G0=$(vt_gen r)
[ "$HTTP_STATUS" = 200 ] && [[ "$G0" =~ ^[0-9]+$ ]] || vt_finish

# kill points, from a seed printed here (RESTART_SEED=S reproduces them): the
# acknowledgement count each round waits for (ROUNDS distinct points spread
# over the stream), then an extra 0-9 ms so that the kill lands at different
# points of a commit
SEED=${RESTART_SEED:-$(( $(date +%s%N) % 1000000007 ))}
read -r -a TARGETS < <("$VT_PY" -c 'import random, sys
seed, rounds, batches, clients = map(int, sys.argv[1:5])
r = random.Random(seed)
# each kill leaves one batch per client unacknowledged (in flight): the last
# kill point must be reachable, with batches still to send after it
print(" ".join(map(str, sorted(r.sample(range(2, batches - rounds * clients - 4), rounds)))))' \
    "$SEED" "$ROUNDS" "$BATCHES" "$CLIENTS")
read -r -a DELAYS < <("$VT_PY" -c 'import random, sys
r = random.Random(int(sys.argv[1]) + 1)
print(" ".join(str(r.randrange(10)) for _ in range(int(sys.argv[2]))))' "$SEED" "$ROUNDS")
diag "seed $SEED (RESTART_SEED=$SEED reproduces it): $ROUNDS kills over $BATCHES batches ($((3 * BATCHES)) commands) from $CLIENTS concurrent clients"
diag "kill after acknowledgement: ${TARGETS[*]}"
diag "extra delay (ms): ${DELAYS[*]}"
[ "${#TARGETS[@]}" -eq "$ROUNDS" ] || fail "$ROUNDS kill points drawn" "${TARGETS[*]}"

# the clients may run past BATCHES while a kill is being set up; they are
# told to stop once BATCHES have been sent in all after the last kill
CLIENT_PIDS=()
for c in $(seq "$CLIENTS"); do
	first=$(((c - 1) * STRIDE + 1))
	vt_bg "$VT_PY" "$VT_LIB/batch_stream.py" "${VRD_URL[r]}" "${VRD_TOKEN_FILE[r]}" "$W/c$c" \
	    --first "$first" --last $((first + BATCHES + 200))
	CLIENT_PIDS+=("$VT_LAST_PID")
done

# files_ok LABEL: the files on disk right after a kill, before vrd restarts
# and replays anything: every document parses, every dnsmasq line is well
# formed, dnsmasq --test accepts the configuration
files_ok() {
	local label=$1 out
	if out=$("$VT_PY" "$VT_LIB/restart_check.py" --files "${VRD_STATE[r]}" 2>&1); then
		ok "$label: right after the kill every file parses ($out)"
	else
		fail "$label: right after the kill every file parses" "$out"
	fi
	dnsmasq_ok "$label: right after the kill"
}

replays=0
for round in $(seq "$ROUNDS"); do
	target=${TARGETS[$((round - 1))]}
	[ "$(acks)" -ge "$target" ] && target=$(($(acks) + 1)) # the last round's resends
	for i in $(seq 1000); do # bounded: 20 s
		[ "$(acks)" -ge "$target" ] && break
		clients_alive && vrd_alive r || break
		sleep 0.02
	done
	if [ "$(acks)" -lt "$target" ]; then
		fail "round $round: the clients reach $target acknowledgements" "acks: $(acks); clients alive: $(clients_alive && echo yes || echo no)" \
		    "rejected: $(cat "$W"/c*/rejected 2>/dev/null | head -n 3)"
		break
	fi
	clients_each touch pause
	d=${DELAYS[$((round - 1))]}
	[ "$d" -gt 0 ] && sleep "0.00$d"
	vrd_kill9 r
	# each client notices (its batch in flight fails, or its next one) and
	# waits, nothing in flight, before vrd comes back, so that it stays paused
	# while the state is checked; a client still waiting since the last round
	# (the others reached this round's acknowledgements first) sent nothing
	for i in $(seq 500); do
		[ "$(ls "$W"/c*/waiting 2>/dev/null | wc -l)" = "$CLIENTS" ] && break
		sleep 0.01
	done
	[ "$(ls "$W"/c*/waiting 2>/dev/null | wc -l)" = "$CLIENTS" ] ||
		fail "round $round: every client sees the kill and waits" "waiting: $(ls "$W"/c*/waiting 2>&1)"
	at_kill="acks $(acks)"
	[ -e "${VRD_STATE[r]}/journal" ] && { at_kill+=", journal present"; replays=$((replays + 1)); }
	tmps=$(find "${VRD_STATE[r]}" -name '.*.tmp' | wc -l)
	[ "$tmps" -gt 0 ] && at_kill+=", $tmps .tmp file(s)"
	diag "round $round: killed vrd with SIGKILL ($at_kill)"
	files_ok "round $round"
	if ! vrd_start r --threads 16; then
		fail "round $round: vrd restarts on the same state directory"
		break
	fi
	ok "round $round: vrd restarts on the same state directory"
	verify "round $round"
	clients_each rm pause
done

# let the clients send the rest of the stream
for i in $(seq 1500); do # bounded: 30 s
	[ $(($(acks) + $(unknowns))) -ge "$BATCHES" ] && break
	clients_alive && vrd_alive r || break
	sleep 0.02
done
clients_each touch stop
for i in $(seq 500); do
	left=0
	for p in "${CLIENT_PIDS[@]}"; do vt_alive "$p" && left=$((left + 1)); done
	[ "$left" = 0 ] && break
	sleep 0.02
done
sent=0 ended=0
for c in $(seq "$CLIENTS"); do
	wait "${CLIENT_PIDS[$((c - 1))]}" 2>/dev/null
	if [ -s "$W/c$c/done" ]; then
		sent=$((sent + $(cat "$W/c$c/done") - ((c - 1) * STRIDE + 1)))
		ended=$((ended + 1))
	fi
done
if [ "$ended" = "$CLIENTS" ] && [ "$sent" -ge "$BATCHES" ] && [ "$sent" -le $((BATCHES + 200 * CLIENTS)) ]; then
	ok "the $CLIENTS clients sent $sent batches ($((3 * sent)) commands, at least $BATCHES) and ended cleanly"
else
	fail "the $CLIENTS clients sent at least $BATCHES batches and ended cleanly" "ended: $ended, sent: $sent"
fi
vt_http r GET /metrics
diag "$(acks) batches acknowledged ($((3 * $(acks))) commands), $(unknowns) in flight at a kill, $replays journal(s) left by a kill; since the last start: $(grep -E '^vrd_(commits_total|batches_total\{result="ok"\})' "$HTTP_BODY_FILE" | tr '\n' ' ')"

# a clean stop and a last start: everything is still there
vrd_stop r
rc=$?
check_eq "vrd stops on SIGTERM after the stream with status 0" 0 "$rc"
if vrd_start r --threads 16; then
	ok "vrd starts again after the stream"
	verify "final"
else
	fail "vrd starts again after the stream"
fi

# Group commit without kills: 16 clients at once, 8 batches each on VMs of
# their own.  Each batch gets its own 200 and its own generation; together
# they advance the generation by exactly their number, in fewer commits
# (journal syncs) than batches.
commits() { vt_http r GET /metrics; sed -n 's/^vrd_commits_total //p' "$HTTP_BODY_FILE"; }
vt_http r GET /v1/state
g0=$(vt_json "$HTTP_BODY_FILE" 'j["generation"]')
n0=$(vt_json "$HTTP_BODY_FILE" 'j["vms"]')
c0=$(commits)
pids=()
for c in $(seq 16); do
	mkdir -p "$W/g$c"
	first=$((46000 + c * 100))
	vt_bg "$VT_PY" "$VT_LIB/batch_stream.py" "${VRD_URL[r]}" "${VRD_TOKEN_FILE[r]}" "$W/g$c" \
	    --first "$first" --last $((first + 7))
	pids+=("$VT_LAST_PID")
done
for i in $(seq 3000); do # bounded: 60 s
	left=0
	for p in "${pids[@]}"; do vt_alive "$p" && left=$((left + 1)); done
	[ "$left" = 0 ] && break
	sleep 0.02
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
cat "$W"/g*/acks 2>/dev/null >"$W/cacks"
check_eq "16 concurrent clients: 128 batches acknowledged, none refused or lost" "128 0 0" \
    "$(wc -l <"$W/cacks") $(cat "$W"/g*/rejected 2>/dev/null | wc -l) $(cat "$W"/g*/unknown 2>/dev/null | wc -l)"
check_eq "16 concurrent clients: 128 distinct generations, $((g0 + 1)) to $((g0 + 128))" \
    "128 $((g0 + 1)) $((g0 + 128))" \
    "$(awk '{print $2}' "$W/cacks" | sort -n | uniq | wc -l) $(awk '{print $2}' "$W/cacks" | sort -n | head -n1) $(awk '{print $2}' "$W/cacks" | sort -n | tail -n1)"
vt_http r GET /v1/state
check_eq "16 concurrent clients: generation and VM count after them" "$((g0 + 128)) $((n0 + 128))" \
    "$(vt_json "$HTTP_BODY_FILE" '"%d %d" % (j["generation"], j["vms"])')"
check_eq "16 concurrent clients: the generation file" "$((g0 + 128))" "$(cat "${VRD_STATE[r]}/generation")"
c1=$(commits)
if [[ "$c0" =~ ^[0-9]+$ && "$c1" =~ ^[0-9]+$ ]] && [ $((c1 - c0)) -ge 1 ] && [ $((c1 - c0)) -lt 128 ]; then
	ok "16 concurrent clients: 128 batches in $((c1 - c0)) commits (group commit)"
else
	fail "16 concurrent clients: 128 batches in fewer commits" "vrd_commits_total $c0 -> $c1"
fi
vt_finish
