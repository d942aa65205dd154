#!/usr/bin/env python3
"""md_loop.py: guests fetching from vr-metadata in a loop, for the restart test.

Usage: md_loop.py --host ADDR --port N --workdir DIR SRC=WANT... [--path P]

One thread per SRC=WANT pair: it GETs PATH (default
/latest/meta-data/instance-id) from source address SRC, one request after
the other, each on a new connection, and expects status 200 and body WANT.
Each request ends as one of:
  ok        200 and the expected body
  refused   the connection was refused (nothing listens: nothing was in
            flight); the thread waits 5 ms and goes on
  lost      the connection was accepted but no complete, correct answer came
            (reset, closed early, timeout, another status or body)
Every 20 ms DIR/progress is replaced with "ok N refused N lost N".  The loop
ends when DIR/stop exists; then DIR/result.json gets the counts, and the
first lost requests' details.  Run it inside the tests' network namespace.
"""
import argparse
import json
import os
import socket
import threading
import time

counts = {"ok": 0, "refused": 0, "lost": 0}
lost_details = []
lock = threading.Lock()


def one(src, host, port, path, want, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            return "refused", ""
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, host)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        return "lost", "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 ") or body != want.encode():
        return "lost", repr(data[:200])
    return "ok", ""


def worker(a, src, want, stop):
    while not stop.is_set():
        what, why = one(src, a.host, a.port, a.path, want)
        with lock:
            counts[what] += 1
            if what == "lost" and len(lost_details) < 20:
                lost_details.append({"src": src, "at": time.time(), "why": why})
        if what == "refused":
            time.sleep(0.005)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--path", default="/latest/meta-data/instance-id")
    ap.add_argument("pairs", nargs="+")
    a = ap.parse_args()
    stop = threading.Event()
    threads = []
    for p in a.pairs:
        src, want = p.split("=", 1)
        t = threading.Thread(target=worker, args=(a, src, want, stop), daemon=True)
        t.start()
        threads.append(t)
    prog = os.path.join(a.workdir, "progress")
    while not os.path.exists(os.path.join(a.workdir, "stop")):
        with lock:
            line = "ok %d refused %d lost %d\n" % (counts["ok"], counts["refused"], counts["lost"])
        with open(prog + ".tmp", "w") as f:
            f.write(line)
        os.replace(prog + ".tmp", prog)
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join(10)
    with open(os.path.join(a.workdir, "result.json"), "w") as f:
        json.dump({"counts": counts, "threads": len(threads), "lost": lost_details}, f)


if __name__ == "__main__":
    main()
