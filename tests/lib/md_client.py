#!/usr/bin/env python3
"""md_client.py: raw HTTP probes of vr-metadata for the integration tests.

Every request is built by hand on a plain socket bound to a chosen source
address (the metadata service tells VMs apart by it), so paths, methods and
headers reach the server byte for byte.  Only run it inside the tests'
network namespaces.

Subcommands (all take --src ADDR --host ADDR --port N):
  req       one request; --method, --path, -H 'Key: value' (repeatable),
            --http10, --keep-alive (no "Connection: close"), --no-host,
            --timeout S, --out-dir D.  With --out-dir it writes D/body, D/head
            and D/result.json and prints "STATUS CLOSED EXTRA CONTENT_LENGTH"
            (STATUS 000 when no response was read); without, prints the JSON.
  crawl     every path of both trees (EC2 under every version, OpenStack under
            every version listed), the standard leaves even when no listing
            shows them, the paths given with --path, and (with --pw-port) the
            password server's send_my_password (never acknowledged); repeat
            --host to crawl several listen addresses.  --forbid S (repeatable)
            reports every body containing S; --token T sends an IMDSv2 token.
            Prints JSON {"responses": {host+path: {status, body_b64}}, ...}.
  poll      GET --path until the status is --want (and the body --want-body,
            when given) or --max seconds pass since
            --since-ns (time.time_ns() of the event, default: now); prints
            JSON {status, elapsed_ms, tries, first_status}.
  slowloris --slow-src opens --slow-conns connections that send the request
            line and then one header byte per --interval seconds, while --src
            makes a normal GET every 0.2 s; --idle-conns more connections send
            the request line and then nothing; prints JSON with when (after how
            long) each slow and idle connection was cut off and the normal
            requests' latencies and statuses.
  oversize  --kind header|many|url --size N: one request with an oversized
            header line, too many headers, or an oversized URL, sent while
            reading (so a response sent early is not lost); prints JSON
            {status, closed, error, sent}.
  conns     holds --n idle connections from --src, then sends a request on one
            more from --src and one from --other-src; prints JSON.
  flood     opens --n connections, round robin from the --flood-src addresses,
            each sending a request line and then nothing; reports how long
            that took and how many the server still holds open 0.2 s later, a GET from --src (its
            status and time) while they are held, how long until the server
            has closed them all (at most --max-wait s), and a GET from the
            first flood address after that; prints JSON.
"""
import argparse
import base64
import json
import os
import select
import socket
import sys
import time

EC2_VERSIONS = ["latest", "2009-04-04", "2016-09-02", "2018-09-24", "2021-03-23"]
OS_VERSIONS = ["latest", "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15",
               "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27"]
OS_FILES = ["meta_data.json", "user_data", "vendor_data.json", "vendor_data2.json",
            "network_data.json"]
EC2_LEAVES = ["instance-id", "local-hostname", "hostname", "availability-zone",
              "placement/availability-zone", "public-keys/", "public-keys/0/",
              "public-keys/0/openssh-key", "public-keys/1/openssh-key", "vm-id",
              "service-offering", "local-ipv4", "public-ipv4", "public-hostname",
              "cloud-identifier", "hypervisor-host-name", "instance-type", "ami-id"]
MAX_REQUESTS = 600


def connect(src, host, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def build(method, path, host, headers=(), http10=False, close=True, send_host=True):
    version = "HTTP/1.0" if http10 else "HTTP/1.1"
    lines = ["%s %s %s" % (method, path, version)]
    if send_host and not http10:
        lines.append("Host: %s" % host)
    lines += list(headers)
    if close and not http10:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Resp:
    def __init__(self):
        self.status = 0
        self.reason = ""
        self.version = ""
        self.headers = []
        self.head = b""
        self.body = b""
        self.extra = 0          # bytes after the body (HEAD: any body at all)
        self.closed = False     # the server closed the connection
        self.error = ""
        self.elapsed_ms = 0.0

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def to_json(self):
        return {"status": self.status, "reason": self.reason, "version": self.version,
                "headers": self.headers, "body": self.body.decode("utf-8", "replace"),
                "body_b64": base64.b64encode(self.body).decode(), "extra": self.extra,
                "closed": self.closed, "error": self.error,
                "elapsed_ms": round(self.elapsed_ms, 2)}


def _recv(s, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline")
    s.settimeout(left)
    return s.recv(65536)


def read_response(s, r, is_head, expect_close, timeout):
    """Reads one response into r; returns leftover bytes."""
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = _recv(s, deadline)
        except ConnectionResetError:
            r.error = "reset before a complete response head"
            r.closed = True
            return
        except socket.timeout:
            r.error = "timeout before a complete response head (%d bytes)" % len(buf)
            return
        if not chunk:
            r.closed = True
            r.error = "closed before a complete response head (%d bytes)" % len(buf)
            r.head = buf
            return
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    r.head = head
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    r.version = parts[0]
    try:
        r.status = int(parts[1])
    except (IndexError, ValueError):
        r.error = "bad status line %r" % lines[0]
        return
    r.reason = parts[2] if len(parts) > 2 else ""
    for line in lines[1:]:
        k, _, v = line.partition(":")
        r.headers.append([k.strip(), v.strip()])
    cl = r.header("Content-Length")
    te = (r.header("Transfer-Encoding") or "").lower()
    no_body = is_head or r.status in (204, 304) or 100 <= r.status < 200
    try:
        if no_body:
            body_len = 0
        elif cl is not None:
            body_len = int(cl)
        elif "chunked" in te:
            body_len = None
        else:
            body_len = -1   # until close
        if body_len is None:
            data = rest
            out = b""
            while True:
                while b"\r\n" not in data:
                    c = _recv(s, deadline)
                    if not c:
                        raise EOFError("closed inside chunked body")
                    data += c
                size_line, data = data.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(data) < size + 2:
                    c = _recv(s, deadline)
                    if not c:
                        raise EOFError("closed inside chunked body")
                    data += c
                if size == 0:
                    rest = data[2:]
                    break
                out += data[:size]
                data = data[size + 2:]
            r.body = out
        elif body_len >= 0:
            while len(rest) < body_len:
                c = _recv(s, deadline)
                if not c:
                    r.closed = True
                    r.error = "closed after %d of %d body bytes" % (len(rest), body_len)
                    break
                rest += c
            r.body, rest = rest[:body_len], rest[body_len:]
        else:
            while True:
                c = _recv(s, deadline)
                if not c:
                    r.closed = True
                    break
                rest += c
            r.body, rest = rest, b""
    except (socket.timeout, EOFError, ConnectionResetError, ValueError) as e:
        r.error = "reading the body: %s" % e
        return
    r.extra = len(rest)
    if expect_close and not r.closed:
        # the server must close now; anything it still sends is extra
        try:
            while True:
                c = _recv(s, time.monotonic() + 2.0)
                if not c:
                    r.closed = True
                    break
                r.extra += len(c)
        except ConnectionResetError:
            r.closed = True
        except socket.timeout:
            pass


def request(src, host, port, method="GET", path="/", headers=(), http10=False,
            close=True, send_host=True, timeout=5.0, raw=None):
    r = Resp()
    t0 = time.monotonic()
    try:
        s = connect(src, host, port, timeout)
    except OSError as e:
        r.error = "connect: %s" % e
        return r
    try:
        data = raw if raw is not None else build(method, path, host, headers, http10, close,
                                                 send_host)
        s.sendall(data)
        read_response(s, r, method == "HEAD", close or http10, timeout)
    except OSError as e:
        r.error = r.error or "%s: %s" % (type(e).__name__, e)
    finally:
        r.elapsed_ms = (time.monotonic() - t0) * 1000.0
        s.close()
    return r


# --- req ----------------------------------------------------------------------

def cmd_req(a):
    raw = None
    if a.raw is not None:
        raw = a.raw.encode("latin-1").decode("unicode_escape").encode("latin-1")
    r = request(a.src, a.host, a.port, a.method, a.path, a.header, a.http10,
                not a.keep_alive, not a.no_host, a.timeout, raw)
    if a.out_dir:
        with open(os.path.join(a.out_dir, "body"), "wb") as f:
            f.write(r.body)
        with open(os.path.join(a.out_dir, "head"), "wb") as f:
            f.write(r.head)
        with open(os.path.join(a.out_dir, "result.json"), "w") as f:
            json.dump(r.to_json(), f)
        if r.error:
            print(r.error, file=sys.stderr)
        cl = r.header("Content-Length")
        print("%03d %d %d %s" % (r.status, 1 if r.closed else 0, r.extra,
                                 cl if cl is not None else "-"))
    else:
        print(json.dumps(r.to_json()))


# --- crawl --------------------------------------------------------------------

def cmd_crawl(a):
    out = {}
    count = [0]
    hdrs = []
    if a.token:
        hdrs.append("X-aws-ec2-metadata-token: %s" % a.token)

    def get(host, path):
        key = host + path
        if key in out or count[0] >= MAX_REQUESTS:
            return out.get(key)
        count[0] += 1
        r = request(a.src, host, a.port, "GET", path, hdrs, timeout=a.timeout)
        out[key] = {"status": r.status, "body_b64": base64.b64encode(r.body).decode(),
                    "error": r.error}
        return out[key]

    def body(x):
        return base64.b64decode(x["body_b64"]).decode("utf-8", "replace")

    for host in a.host:
        for p in ["/", "/latest", "/latest/", "/latest/meta-data", "/openstack", "/openstack/"]:
            get(host, p)
        for v in EC2_VERSIONS:
            get(host, "/%s/user-data" % v)
            todo = ["/%s/meta-data/" % v]
            todo += ["/%s/meta-data/%s" % (v, leaf) for leaf in EC2_LEAVES]
            while todo:
                p = todo.pop(0)
                r = get(host, p)
                if not r or r["status"] != 200 or not p.endswith("/"):
                    continue
                for line in body(r).splitlines():
                    line = line.strip()
                    if not line:
                        continue
                    if p.endswith("/public-keys/") and "=" in line:
                        idx = line.split("=", 1)[0]
                        todo += [p + idx + "/", p + idx + "/openssh-key"]
                    else:
                        todo.append(p + line)
        versions = list(OS_VERSIONS)
        for p in ("/openstack", "/openstack/"):
            r = out.get(host + p)
            if r and r["status"] == 200:
                versions += [x.strip() for x in body(r).splitlines() if x.strip()]
        for v in dict.fromkeys(versions):
            get(host, "/openstack/%s/" % v)
            for f in OS_FILES:
                get(host, "/openstack/%s/%s" % (v, f))
        for p in a.path:
            get(host, p)
        if a.pw_port:
            key = "pw:%s:%d" % (host, a.pw_port)
            r = request(a.src, host, a.pw_port, "GET", "/",
                        ["DomU_Request: send_my_password"], timeout=a.timeout)
            out[key] = {"status": r.status, "body_b64": base64.b64encode(r.body).decode(),
                        "error": r.error}
    hits = []
    for k, v in out.items():
        b = base64.b64decode(v["body_b64"])
        for f in a.forbid:
            if f.encode() in b:
                hits.append([k, f])
    statuses = {}
    for k, v in out.items():
        if not k.startswith("pw:"):
            statuses[str(v["status"])] = statuses.get(str(v["status"]), 0) + 1
    non = [k for k, v in out.items() if a.expect_status and not k.startswith("pw:")
           and v["status"] != a.expect_status]
    print(json.dumps({"responses": out, "count": count[0], "forbid_hits": hits,
                      "statuses": statuses, "unexpected_status": non,
                      "ok200": sorted(k for k, v in out.items() if v["status"] == 200)}))


# --- poll ---------------------------------------------------------------------

def cmd_poll(a):
    since = a.since_ns or time.time_ns()
    deadline_ns = since + int(a.max * 1e9)
    tries = 0
    first = None
    st = 0
    while True:
        r = request(a.src, a.host, a.port, "GET", a.path, timeout=1.0)
        tries += 1
        st = r.status
        if first is None:
            first = st
        now = time.time_ns()
        if (st == a.want and (a.want_body is None or r.body.decode("utf-8", "replace") == a.want_body)) \
                or now >= deadline_ns:
            break
        time.sleep(0.01)
    print(json.dumps({"status": st, "body": r.body.decode("utf-8", "replace"),
                      "first_status": first, "tries": tries,
                      "elapsed_ms": round((time.time_ns() - since) / 1e6, 1)}))


# --- slowloris ----------------------------------------------------------------

def cmd_slowloris(a):
    slow = []
    t0 = time.monotonic()
    head = ("GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: %s\r\n" % a.host).encode()
    trickle = b"X-Slow: " + b"a" * 200
    for i in range(a.slow_conns + a.idle_conns):
        s = connect(a.slow_src, a.host, a.port, 5.0)
        s.setblocking(False)
        s.send(head)
        slow.append({"sock": s, "opened": time.monotonic(), "sent": 0, "closed_after": None,
                     "how": None, "got": b"", "idle": i >= a.slow_conns})
    fast = []
    next_byte = time.monotonic() + a.interval
    next_fast = time.monotonic() + 0.1
    end = t0 + a.max_wait
    while time.monotonic() < end and any(x["closed_after"] is None for x in slow):
        now = time.monotonic()
        live = [x for x in slow if x["closed_after"] is None]
        rd, _, _ = select.select([x["sock"] for x in live], [], [], 0.02)
        for x in live:
            if x["sock"] in rd:
                try:
                    c = x["sock"].recv(4096)
                except (ConnectionResetError, BrokenPipeError):
                    c = None
                if c:
                    x["got"] += c
                    continue
                x["closed_after"] = time.monotonic() - x["opened"]
                x["how"] = "reset" if c is None else "closed"
        if now >= next_byte:
            for x in slow:
                if x["closed_after"] is not None or x["idle"]:
                    continue
                try:
                    x["sock"].send(trickle[x["sent"] % len(trickle):][:1])
                    x["sent"] += 1
                except (BrokenPipeError, ConnectionResetError, BlockingIOError) as e:
                    x["closed_after"] = time.monotonic() - x["opened"]
                    x["how"] = "send: %s" % type(e).__name__
            next_byte += a.interval
        if now >= next_fast:
            r = request(a.src, a.host, a.port, "GET", a.path, timeout=3.0)
            fast.append({"at_s": round(now - t0, 2), "ms": round(r.elapsed_ms, 2),
                         "status": r.status, "error": r.error})
            next_fast = time.monotonic() + 0.2
    # a few normal requests after the slow ones are gone
    for _ in range(3):
        r = request(a.src, a.host, a.port, "GET", a.path, timeout=3.0)
        fast.append({"at_s": round(time.monotonic() - t0, 2), "ms": round(r.elapsed_ms, 2),
                     "status": r.status, "error": r.error})
    def desc(x):
        return {"closed_after_s": None if x["closed_after"] is None else round(x["closed_after"], 2),
                "how": x["how"], "bytes_sent": x["sent"],
                "response": x["got"][:200].decode("latin-1")}
    res = {"slow": [desc(x) for x in slow if not x["idle"]],
           "idle": [desc(x) for x in slow if x["idle"]],
           "fast": fast,
           "fast_during": sum(1 for f in fast if any(
               x["closed_after"] is None or f["at_s"] < x["closed_after"] for x in slow)),
           "max_fast_ms": max([f["ms"] for f in fast] or [0]),
           "fast_statuses": sorted(set(f["status"] for f in fast))}
    for x in slow:
        x["sock"].close()
    print(json.dumps(res))


# --- oversize -----------------------------------------------------------------

def cmd_oversize(a):
    if a.kind == "header":
        hdrs = ["X-Big: " + "a" * a.size]
        path = "/latest/meta-data/instance-id"
    elif a.kind == "many":
        n = a.size // 64 + 1
        hdrs = ["X-H%05d: %s" % (i, "b" * 54) for i in range(n)]
        path = "/latest/meta-data/instance-id"
    else:
        hdrs = []
        path = "/latest/meta-data/" + "c" * a.size
    data = build("GET", path, a.host, hdrs)
    res = {"status": 0, "closed": False, "error": "", "sent": 0, "bytes": len(data)}
    try:
        s = connect(a.src, a.host, a.port, 5.0)
    except OSError as e:
        res["error"] = "connect: %s" % e
        print(json.dumps(res))
        return
    s.setblocking(False)
    got = b""
    sent = 0
    end = time.monotonic() + 6.0
    closed = False
    while time.monotonic() < end and not closed:
        want_w = [s] if sent < len(data) else []
        rd, wr, _ = select.select([s], want_w, [], 0.1)
        if rd:
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                res["error"] = "reset"
                closed = True
                break
            if not c:
                closed = True
                break
            got += c
        if wr:
            try:
                sent += s.send(data[sent:sent + 16384])
            except (BrokenPipeError, ConnectionResetError) as e:
                res["error"] = "send: %s" % type(e).__name__
                # the response may already be waiting
                try:
                    while True:
                        c = s.recv(65536)
                        if not c:
                            break
                        got += c
                except OSError:
                    pass
                closed = True
                break
        if not want_w and not rd and got and b"\r\n\r\n" in got:
            # response read; wait (bounded) for the close
            pass
    s.close()
    res["sent"] = sent
    res["closed"] = closed
    if got.startswith(b"HTTP/"):
        try:
            res["status"] = int(got.split(b" ", 2)[1])
        except (IndexError, ValueError):
            pass
    res["response"] = got[:200].decode("latin-1")
    print(json.dumps(res))


# --- conns --------------------------------------------------------------------

def cmd_conns(a):
    held = []
    res = {"held": 0, "extra": None, "other": None}
    try:
        for _ in range(a.n):
            held.append(connect(a.src, a.host, a.port, 3.0))
        res["held"] = len(held)
        time.sleep(0.1)
        r = request(a.src, a.host, a.port, "GET", a.path, timeout=3.0)
        res["extra"] = {"status": r.status, "error": r.error, "ms": round(r.elapsed_ms, 1)}
        r = request(a.other_src, a.host, a.port, "GET", a.path, timeout=3.0)
        res["other"] = {"status": r.status, "error": r.error, "ms": round(r.elapsed_ms, 1)}
    except OSError as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    for s in held:
        s.close()
    time.sleep(0.2)
    r = request(a.src, a.host, a.port, "GET", a.path, timeout=3.0)
    res["after"] = {"status": r.status, "error": r.error}
    print(json.dumps(res))


def _open(s):
    """Whether the server still holds s open (no EOF, no reset)."""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def cmd_flood(a):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.n + 256), hard))
    socks, failed = [], 0
    t0 = time.monotonic()
    for i in range(a.n):
        try:
            s = connect(a.flood_src[i % len(a.flood_src)], a.host, a.port, 3.0)
            s.sendall(b"GET / HTTP/1.1\r\n")
            socks.append(s)
        except OSError:
            failed += 1
    t_open = time.monotonic()
    time.sleep(0.2)
    res = {"n": a.n, "connected": len(socks), "connect_failed": failed,
           "open_s": round(t_open - t0, 2), "held": sum(_open(s) for s in socks)}
    r = request(a.src, a.host, a.port, "GET", a.path, timeout=3.0)
    res["during"] = {"status": r.status, "error": r.error, "ms": round(r.elapsed_ms, 1)}
    deadline = t_open + a.max_wait
    left = res["held"]
    while time.monotonic() < deadline:
        left = sum(_open(s) for s in socks)
        if left == 0:
            break
        time.sleep(0.1)
    res["left"] = left
    res["all_closed_after_s"] = round(time.monotonic() - t_open, 2) if left == 0 else None
    for s in socks:
        s.close()
    r = request(a.flood_src[0], a.host, a.port, "GET", a.path, timeout=3.0)
    res["after"] = {"status": r.status, "error": r.error}
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description="raw HTTP probes of vr-metadata")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, multi_host=False):
        p.add_argument("--src", default="")
        if multi_host:
            p.add_argument("--host", action="append", required=True)
        else:
            p.add_argument("--host", required=True)
        p.add_argument("--port", type=int, default=80)
        p.add_argument("--timeout", type=float, default=5.0)

    p = sub.add_parser("req")
    common(p)
    p.add_argument("--method", default="GET")
    p.add_argument("--path", default="/")
    p.add_argument("-H", "--header", action="append", default=[])
    p.add_argument("--http10", action="store_true")
    p.add_argument("--keep-alive", action="store_true")
    p.add_argument("--no-host", action="store_true")
    p.add_argument("--raw", help="the whole request, with python escapes (\\r\\n)")
    p.add_argument("--out-dir")
    p.set_defaults(fn=cmd_req)

    p = sub.add_parser("crawl")
    common(p, multi_host=True)
    p.add_argument("--path", action="append", default=[])
    p.add_argument("--pw-port", type=int, default=0)
    p.add_argument("--forbid", action="append", default=[])
    p.add_argument("--token", default="")
    p.add_argument("--expect-status", type=int, default=0)
    p.set_defaults(fn=cmd_crawl)

    p = sub.add_parser("poll")
    common(p)
    p.add_argument("--path", required=True)
    p.add_argument("--want", type=int, required=True)
    p.add_argument("--want-body")
    p.add_argument("--max", type=float, default=1.0)
    p.add_argument("--since-ns", type=int, default=0)
    p.set_defaults(fn=cmd_poll)

    p = sub.add_parser("slowloris")
    common(p)
    p.add_argument("--slow-src", required=True)
    p.add_argument("--slow-conns", type=int, default=3)
    p.add_argument("--idle-conns", type=int, default=1,
                   help="connections that send the request line and then nothing")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--max-wait", type=float, default=8.0)
    p.add_argument("--path", default="/latest/meta-data/instance-id")
    p.set_defaults(fn=cmd_slowloris)

    p = sub.add_parser("oversize")
    common(p)
    p.add_argument("--kind", choices=["header", "many", "url"], required=True)
    p.add_argument("--size", type=int, default=65536)
    p.set_defaults(fn=cmd_oversize)

    p = sub.add_parser("conns")
    common(p)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--other-src", required=True)
    p.add_argument("--path", default="/latest/meta-data/instance-id")
    p.set_defaults(fn=cmd_conns)

    p = sub.add_parser("flood")
    common(p)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--flood-src", action="append", required=True)
    p.add_argument("--max-wait", type=float, default=8.0)
    p.add_argument("--path", default="/latest/meta-data/instance-id")
    p.set_defaults(fn=cmd_flood)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
