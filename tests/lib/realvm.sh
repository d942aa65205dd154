# tests/lib/realvm.sh - what the real-VM runs share (tests/integration/vm_real.sh,
# make demo VM=1 in tests/demo.sh, make bench's bench/vm_real.sh): the lock that makes them
# take turns, libvirtd on qemu:///system, the host bridge joined to the VR's guest bridge,
# and the guest's serial console.  Source after tests/lib/netns.sh and nt_init; rv_init
# registers the cleanup (domains in RV_DOMAINS destroyed and undefined, the links deleted,
# the daemons it started stopped; also those named in the file RV_DOMAINS_FILE).
RV_URI=qemu:///system
RV_DOMAINS=()
RV_OWN_LIBVIRTD="" RV_OWN_VIRTLOGD=""
RV_LINKS=()
RV_ERR=""

rv__cleanup() {
	local n
	# names a subshell could not add to RV_DOMAINS, one a line
	[ -n "${RV_DOMAINS_FILE:-}" ] && [ -s "$RV_DOMAINS_FILE" ] &&
		mapfile -t -O "${#RV_DOMAINS[@]}" RV_DOMAINS <"$RV_DOMAINS_FILE"
	for n in "${RV_DOMAINS[@]}"; do
		virsh -q -c "$RV_URI" destroy "$n" >/dev/null 2>&1
		virsh -q -c "$RV_URI" undefine "$n" >/dev/null 2>&1
	done
	for n in "${RV_LINKS[@]}"; do ip link del "$n" 2>/dev/null; done
	[ -n "$RV_OWN_LIBVIRTD" ] && kill "$RV_OWN_LIBVIRTD" 2>/dev/null
	[ -n "$RV_OWN_VIRTLOGD" ] && kill "$RV_OWN_VIRTLOGD" 2>/dev/null
	return 0
}

# One real-VM run at a time on this machine: they share libvirtd, and a run that started it
# stops it at its end.  Waits up to 30 minutes for the other run; fd 9 holds the lock.
rv_lock() {
	exec 9>/run/lock/vr-real-vm.lock
	flock -w 1800 9
}

rv_init() { nt_on_cleanup rv__cleanup; }

# /dev/kvm as Debian's udev makes it (group kvm, 0660) where a container left it root-only:
# libvirt probes QEMU with CAP_DAC_OVERRIDE, so its cached capabilities say KVM, but it then
# finds /dev/kvm unusable for the libvirt-qemu user and throws the cache away: every lookup
# probed QEMU again (about 4 s each under load, and a domain start does a dozen: the start
# stage took a minute).  The domain type stays what the caller asks (qemu here: nested KVM
# cannot run guests on these machines).
rv_kvm_dev() {
	[ -c /dev/kvm ] || return 0
	getent group kvm >/dev/null || return 0
	if [ "$(stat -c %G /dev/kvm)" != kvm ]; then
		chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
	fi
}

# libvirtd with the QEMU and nwfilter drivers on qemu:///system, started (without systemd,
# with virtlogd) unless one answers.  DIR takes the pid files and libvirtd's stderr.
# Prints what it did; returns 1 with the reason in RV_ERR.
rv_libvirtd() {
	local dir=$1
	rv_kvm_dev
	if virsh -q -c "$RV_URI" version >/dev/null 2>&1; then
		echo "libvirtd answers on $RV_URI"
		return 0
	fi
	mkdir -p /var/log/libvirt /run/libvirt
	if ! [ -S /run/libvirt/virtlogd-sock ]; then
		virtlogd -d -p "$dir/virtlogd.pid" 9>&- &&
			RV_OWN_VIRTLOGD=$(cat "$dir/virtlogd.pid" 2>/dev/null)
	fi
	libvirtd -d -p "$dir/libvirtd.pid" 2>"$dir/libvirtd.err" 9>&-
	nt_wait_file "$dir/libvirtd.pid" 20 && RV_OWN_LIBVIRTD=$(cat "$dir/libvirtd.pid")
	if ! nt_wait_for 60 virsh -q -c "$RV_URI" version >/dev/null 2>&1; then
		RV_ERR="libvirtd does not answer on $RV_URI: $(cat "$dir/libvirtd.err" 2>/dev/null)"
		return 1
	fi
	echo "started libvirtd (pid $RV_OWN_LIBVIRTD) and virtlogd for $RV_URI"
}

# The VR's guest bridge eth1 (in namespace VR) joined by a veth to a new host bridge HBR,
# on which libvirt puts the guests' taps.  The links' names end in $$.
rv_bridge() {
	local vr=$1 hbr=$2 hveth="vrv$$" vrveth="vrp$$"
	ip link add "$hbr" type bridge stp_state 0 forward_delay 0 || return 1
	RV_LINKS+=("$hveth" "$hbr")
	ip link set "$hbr" up
	ip link add "$hveth" type veth peer name "$vrveth" netns "$vr" || return 1
	ip link set "$hveth" master "$hbr" up
	ip -n "$vr" link set "$vrveth" master eth1 up
}

# The serial consoles in DIR (NAME.log), last 60 lines each, as TAP comments.
rv_console_dump() {
	local f
	for f in "$1"/*.log; do
		[ -s "$f" ] || continue
		echo "#   --- the guest's serial console ($f), last 60 lines:"
		tail -n 60 "$f" | tr -d '\r' | sed 's/^/#   | /'
	done
}

# The VR for a real guest: namespace (nt_vr_create), vrd on 127.0.0.1:3923 in it with the guest
# network 10.1.1.0/24 (router RV_ROUTER) on eth1, real dnsmasq, vr-metadata; eth1 joined to
# host bridge HBR (rv_bridge).  Sets RV_VR, RV_STATE, RV_TOKEN, RV_VRD_URL; logs in DIR.
# Returns 1 with the reason in RV_ERR.
RV_ROUTER=10.1.1.1
rv_vr_start() {
	local dir=$1 hbr=$2
	nt_vr_create 02:00:11:22:33:44
	RV_VR=$NT_VR
	ip -n "$RV_VR" link set eth1 down
	rv_bridge "$RV_VR" "$hbr" || { RV_ERR="host bridge $hbr joined to the VR's eth1"; return 1; }
	RV_STATE="$dir/state" RV_TOKEN="$dir/token" RV_VRD_URL=http://127.0.0.1:3923
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RV_TOKEN")
	nt_run_bg vr "$BUILD/vrd" --listen 127.0.0.1:3923 --state-dir "$RV_STATE" \
		--token-file "$RV_TOKEN" --dnsmasq-pid-file "$dir/dnsmasq.pid" \
		--dnsmasq-lease-file "$dir/dnsmasq.leases" --metadata-user nobody \
		--manage-links yes 2>>"$dir/vrd.log"
	if ! nt_wait_for 20 rv_vrctl health >/dev/null 2>&1; then
		RV_ERR="vrd does not answer: $(tail -n 20 "$dir/vrd.log")"
		return 1
	fi
	cat >"$dir/guestnetwork.json" <<EOJ
{"type":"guestnetwork","device":"eth1","mac_address":"02:00:11:22:33:44",
 "router_guest_ip":"$RV_ROUTER","cidr":"10.1.1.0/24","dns":"$RV_ROUTER",
 "domain_name":"cloud.internal","add":true}
EOJ
	rv_vrctl apply "$dir/guestnetwork.json" >/dev/null ||
		{ RV_ERR="vrd does not take the guest network"; return 1; }
	nt_dnsmasq_start "$RV_STATE/dnsmasq.conf" "$dir/dnsmasq.pid" "$dir/dnsmasq.log" ||
		{ RV_ERR="dnsmasq does not start"; return 1; }
	nt_run_bg vr "$BUILD/vr-metadata" --listen 169.254.169.254:80 --listen "$RV_ROUTER:80" \
		--state-dir "$RV_STATE" --user nobody 2>>"$dir/vr-metadata.log"
	if ! nt_wait_for 20 nt_exec vr /usr/bin/python3 -c \
	    'import socket; socket.create_connection(("'"$RV_ROUTER"'", 80), 1)' 2>/dev/null; then
		RV_ERR="vr-metadata does not listen on $RV_ROUTER:80"
		return 1
	fi
}
rv_vrctl() { nt_exec vr "$BUILD/vrctl" --url "$RV_VRD_URL" --token-file "$RV_TOKEN" "$@"; }

# SSH to the guest at IP as debian with key KEY, from the VR's namespace: rv_ssh KEY IP CMD...
# (each call bounded by RV_SSH_TIMEOUT, 600 s)
rv_ssh() {
	local key=$1 ip=$2
	shift 2
	timeout "${RV_SSH_TIMEOUT:-600}" ip netns exec "$RV_VR" ssh -q -i "$key" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=10 \
		-o LogLevel=ERROR "debian@$ip" "$@"
}
