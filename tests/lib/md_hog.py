#!/usr/bin/env python3
"""md_hog.py: a hostile tenant hoarding connections (docs/reliability.md, class 5).

Holds --idle connections that never send a byte and --slow slowloris
connections that send a request's headers one byte every --interval seconds,
spread round-robin over the --src addresses and the --target HOST:PORT
listeners.  Whenever the server closes one, it is opened again after
--reconnect-delay seconds, so the hog keeps pressing for as long as it runs.

    md_hog.py --target 10.1.1.1:80 --target 10.1.1.1:8080 --src A --src B ...
              --idle 5000 --slow 500 --ready FILE --stats FILE

Writes FILE given by --ready (JSON) once every connection was tried at least
once, and the totals to --stats on SIGTERM/SIGINT or after --duration seconds:
  attempts, connected, connect_failed, closed_by_server, open (at the end),
  max_open, slow_bytes (header bytes sent by slowloris connections)
Only run inside the tests' network namespaces.
"""
import argparse
import errno
import json
import os
import selectors
import signal
import socket
import time

SLOW_HEAD = b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n"
SLOW_TAIL = b"X-Slow: " + b"a" * 4000 + b"\r\n"   # never ends before the server gives up


class Conn:
    __slots__ = ("sock", "target", "src", "slow", "sent", "state", "opened")

    def __init__(self, target, src, slow):
        self.sock = None
        self.target = target
        self.src = src
        self.slow = slow
        self.sent = 0
        self.state = "closed"
        self.opened = 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", action="append", required=True)
    ap.add_argument("--src", action="append", required=True)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=100)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--reconnect-delay", type=float, default=0.5)
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--ready", default="")
    ap.add_argument("--stats", default="")
    a = ap.parse_args()

    targets = []
    for t in a.target:
        h, p = t.rsplit(":", 1)
        targets.append((h, int(p)))
    conns = []
    for i in range(a.idle + a.slow):
        conns.append(Conn(targets[i % len(targets)], a.src[(i // len(targets)) % len(a.src)],
                          i >= a.idle))
    st = {"attempts": 0, "connected": 0, "connect_failed": 0, "closed_by_server": 0,
          "open": 0, "max_open": 0, "slow_bytes": 0}
    sel = selectors.DefaultSelector()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    pending = [(0.0, i) for i in range(len(conns))]   # (when, index) to (re)open
    tried = set()
    ready_written = not a.ready
    t_end = time.monotonic() + a.duration
    next_tick = time.monotonic() + a.interval

    def close(c, by_server):
        if c.sock is not None:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            c.sock = None
        if c.state == "open":
            st["open"] -= 1
        if by_server:
            st["closed_by_server"] += 1
        c.state = "closed"

    def open_(i):
        c = conns[i]
        tried.add(i)
        st["attempts"] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((c.src, 0))
            rc = s.connect_ex(c.target)
        except OSError:
            s.close()
            st["connect_failed"] += 1
            pending.append((time.monotonic() + a.reconnect_delay, i))
            return
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            st["connect_failed"] += 1
            pending.append((time.monotonic() + a.reconnect_delay, i))
            return
        c.sock, c.state, c.sent = s, "connecting", 0
        sel.register(s, selectors.EVENT_WRITE, i)

    while not stop and time.monotonic() < t_end:
        now = time.monotonic()
        due = [p for p in pending if p[0] <= now]
        if due:
            pending[:] = [p for p in pending if p[0] > now]
            for _, i in due:
                open_(i)
        if not ready_written and len(tried) == len(conns) and \
                not any(c.state == "connecting" for c in conns):
            with open(a.ready + ".tmp", "w") as f:
                json.dump(st, f)
            os.rename(a.ready + ".tmp", a.ready)
            ready_written = True
        if now >= next_tick:   # slowloris: one more header byte each
            next_tick = now + a.interval
            for c in conns:
                if c.slow and c.state == "open":
                    data = (SLOW_HEAD + SLOW_TAIL)[c.sent:c.sent + (len(SLOW_HEAD) if c.sent == 0 else 1)]
                    try:
                        n = c.sock.send(data)
                        c.sent += n
                        st["slow_bytes"] += n
                    except OSError:
                        pass
        for key, ev in sel.select(timeout=0.05):
            i = key.data
            c = conns[i]
            if c.state == "connecting":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    close(c, False)
                    st["connect_failed"] += 1
                    pending.append((time.monotonic() + a.reconnect_delay, i))
                    continue
                c.state = "open"
                st["connected"] += 1
                st["open"] += 1
                st["max_open"] = max(st["max_open"], st["open"])
                sel.modify(c.sock, selectors.EVENT_READ, i)
                continue
            try:
                data = c.sock.recv(4096)
            except OSError:
                data = b""
            if not data:   # the server closed it (or answered and closed): again, later
                close(c, True)
                pending.append((time.monotonic() + a.reconnect_delay, i))
    for c in conns:
        close(c, False)
    if a.stats:
        with open(a.stats + ".tmp", "w") as f:
            json.dump(st, f)
        os.rename(a.stats + ".tmp", a.stats)


if __name__ == "__main__":
    main()
