#!/usr/bin/env python3
"""batch_stream.py: streams numbered batches to vrd for the crash tests.

Usage: batch_stream.py URL TOKEN_FILE WORKDIR [--first K] [--last K]

Batch k adds VM k: a dhcpentry, a vmpassword and a vmdata whose metadata
holds "batch" = k (see vm(k) for its IP, MAC, hostname and password; the
checker imports this module for the same values).  Each batch is sent on a
new connection, one after the other, in order.  Files in WORKDIR:
  acks      "k generation" for every batch answered 200 (line-buffered)
  unknown   "k reason" for every batch with no answer (connection refused,
            reset, timeout): it may or may not have been applied
  rejected  "k status body" for any other answer
  pause     while it exists, the stream does not resume after a failure
  waiting   exists while the stream waits after a failure (nothing in flight)
  stop      the stream ends before the next batch when it exists
  done      written at the end: the next k it would have sent
After a failure the stream waits (bounded only by "stop") until "pause" is
gone and /healthz answers, then goes on with the next k.
"""
import http.client
import json
import os
import sys
import time
from urllib.parse import urlsplit

NET_CIDR = "10.1.0.0/16"
CLIENT_STRIDE = 15000   # concurrent clients stream k from (c - 1) * CLIENT_STRIDE + 1
ROUTER = "10.1.0.1"


def vm(k):
    """IP, MAC, hostname and password of VM k (k from 1 to 60000)."""
    ip = "10.1.%d.%d" % (k // 250 + 1, k % 250 + 2)
    mac = "02:00:0a:01:%02x:%02x" % (k >> 8 & 0xff, k & 0xff)
    return {"ip": ip, "mac": mac, "host": "vm-%d" % k, "password": "pw-%d-x" % k}


def batch(k):
    v = vm(k)
    return [
        {"type": "dhcpentry", "host_name": v["host"], "mac_address": v["mac"],
         "ipv4_address": v["ip"], "ipv6_address": None, "dns_addresses": ROUTER,
         "default_gateway": ROUTER, "static_routes": None, "default_entry": True,
         "remove": False, "lease_time": None, "delete_from_processed_cache": False},
        {"type": "vmpassword", "ip_address": v["ip"], "password": v["password"]},
        {"type": "vmdata", "vm_ip_address": v["ip"], "vm_metadata": [
            ["userdata", "user-data", "I2Nsb3VkLWNvbmZpZwo="],
            ["metadata", "instance-id", "i-%d" % k],
            ["metadata", "local-hostname", v["host"]],
            ["metadata", "batch", str(k)]]},
    ]


def request(u, auth, method, path, body=None, timeout=10.0):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        headers = {"Authorization": auth}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def append(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    url, token_file, work = sys.argv[1:4]
    first, last = 1, 60000
    args = sys.argv[4:]
    while args:
        if args[0] == "--first":
            first = int(args[1])
        elif args[0] == "--last":
            last = int(args[1])
        else:
            sys.exit("unknown argument %s" % args[0])
        args = args[2:]
    u = urlsplit(url)
    with open(token_file) as f:
        auth = "Bearer " + f.read().strip()
    p = lambda name: os.path.join(work, name)

    k = first
    while k <= last and not os.path.exists(p("stop")):
        body = json.dumps(batch(k)).encode()
        try:
            status, data = request(u, auth, "POST", "/v1/commands", body)
        except (OSError, http.client.HTTPException) as e:
            append(p("unknown"), "%d %s" % (k, type(e).__name__))
            k += 1
            # wait for the restart (and for the test to let us go on)
            open(p("waiting"), "w").close()
            while not os.path.exists(p("stop")):
                if not os.path.exists(p("pause")):
                    try:
                        if request(u, auth, "GET", "/healthz", timeout=2.0)[0] == 200:
                            break
                    except (OSError, http.client.HTTPException):
                        pass
                time.sleep(0.01)
            os.unlink(p("waiting"))
            continue
        if status == 200:
            try:
                gen = json.loads(data)["generation"]
            except (ValueError, KeyError, TypeError):
                gen = "?"
            append(p("acks"), "%d %s" % (k, gen))
        else:
            append(p("rejected"), "%d %d %s" % (k, status, data[:200].decode("utf-8", "replace")))
        k += 1
    with open(p("done"), "w") as f:
        f.write("%d\n" % k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
