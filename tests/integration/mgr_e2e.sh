#!/usr/bin/env bash
# tests/integration/mgr_e2e.sh - end to end, as `make demo` runs it: vr-manager
# deploys a VM through the signed API (network prep to a real vrd, a qcow2
# overlay, a libvirt test-driver domain), a guest namespace with the VM's MAC
# takes its lease from real dnsmasq and Debian's cloud-init CloudStack
# datasource gets the VM's metadata, user data and password from vr-metadata;
# then destroyVirtualMachine gives everything back.  Each step of the demo is
# one TAP line (DEMO_TAP=1); a failed step prints "not ok" and stops.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEMO_TAP=1 BUILD=${BUILD:-$ROOT/build} bash "$ROOT/tests/demo.sh" 2>&1 | sed -n 's/^\(not ok\|ok\) -/&/p;/demo FAILED/,$s/^/# /p'
exit "${PIPESTATUS[0]}"
