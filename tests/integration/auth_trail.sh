#!/usr/bin/env bash
# tests/integration/auth_trail.sh - issue 11, class 6: a token guesser leaves a
# trail.  A client sends AUTH_TRAIL_N (30,000) requests with wrong bearer
# tokens to vrd's control channel over keep-alive connections from 127.0.0.1
# and 127.0.0.2 alternately (wrong token, no token, "Basic", an empty
# Bearer).  Checks:
#   - every one is 401, and vrd_auth_failures_total grew by exactly N
#   - vrd logged at most one line per second of the attack (+2), each naming
#     a source address the requests came from
#   - after one more refused request a second later, the lines add up: each
#     line stands for itself plus the "N more" it reports, N + 1 in all
#   - the right token still works throughout
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"

N=${AUTH_TRAIL_N:-30000}
vt_init
vrd_new v
if vrd_start v; then
	ok "vrd starts"
else
	fail "vrd starts"
	vt_finish
fi
LOG=${VRD_LOG[v]}
metric() { # NAME: its value on vrd's /metrics (with the token)
	vt_http v GET /metrics
	awk -v k="$1" '$1 == k {print $2}' "$HTTP_BODY_FILE"
}
lines() { grep -c 'refused a request from' "$LOG"; }
BASE=$(metric vrd_auth_failures_total)
check_eq "vrd_auth_failures_total is exported and 0 at start" 0 "$BASE"

J="$VT_TMP/guess.json"
T0=$(date +%s.%N)
"$VT_PY" - "${VRD_URL[v]}" "$N" >"$J" 2>"$J.err" <<'EOF'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
n = int(sys.argv[2])
auths = [{"Authorization": "Bearer " + "0" * 64}, {}, {"Authorization": "Basic dnJkOnZyZA=="},
         {"Authorization": "Bearer "}, {"Authorization": "Bearer wrong-token"}]
conns = [http.client.HTTPConnection(u.hostname, u.port, timeout=10, source_address=(s, 0))
         for s in ("127.0.0.1", "127.0.0.2")]
statuses = {}
for i in range(n):
    c = conns[i % 2]
    path = "/v1/commands" if i % 3 else "/v1/state"
    method = "POST" if i % 3 else "GET"
    body = b"[]" if method == "POST" else None
    try:
        c.request(method, path, body=body, headers=auths[i % len(auths)])
        r = c.getresponse()
        r.read()
        st = r.status
    except (OSError, http.client.HTTPException):
        c.close()
        st = 0
    statuses[st] = statuses.get(st, 0) + 1
print(json.dumps({"statuses": statuses}))
EOF
T1=$(date +%s.%N)
ELAPSED=$("$VT_PY" -c "import math, sys; print(math.ceil(float(sys.argv[2]) - float(sys.argv[1])))" "$T0" "$T1")
diag "$N wrong tokens in $ELAPSED s: $(cat "$J") $(tail -n 3 "$J.err")"
check_eq "all $N requests with wrong or missing tokens are 401" "{\"401\": $N}" "$(vt_json "$J" 'j["statuses"]' 2>&1)"
check_eq "vrd_auth_failures_total counts every one" "$N" "$(metric vrd_auth_failures_total)"
L=$(lines)
if [ "$L" -ge 1 ] && [ "$L" -le $((ELAPSED + 2)) ]; then
	ok "$N refusals in $ELAPSED s left $L log lines (at most one a second)"
else
	fail "$N refusals in $ELAPSED s left 1 to $((ELAPSED + 2)) log lines" "$L lines"
fi
check_eq "every line names the source (127.0.0.1 or 127.0.0.2)" 0 \
	"$(grep 'refused a request from' "$LOG" | grep -cvE 'from 127\.0\.0\.[12]: ')"
diag "first lines: $(grep -m3 'refused a request from' "$LOG" | tr '\n' '|')"

# one more refusal, a second later, logs the rest of the count
more() {
	vt_http v GET /v1/state --no-token >/dev/null
	[ "$(lines)" -gt "$L" ]
}
T_MORE=$SECONDS
n_more=0
while ! more; do
	n_more=$((n_more + 1))
	[ $((SECONDS - T_MORE)) -lt 5 ] || break
	sleep 0.2
done
n_more=$((n_more + 1))
TOTAL=$(grep 'refused a request from' "$LOG" | sed -n 's/.*and \([0-9]*\) more.*/\1/p' | awk -v l="$(lines)" '{s += $1} END {print s + l}')
check_eq "the lines add up to every refusal: each line plus the 'N more' it reports" "$((N + n_more))" "$TOTAL"
check_eq "  ... and so does the metric" "$((N + n_more))" "$(metric vrd_auth_failures_total)"
vt_http v GET /v1/state
check_eq "the right token still works" 200 "$HTTP_STATUS"
check_eq "and is not counted" "$((N + n_more))" "$(metric vrd_auth_failures_total)"
vt_finish
