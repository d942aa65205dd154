# tests/lib/mgr_testnode.sh - node files for libvirt's test driver, one per simulated host
# (bash; source it).
# shellcheck shell=bash
#
# A host is the URI test:///ABSOLUTE/PATH/node.xml.  Each connection to such a URI is its own
# in-memory hypervisor, started from the file and never written back: the file is read once,
# when the connection opens, and the domains defined later live only as long as the
# connection (vr-manager keeps one open per host for its lifetime).
#
# Format (libvirt's src/test/test_driver.c, testParseNodeInfo; every element optional):
#   <node>
#     <cpu>
#       <nodes>1</nodes>       NUMA cells            (default 2)
#       <sockets>1</sockets>   sockets per cell      (default 2)
#       <cores>C</cores>       cores per socket      (default 2)
#       <threads>1</threads>   threads per core      (default 2)
#       <active>C</active>     caps the CPU count, which is nodes*sockets*cores*threads
#       <mhz>M</mhz>           CPU speed             (default 1400)
#       <model>x86_64</model>
#     </cpu>
#     <memory>K</memory>       RAM in KiB            (default 3145728, 3 GiB)
#   </node>
# virNodeGetInfo then reports cpus=C, mhz=M, memory=K KiB.  The file may also hold <domain>,
# <network>, <pool>… elements to start with; these nodes start empty.  The test driver does
# not enforce the CPU or RAM figures when domains start: capacity is the manager's business.

# mgr_testnode_write FILE CPUS MHZ RAM_MIB: writes a node file for a host with CPUS cores of
# MHZ MHz and RAM_MIB MiB of RAM.
mgr_testnode_write() {
	local file=$1 cpus=$2 mhz=$3 ram_mib=$4 n
	if [ $# -ne 4 ]; then
		echo "usage: mgr_testnode_write FILE CPUS MHZ RAM_MIB" >&2
		return 2
	fi
	for n in "$cpus" "$mhz" "$ram_mib"; do
		case $n in
		'' | *[!0-9]* | 0*) echo "mgr_testnode_write: '$n' is not a positive integer" >&2
			return 2 ;;
		esac
	done
	cat >"$file.tmp" <<-NODE || return 1
	<node>
	  <cpu>
	    <nodes>1</nodes>
	    <sockets>1</sockets>
	    <cores>$cpus</cores>
	    <threads>1</threads>
	    <active>$cpus</active>
	    <mhz>$mhz</mhz>
	    <model>x86_64</model>
	  </cpu>
	  <memory>$((ram_mib * 1024))</memory>
	</node>
	NODE
	mv -f "$file.tmp" "$file"
}
