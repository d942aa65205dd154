#!/usr/bin/python3
"""ci_guest.py: the real cloud-init code (Debian's cloud-init 22.4 package), run
from a guest's network namespace against vr-metadata, printing JSON.

Run it with /usr/bin/python3 (cloud-init is installed for Debian's python):
    ip netns exec NS /usr/bin/python3 tests/lib/ci_guest.py COMMAND [options]

Commands:
  vr-address            what DataSourceCloudStack.get_vr_address() finds (it tries the
                        "data-server" DNS name first, then networkd and dhclient leases,
                        then the default gateway)
  cloudstack --tmp DIR [--vr ADDR]
                        DataSourceCloudStack(sys_cfg, distro, paths).get_data(), with
                        cloud_dir/run_dir under DIR.  Without --vr the datasource finds the
                        router itself (get_vr_address(), unpatched); --vr ADDR replaces the
                        module's get_vr_address() by one returning ADDR.
  ec2 --url URL [--version V] [--imdsv2 TTL]
                        cloudinit.sources.helpers.ec2.get_instance_metadata() and
                        get_instance_userdata(); with --imdsv2 a token is first taken with
                        PUT /latest/api/token (urllib) and passed through headers_cb.
  openstack --url URL   cloudinit.sources.helpers.openstack.MetadataReader: the versions it
                        finds, the one it selects, and DataSourceOpenStack's
                        read_metadata_service(URL).

Bytes (user data) are printed base64-encoded.  cloud-init's own log goes to stderr.
Only run inside the tests' network namespaces: no proxy is ever used.
"""
import argparse
import base64
import json
import logging
import os
import sys
import urllib.error
import urllib.request

for _k in list(os.environ):
    if _k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        del os.environ[_k]
os.environ["no_proxy"] = "*"

logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                    format="ci_guest: %(name)s: %(levelname)s: %(message)s")


def jsonable(x):
    if isinstance(x, bytes):
        return {"b64": base64.b64encode(x).decode()}
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return repr(x)


def b64(x):
    if x is None:
        return None
    if isinstance(x, str):
        x = x.encode()
    return base64.b64encode(x).decode()


def urlopen(req, timeout=5):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def cmd_vr_address(a):
    from cloudinit.sources import DataSourceCloudStack as cs
    out = {"data_server": cs.get_data_server(), "vr_address": cs.get_vr_address()}
    print(json.dumps(out))


def cmd_cloudstack(a):
    from cloudinit import distros, helpers
    from cloudinit.sources import DataSourceCloudStack as cs

    if a.vr:
        cs.get_vr_address = lambda: a.vr
    paths = helpers.Paths({
        "cloud_dir": os.path.join(a.tmp, "cloud"),
        "run_dir": os.path.join(a.tmp, "run"),
        "docs_dir": os.path.join(a.tmp, "docs"),
        "templates_dir": os.path.join(a.tmp, "templates"),
    })
    os.makedirs(os.path.join(a.tmp, "cloud"), exist_ok=True)
    os.makedirs(os.path.join(a.tmp, "run"), exist_ok=True)
    sys_cfg = {"datasource": {"CloudStack": {"max_wait": 10, "timeout": 5}}}
    distro = distros.fetch("debian")("debian", {}, paths)
    ds = cs.DataSourceCloudStack(sys_cfg, distro, paths)
    out = {"vr_addr": ds.vr_addr, "metadata_address": ds.metadata_address}
    out["get_data"] = bool(ds.get_data())
    if out["get_data"]:
        hn = ds.get_hostname()
        out.update({
            "instance_id": ds.get_instance_id(),
            "hostname": getattr(hn, "hostname", hn),
            "local_hostname": ds.metadata.get("local-hostname"),
            "availability_zone": ds.availability_zone,
            "public_keys": ds.get_public_ssh_keys(),
            "userdata_b64": b64(ds.userdata_raw),
            "cfg": ds.get_config_obj(),
            "password": (ds.get_config_obj() or {}).get("password"),
            "metadata": jsonable(ds.metadata),
            "instance_data_written": os.path.exists(
                os.path.join(a.tmp, "run", "instance-data.json")),
        })
    print(json.dumps(out))


def cmd_ec2(a):
    from cloudinit.sources.helpers import ec2

    out = {}
    headers_cb = None
    base = a.url.rstrip("/")
    if a.imdsv2:
        req = urllib.request.Request(base + "/latest/api/token", method="PUT", data=b"",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": a.imdsv2})
        st, body, hdrs = urlopen(req)
        token = body.decode("latin-1")
        out["token_status"] = st
        out["token_len"] = len(token)
        out["token_ttl_header"] = {k.lower(): v for k, v in hdrs.items()}.get(
            "x-aws-ec2-metadata-token-ttl-seconds")

        def headers_cb(url):
            return {"X-aws-ec2-metadata-token": token}

        st, body, _ = urlopen(urllib.request.Request(
            base + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}))
        out["with_token"] = [st, body.decode("utf-8", "replace")]
        st, body, _ = urlopen(urllib.request.Request(
            base + "/latest/meta-data/instance-id",
            headers={"X-aws-ec2-metadata-token": "0" * len(token or "x")}))
        out["bad_token_status"] = st
    md = ec2.get_instance_metadata(a.version, a.url, timeout=5, retries=2,
                                   headers_cb=headers_cb)
    ud = ec2.get_instance_userdata(a.version, a.url, timeout=5, retries=2,
                                   headers_cb=headers_cb)
    out["metadata"] = jsonable(md)
    out["userdata_b64"] = b64(ud)
    print(json.dumps(out))


def cmd_openstack(a):
    from cloudinit.sources import DataSourceOpenStack as dos
    from cloudinit.sources.helpers import openstack

    out = {}
    reader = openstack.MetadataReader(a.url, timeout=5, retries=2)
    try:
        out["versions"] = reader._fetch_available_versions()
    except Exception as e:  # cloud-init falls back to "latest" then
        out["versions"] = None
        out["versions_error"] = "%s: %s" % (type(e).__name__, e)
    out["selected"] = reader._find_working_version()
    try:
        res = dos.read_metadata_service(a.url, timeout=5, retries=2)
    except Exception as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(out))
        return
    out["metadata"] = jsonable(res.get("metadata"))
    out["userdata_b64"] = b64(res.get("userdata"))
    out["vendordata"] = jsonable(res.get("vendordata"))
    out["networkdata"] = jsonable(res.get("networkdata"))
    out["ec2_instance_id"] = (res.get("ec2-metadata") or {}).get("instance-id")
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description="cloud-init's own code against vr-metadata")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("vr-address")
    p.set_defaults(fn=cmd_vr_address)
    p = sub.add_parser("cloudstack")
    p.add_argument("--tmp", required=True)
    p.add_argument("--vr", default="")
    p.set_defaults(fn=cmd_cloudstack)
    p = sub.add_parser("ec2")
    p.add_argument("--url", default="http://169.254.169.254/")
    p.add_argument("--version", default="latest")
    p.add_argument("--imdsv2", default="")
    p.set_defaults(fn=cmd_ec2)
    p = sub.add_parser("openstack")
    p.add_argument("--url", default="http://169.254.169.254/")
    p.set_defaults(fn=cmd_openstack)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
