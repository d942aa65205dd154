#!/usr/bin/env python3
"""tests/lib/mgr_inventory.py: writes a vr-manager test world into DIR:
libvirt test-driver node files (one per simulated host), a primary pool
directory, secondary storage with a small raw template (real bytes), and
DIR/inventory.json naming them (format: docs/manager.md).  Accounts:
"admin" (role admin, keys admin-key/admin-secret) and "alice"
(alice-key/alice-secret) with the limits given."""
import argparse
import json
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--hosts", type=int, default=2)
    ap.add_argument("--clusters", type=int, default=1)
    ap.add_argument("--host-cores", type=int, default=4)
    ap.add_argument("--host-mhz", type=int, default=2000)
    ap.add_argument("--host-ram", type=int, default=8192, help="MiB")
    ap.add_argument("--cpu-op", type=float, default=1.0)
    ap.add_argument("--ram-op", type=float, default=1.0)
    ap.add_argument("--pool-capacity", type=int, default=1 << 40)
    ap.add_argument("--pool-dir", help="primary pool path (default DIR/primary)")
    ap.add_argument("--pool-scope", default="zone", choices=["zone", "cluster"])
    ap.add_argument("--template-mib", type=int, default=4, help="raw template size")
    ap.add_argument("--template-path", help="override the template's path on secondary")
    ap.add_argument("--template-file", help="an existing image (qcow2 or raw) to link in as"
                    " the template instead of the small raw one")
    ap.add_argument("--template-bytes", type=int, help="the template's virtual size"
                    " (default: --template-mib)")
    ap.add_argument("--host-uri", help="every host's libvirt URI (default: test-driver nodes)")
    ap.add_argument("--bridge", default="cloudbr0")
    ap.add_argument("--vr-url", required=True)
    ap.add_argument("--vr-token", required=True)
    ap.add_argument("--cidr", default="10.1.1.0/24")
    ap.add_argument("--gateway", default="10.1.1.1")
    ap.add_argument("--offering-cpus", type=int, default=1)
    ap.add_argument("--offering-mhz", type=int, default=500)
    ap.add_argument("--offering-ram", type=int, default=512)
    ap.add_argument("--limit", action="append", default=[], help="alice's limit, e.g. vm=3")
    a = ap.parse_args()

    d = os.path.abspath(a.dir)
    for sub in ("nodes", "secondary/template", "primary"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    tpl = os.path.join(d, "secondary/template/tiny.raw")
    if a.template_file:
        os.symlink(os.path.abspath(a.template_file), os.path.join(d, "secondary/template/image"))
    elif not os.path.exists(tpl):
        with open(tpl, "wb") as f:  # a few real blocks in a sparse file
            f.truncate(a.template_mib << 20)
            for off in range(0, a.template_mib << 20, 1 << 20):
                f.seek(off)
                f.write(b"vr-manager test template block %d\n" % off)
    inv = {
        "zones": [{"id": "zone1", "name": "Zone 1"}],
        "pods": [{"id": "pod1", "name": "Pod 1", "zone": "zone1"}],
        "clusters": [{"id": "cluster%d" % (c + 1), "name": "Cluster %d" % (c + 1),
                      "pod": "pod1"} for c in range(a.clusters)],
        "hosts": [],
        "pools": [],
        "secondary": [{"id": "sec1", "zone": "zone1", "path": os.path.join(d, "secondary")}],
        "templates": [{"id": "tpl1", "name": "tiny", "secondary": "sec1", "format": "raw",
                       "path": a.template_path or ("template/image" if a.template_file
                                                   else "template/tiny.raw"),
                       "size": a.template_bytes or a.template_mib << 20}],
        "offerings": [{"id": "small", "name": "Small", "cpu_count": a.offering_cpus,
                       "cpu_mhz": a.offering_mhz, "ram_mib": a.offering_ram}],
        "networks": [{"id": "net1", "name": "Guest net", "zone": "zone1", "cidr": a.cidr,
                      "gateway": a.gateway, "dns": a.gateway, "domain": "cloud.internal",
                      "vr_url": a.vr_url, "vr_token": a.vr_token, "bridge": a.bridge}],
        "accounts": [
            {"id": "acct-admin", "name": "admin", "api_key": "admin-key",
             "secret_key": "admin-secret", "role": "admin"},
            {"id": "acct-alice", "name": "alice", "api_key": "alice-key",
             "secret_key": "alice-secret",
             "limits": {k: int(v) for k, v in (x.split("=") for x in a.limit)}},
        ],
    }
    for h in range(a.hosts):
        node = os.path.join(d, "nodes", "h%d.xml" % (h + 1))
        with open(node, "w") as f:
            f.write("<node><cpu><mhz>%d</mhz><nodes>1</nodes><sockets>1</sockets>"
                    "<cores>%d</cores><threads>1</threads></cpu><memory>%d</memory></node>\n"
                    % (a.host_mhz, a.host_cores, a.host_ram * 1024))
        inv["hosts"].append({
            "id": "h%d" % (h + 1), "name": "host%d" % (h + 1),
            "cluster": "cluster%d" % (h % a.clusters + 1),
            "uri": a.host_uri or "test://" + node,
            "cpu_cores": a.host_cores, "cpu_mhz": a.host_mhz, "ram_mib": a.host_ram,
            "cpu_overprovisioning": a.cpu_op, "ram_overprovisioning": a.ram_op})
    pool = {"id": "ps1", "name": "primary", "scope": a.pool_scope,
            "path": a.pool_dir or os.path.join(d, "primary"),
            "capacity_bytes": a.pool_capacity}
    pool[a.pool_scope] = "zone1" if a.pool_scope == "zone" else "cluster1"
    inv["pools"].append(pool)
    with open(os.path.join(d, "inventory.json"), "w") as f:
        json.dump(inv, f, indent=1)


if __name__ == "__main__":
    main()
