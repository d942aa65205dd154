# tests/lib/netns.sh - bash harness (source it, as root) for vrd integration
# tests: VR netns with a guest-facing bridge eth1, guest netns with eth0,
# busybox udhcpc helpers, tracked processes, and cleanup on EXIT/INT/TERM.

# Works under `set -euo pipefail`. Do not call nt_* functions that create
# resources inside $(...) subshells: the bookkeeping would be lost.
NT_PREFIX=""          # e.g. vrt12345; namespaces are $NT_PREFIX-vr, $NT_PREFIX-g1 ...
NT_DIR=""             # per-run temp dir (0755), removed by nt_cleanup unless NT_KEEP=1
NT_VR=""              # VR namespace name
NT_LAST_PID=""        # PID of the last nt_run_bg / nt_dhcp_bg process
NT_MAIN_PID=""        # $BASHPID of the shell that ran nt_init (owns cleanup)
NT_NETNS=()           # namespaces we created (deleted by nt_cleanup)
NT_PIDS=()            # background PIDs we started (killed by nt_cleanup)
declare -gA NT_DHCP_PID=()  # guest name -> PID of its long-running udhcpc (nt_dhcp_bg)
NT_POLL_STEP=0.1      # poll interval of nt_wait_for (seconds)

nt_log() { printf '[nt] %s\n' "$*" >&2; }
nt_die() { printf '[nt] FATAL: %s\n' "$*" >&2; exit 1; }

# nt_init: unique prefix, temp dir, udhcpc hook script, cleanup traps.
nt_init() {
    [[ $EUID -eq 0 ]] || nt_die "must run as root"
    local bin
    for bin in ip udhcpc mktemp timeout; do
        command -v "$bin" >/dev/null || nt_die "missing command: $bin"
    done
    # "vrt" + pid (<= 7 digits) keeps names short; interface names inside the
    # namespaces are fixed (eth0/eth1/v-NAME) so they never exceed 15 chars.
    NT_PREFIX="vrt$$"
    NT_MAIN_PID=$BASHPID
    NT_NETNS=()
    NT_PIDS=()
    NT_DHCP_PID=()
    NT_DIR=$(mktemp -d "/tmp/${NT_PREFIX}.XXXXXX")
    chmod 0755 "$NT_DIR"     # unprivileged dnsmasq must be able to traverse it
    trap 'nt__on_exit' EXIT
    trap 'nt__on_signal INT 130' INT
    trap 'nt__on_signal TERM 143' TERM
    nt__write_hook
}

# Handlers only clean up in the shell that called nt_init: a child forked by
# `cmd &` can receive a signal before it execs, and must then just die.
nt__on_exit() {
    local rc=$?
    [[ $BASHPID == "$NT_MAIN_PID" ]] && nt_cleanup
    exit "$rc"
}
nt__on_signal() {
    if [[ $BASHPID != "$NT_MAIN_PID" ]]; then
        trap - EXIT "$1"
        kill -"$1" "$BASHPID"
        exit "$2"
    fi
    nt_cleanup
    trap - "$1"
    kill -"$1" $$
}

# nt_ns NAME: print the namespace name for a short name ("vr" is the VR).
nt_ns() {
    [[ -n $NT_PREFIX ]] || nt_die "nt_init not called"
    printf '%s-%s\n' "$NT_PREFIX" "$1"
}

# nt_exec NAME cmd...: run a command (foreground) inside a namespace.
nt_exec() {
    local ns
    ns=$(nt_ns "$1"); shift
    ip netns exec "$ns" "$@"
}

nt__netns_add() {
    ip netns add "$1"
    NT_NETNS+=("$1")
    ip -n "$1" link set lo up
}

# nt_vr_create [BRIDGE_MAC]: VR namespace with lo up and bridge eth1 (up, no
# address). The bridge MAC is pinned so it does not change when ports are added.
nt_vr_create() {
    local mac=${1:-02:00:00:00:01:01}
    NT_VR=$(nt_ns vr)
    nt__netns_add "$NT_VR"
    ip -n "$NT_VR" link add eth1 address "$mac" type bridge stp_state 0 forward_delay 0
    ip -n "$NT_VR" link set eth1 up
}

# nt_guest_create NAME MAC: guest namespace "$(nt_ns NAME)" with lo up and
# eth0 (given MAC), whose veth peer "v-NAME" is a port of the VR's eth1 bridge:
#   VR netns: eth1 (bridge) --+-- v-g1 <veth> eth0 (netns of g1)
#                             +-- v-g2 <veth> eth0 (netns of g2)
nt_guest_create() {
    local name=$1 mac=$2 ns
    [[ -n $NT_VR ]] || nt_die "nt_vr_create first"
    [[ $name =~ ^[A-Za-z0-9_]{1,13}$ && $name != vr ]] || nt_die "bad guest name: $name"
    ns=$(nt_ns "$name")
    nt__netns_add "$ns"
    ip -n "$NT_VR" link add "v-$name" type veth peer name eth0 address "$mac" netns "$ns"
    ip -n "$NT_VR" link set "v-$name" master eth1 up
    ip -n "$ns" link set eth0 up
}

# nt_run_bg NAME cmd...: start cmd in namespace NAME in the background; its PID
# is recorded (killed by nt_cleanup) and left in NT_LAST_PID.
nt_run_bg() {
    local ns
    ns=$(nt_ns "$1"); shift
    ip netns exec "$ns" "$@" &    # ip netns exec execs cmd: $! is cmd's PID
    NT_LAST_PID=$!
    NT_PIDS+=("$NT_LAST_PID")
}

# nt_stop PID [timeout_s]: SIGTERM a process, SIGKILL it if it has not exited
# within the timeout. (bash reaps its async children by itself; an explicit
# `wait PID` is only needed by callers that want the exit status.)
nt_stop() {
    local pid=$1 t=${2:-5}
    kill -TERM "$pid" 2>/dev/null || true
    nt_wait_for "$t" nt__dead "$pid" || kill -KILL "$pid" 2>/dev/null || true
    nt_wait_for 2 nt__dead "$pid" || true
}

nt__dead() { ! kill -0 "$1" 2>/dev/null; }

# nt_wait_for TIMEOUT_S cmd...: poll cmd every NT_POLL_STEP s until it succeeds
# (return 0) or TIMEOUT_S elapses (return 1). Bounded polling, no blind sleeps.
nt_wait_for() {
    local t=$1; shift
    local deadline=$((SECONDS + t))
    while true; do
        "$@" && return 0
        (( SECONDS < deadline )) || return 1
        sleep "$NT_POLL_STEP"
    done
}

# nt_wait_file FILE [timeout_s]: wait until FILE exists and is non-empty.
nt_wait_file() { nt_wait_for "${2:-10}" test -s "$1"; }

# nt_wait_grep FILE REGEX [timeout_s]: wait until FILE has a line matching REGEX.
nt_wait_grep() { nt_wait_for "${3:-10}" grep -qE -- "$2" "$1" 2>/dev/null; }

# nt_wait_pid_file FILE [timeout_s]: wait until FILE holds the PID of a live
# process and print that PID.
nt_wait_pid_file() {
    local f=$1 t=${2:-10}
    nt_wait_for "$t" nt__pidfile_live "$f" || return 1
    read -r pid <"$f"
    printf '%s\n' "$pid"
}
nt__pidfile_live() {
    local pid
    [[ -s $1 ]] || return 1
    read -r pid <"$1" || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# udhcpc hook: on bound/renew it writes the udhcpc environment as sorted
# key=value lines to $NT_DIR/NAME.lease (atomically) and sets the offered
# address on the interface (address only: no routes, no resolv.conf), so that
# unicast renewals work. Every event (deconfig, bound, renew, nak, leasefail)
# is appended to $NT_DIR/NAME.events as "event [ip]".
nt__write_hook() {
    cat >"$NT_DIR/udhcpc-hook.sh" <<'EOF'
#!/bin/sh
# udhcpc event hook generated by tests/lib/netns.sh
out=$NT_HOOK_OUT
echo "$1 ${ip:-}" >>"$out.events"
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ;;
    bound|renew)
        {
            echo "event=$1"
            env | grep -E '^(interface|ip|siaddr|subnet|mask|broadcast|router|dns|domain|search|hostname|staticroutes|msstaticroutes|serverid|lease|mtu|ntpsrv|wins|opt[0-9]+)=' | sort
        } >"$out.lease.tmp"
        mv "$out.lease.tmp" "$out.lease"
        ip -4 addr flush dev "$interface"
        ip -4 addr add "$ip/${subnet:-255.255.255.0}" dev "$interface"
        ;;
esac
exit 0
EOF
    chmod 0755 "$NT_DIR/udhcpc-hook.sh"
}

# nt_dhcp NAME [tries] [extra udhcpc args...]: one-shot DHCP in guest NAME:
# up to `tries` DISCOVERs 1 s apart (default 5), exit once bound (-q) or give
# up (-n). Requests option 121 in addition to udhcpc's defaults (which already
# include 1,3,6,12,15,28,42). Returns 0 and leaves $NT_DIR/NAME.lease on
# success, non-zero if no lease.
nt_dhcp() {
    local name=$1 tries=${2:-5} ns
    shift $(( $# >= 2 ? 2 : 1 ))
    ns=$(nt_ns "$name")
    rm -f "$NT_DIR/$name.lease"
    # outer timeout is only a safety net; udhcpc's -t/-T/-n bound the run
    timeout $((tries + 10)) ip netns exec "$ns" \
        env NT_HOOK_OUT="$NT_DIR/$name" \
        udhcpc -f -q -n -i eth0 -t "$tries" -T 1 -O staticroutes \
        -s "$NT_DIR/udhcpc-hook.sh" "$@" >>"$NT_DIR/$name.udhcpc.log" 2>&1 || return 1
    [[ -s $NT_DIR/$name.lease ]]
}

# nt_dhcp_bg NAME [extra udhcpc args...]: long-running udhcpc in guest NAME
# (stays bound, renews; SIGUSR1 forces a renew). Waits up to 10 s for the
# first bound. PID in NT_DHCP_PID[NAME] and NT_LAST_PID.
nt_dhcp_bg() {
    local name=$1; shift
    rm -f "$NT_DIR/$name.lease"
    nt_run_bg "$name" env NT_HOOK_OUT="$NT_DIR/$name" \
        udhcpc -f -i eth0 -t 5 -T 1 -A 1 -O staticroutes \
        -s "$NT_DIR/udhcpc-hook.sh" "$@" >>"$NT_DIR/$name.udhcpc.log" 2>&1
    NT_DHCP_PID[$name]=$NT_LAST_PID
    nt_wait_file "$NT_DIR/$name.lease" 10
}

# nt_dhcp_renew NAME [timeout_s]: SIGUSR1 the nt_dhcp_bg udhcpc of NAME and
# wait for its next hook event; prints that event (renew, bound, nak, ...).
# Returns 0 only if the event is "renew" or "bound".
nt_dhcp_renew() {
    local name=$1 t=${2:-10} ev="$NT_DIR/$1.events" n last
    n=$(wc -l <"$ev")
    kill -USR1 "${NT_DHCP_PID[$name]}"
    nt_wait_for "$t" nt__lines_gt "$ev" "$n" || { echo timeout; return 1; }
    last=$(sed -n "$((n + 1))p" "$ev")
    echo "$last"
    [[ $last == renew* || $last == bound* ]]
}
nt__lines_gt() { (( $(wc -l <"$1") > $2 )); }

# nt_dhcp6 NAME: one DHCPv6 exchange by ISC dhclient -6 in guest NAME (DUID-LL:
# the MAC inside), nothing configured (-sf /bin/true); the lease goes to
# $NT_DIR/NAME.lease6, the log to $NT_DIR/NAME.dhclient6.log.
nt_dhcp6() {
    local ns
    ns=$(nt_ns "$1")
    rm -f "$NT_DIR/$1.lease6"
    timeout 20 ip netns exec "$ns" dhclient -6 -1 -D LL -v -sf /bin/true \
        -lf "$NT_DIR/$1.lease6" -pf "$NT_DIR/$1.dhclient6.pid" eth0 >>"$NT_DIR/$1.dhclient6.log" 2>&1
}

# nt_lease6 NAME FIELD: FIELD's first value in NAME's DHCPv6 lease (e.g.
# iaaddr, "option dhcp6.name-servers").
nt_lease6() { sed -n "s/.*$2 \([^ ;]*\).*/\1/p" "$NT_DIR/$1.lease6" 2>/dev/null | head -n 1; }

# nt_lease_get NAME KEY: value of KEY in guest NAME's last lease (empty if unset).
nt_lease_get() {
    sed -n "s/^$2=//p" "$NT_DIR/$1.lease" 2>/dev/null || true
}

# nt_cleanup: kill recorded processes (TERM, then KILL), kill anything still
# living in our namespaces, delete the namespaces, remove NT_DIR unless
# NT_KEEP=1. Idempotent; safe after partial setup or failures.
nt_cleanup() {
    local - pid ns hook
    set +e
    for hook in "${NT_CLEANUP_HOOKS[@]}"; do
        $hook
    done
    NT_CLEANUP_HOOKS=()
    for pid in "${NT_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${NT_PIDS[@]}"; do
        nt_wait_for 5 nt__dead "$pid" || kill -KILL "$pid" 2>/dev/null
    done
    NT_PIDS=()
    NT_DHCP_PID=()
    NT_DNSMASQ_PID=""
    for ns in "${NT_NETNS[@]}"; do
        # stray processes (e.g. an interrupted foreground udhcpc) block nothing
        # but must not outlive the test; only our own namespaces are touched
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
    NT_NETNS=()
    NT_VR=""
    if [[ -n $NT_DIR && -d $NT_DIR ]]; then
        if [[ ${NT_KEEP:-0} == 1 ]]; then
            nt_log "kept $NT_DIR"
        else
            rm -rf -- "$NT_DIR"
        fi
    fi
    return 0
}

# nt_reap_stale: delete leftover namespaces named vrt<pid>-* whose creating
# shell <pid> is gone (e.g. a run killed with SIGKILL). Not called implicitly.
nt_reap_stale() {
    local ns owner pid
    while read -r ns _; do
        [[ $ns =~ ^vrt([0-9]+)- ]] || continue
        owner=${BASH_REMATCH[1]}
        kill -0 "$owner" 2>/dev/null && continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null && nt_log "reaped stale netns $ns"
    done < <(ip netns list)
    return 0
}

# --- cleanup hooks --------------------------------------------------------------

# nt_on_cleanup CMD...: run CMD (a simple command) first thing in nt_cleanup,
# e.g. `nt_on_cleanup vt_cleanup` when tests/lib/vrd.sh is used too (nt_init
# replaces vt_init's traps, so vrd.sh's cleanup must ride on ours).
NT_CLEANUP_HOOKS=()
nt_on_cleanup() { NT_CLEANUP_HOOKS+=("$*"); }

# --- dnsmasq in the VR namespace -------------------------------------------------
# vrd SIGHUPs dnsmasq for dhcphosts/dhcpopts/hosts changes, but never restarts
# it; in production a systemd path unit restarts dnsmasq when vrd rewrites
# dnsmasq.conf. nt_dnsmasq_sync emulates that unit: call it after each push.
NT_DNSMASQ_PID=""       # PID of the running dnsmasq (same as in its pid file)
NT_DNSMASQ_CONF=""      # its --conf-file
NT_DNSMASQ_PIDFILE=""   # its --pid-file
NT_DNSMASQ_LOG=""       # its --log-facility
NT_DNSMASQ_ARGS=()      # its arguments (after "dnsmasq")
NT_DNSMASQ_RESTARTS=0   # restarts done by nt_dnsmasq_sync
NT_DNSMASQ_EXITS=()     # exit status of every dnsmasq stopped so far (0 = clean)
NT_DNSMASQ_SYNCED=""    # what the last nt_dnsmasq_sync did: unchanged | restarted

# nt_dnsmasq_start CONF PIDFILE LOGFILE [extra dnsmasq args...]: start dnsmasq
# in the VR namespace as `dnsmasq --keep-in-foreground --conf-file=CONF
# --pid-file=PIDFILE --log-facility=LOGFILE --no-resolv ARGS...` (no-resolv:
# DNS never forwards outside) and wait until the pid file names it. Returns 1
# (with the log's tail on stderr) if it exits or does not come up within 10 s.
nt_dnsmasq_start() {
    [[ -n $NT_VR ]] || nt_die "nt_vr_create first"
    NT_DNSMASQ_CONF=$1 NT_DNSMASQ_PIDFILE=$2 NT_DNSMASQ_LOG=$3
    shift 3
    NT_DNSMASQ_ARGS=(--keep-in-foreground "--conf-file=$NT_DNSMASQ_CONF"
        "--pid-file=$NT_DNSMASQ_PIDFILE" "--log-facility=$NT_DNSMASQ_LOG" --no-resolv "$@")
    nt__dnsmasq_launch
}

nt__dnsmasq_launch() {
    cp -- "$NT_DNSMASQ_CONF" "$NT_DIR/dnsmasq.conf.started" || return 1
    rm -f -- "$NT_DNSMASQ_PIDFILE"
    nt_run_bg vr dnsmasq "${NT_DNSMASQ_ARGS[@]}"
    NT_DNSMASQ_PID=$NT_LAST_PID
    nt_wait_for 10 nt__dnsmasq_settled "$NT_DNSMASQ_PID" "$NT_DNSMASQ_PIDFILE"
    if ! kill -0 "$NT_DNSMASQ_PID" 2>/dev/null || ! nt__pidfile_is "$NT_DNSMASQ_PIDFILE" "$NT_DNSMASQ_PID"; then
        nt_log "dnsmasq (pid $NT_DNSMASQ_PID) did not come up; log tail:"
        { tail -n 20 "$NT_DNSMASQ_LOG" 2>/dev/null || true; } | sed 's/^/[nt]   /' >&2
        return 1
    fi
}
nt__forget_pid() {   # PID: drop it from NT_PIDS (it exited and was reaped)
    local p keep=()
    for p in "${NT_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    NT_PIDS=("${keep[@]}")
}
nt__pidfile_is() { local p; [[ -s $1 ]] && read -r p <"$1" && [[ $p == "$2" ]]; }
nt__dnsmasq_settled() { nt__dead "$1" || nt__pidfile_is "$2" "$1"; }

# nt_dnsmasq_alive: the dnsmasq started by nt_dnsmasq_start still runs.
nt_dnsmasq_alive() {
    [[ -n $NT_DNSMASQ_PID ]] && kill -0 "$NT_DNSMASQ_PID" 2>/dev/null &&
        [[ $(cut -d' ' -f3 "/proc/$NT_DNSMASQ_PID/stat" 2>/dev/null) != Z ]]
}

# nt_dnsmasq_stop: SIGTERM the running dnsmasq, wait for it, append its exit
# status to NT_DNSMASQ_EXITS and return it (139 = it had died of SIGSEGV).
nt_dnsmasq_stop() {
    local pid=$NT_DNSMASQ_PID rc=0
    [[ -n $pid ]] || return 0
    nt_stop "$pid" 5
    wait "$pid" 2>/dev/null || rc=$?
    nt__forget_pid "$pid"
    NT_DNSMASQ_EXITS+=("$rc")
    NT_DNSMASQ_PID=""
    return "$rc"
}

# nt_dnsmasq_sync: restart dnsmasq (stop, wait for it to exit, start with the
# same arguments) if its conf file differs from the copy it was started with;
# sets NT_DNSMASQ_SYNCED to "restarted" or "unchanged". Returns 1 if dnsmasq
# had died before (exit status in NT_DNSMASQ_EXITS) or does not come back.
nt_dnsmasq_sync() {
    NT_DNSMASQ_SYNCED=unchanged
    [[ -n $NT_DNSMASQ_PID ]] || nt_die "nt_dnsmasq_start first"
    cmp -s -- "$NT_DNSMASQ_CONF" "$NT_DIR/dnsmasq.conf.started" && return 0
    local was_alive=1
    nt_dnsmasq_alive || was_alive=0
    nt_dnsmasq_stop || true
    if (( ! was_alive )); then
        nt_log "dnsmasq had died before its restart (status ${NT_DNSMASQ_EXITS[-1]})"
        return 1
    fi
    NT_DNSMASQ_RESTARTS=$((NT_DNSMASQ_RESTARTS + 1))
    NT_DNSMASQ_SYNCED=restarted
    nt__dnsmasq_launch
}

# nt_dnsmasq_log_count REGEX: number of dnsmasq log lines matching REGEX (ERE).
nt_dnsmasq_log_count() {
    grep -cE -- "$1" "$NT_DNSMASQ_LOG" 2>/dev/null || true
}

# nt_dnsmasq_wait_log REGEX N [timeout_s]: wait until more than N log lines
# match REGEX (e.g. N from nt_dnsmasq_log_count taken before a push).
nt_dnsmasq_wait_log() {
    nt_wait_for "${3:-5}" nt__log_count_gt "$1" "$2"
}
nt__log_count_gt() { (( $(nt_dnsmasq_log_count "$1") > $2 )); }

# --- applying a lease the way a guest does (beyond the address) -------------------

NT_ETC_DIRS=()          # /etc/netns/<ns> directories made by nt_guest_etc
NT_ETC_MADE_ROOT=0      # nt_guest_etc created /etc/netns itself

# nt_guest_etc NAME FILE CONTENT: writes /etc/netns/<ns of NAME>/FILE, which
# `ip netns exec` bind-mounts over /etc/FILE for every command run in that
# guest (e.g. resolv.conf). Removed again by nt_cleanup (cleanup hook).
nt_guest_etc() {
    local dir
    dir=/etc/netns/$(nt_ns "$1")
    if [[ ! -d /etc/netns ]]; then
        mkdir -p /etc/netns || return 1
        NT_ETC_MADE_ROOT=1
    fi
    if [[ ! -d $dir ]]; then
        mkdir -p "$dir" || return 1
        (( ${#NT_ETC_DIRS[@]} )) || nt_on_cleanup nt__etc_cleanup
        NT_ETC_DIRS+=("$dir")
    fi
    printf '%s' "$3" >"$dir/$2"
}
nt__etc_cleanup() {
    local d
    for d in "${NT_ETC_DIRS[@]}"; do
        [[ $d == /etc/netns/"$NT_PREFIX"-* ]] && rm -rf -- "$d"
    done
    NT_ETC_DIRS=()
    (( NT_ETC_MADE_ROOT )) && rmdir /etc/netns 2>/dev/null
    NT_ETC_MADE_ROOT=0
    return 0
}

nt__ip2int() { local IFS=. a b c d; read -r a b c d <<<"$1"; echo $(( (a << 24) | (b << 16) | (c << 8) | d )); }

# nt_lease_apply NAME: what a guest's network configuration does with its last
# lease after the address (which the udhcpc hook already set): the option 121
# routes (staticroutes: "DEST/LEN GW ..." pairs; RFC 3442: they replace option
# 3), else a default route via the router; and /etc/resolv.conf (see
# nt_guest_etc) with the lease's DNS servers that lie in the guest's own subnet
# (others could only be reached through the router) and its domain as search.
nt_lease_apply() {
    local name=$1 ns sr dest gw ip mask dns d resolv="" dom
    ns=$(nt_ns "$name")
    sr=$(nt_lease_get "$name" staticroutes)
    if [[ -n $sr ]]; then
        set -- $sr
        while (( $# >= 2 )); do
            dest=$1 gw=$2
            shift 2
            [[ $dest == 0.0.0.0/0 ]] && dest=default
            ip -n "$ns" route replace "$dest" via "$gw" dev eth0 || return 1
        done
    elif [[ -n $(nt_lease_get "$name" router) ]]; then
        gw=$(nt_lease_get "$name" router)
        ip -n "$ns" route replace default via "${gw%% *}" dev eth0 || return 1
    fi
    ip=$(nt__ip2int "$(nt_lease_get "$name" ip)")
    mask=$(nt__ip2int "$(nt_lease_get "$name" subnet)")
    for d in $(nt_lease_get "$name" dns); do
        (( ($(nt__ip2int "$d") & mask) == (ip & mask) )) && resolv+="nameserver $d"$'\n'
    done
    dom=$(nt_lease_get "$name" domain)
    [[ -n $dom ]] && resolv+="search $dom"$'\n'
    nt_guest_etc "$name" resolv.conf "$resolv"
}
