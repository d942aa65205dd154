#!/usr/bin/env python3
"""qga.py: speaks the QEMU guest agent's JSON protocol over the virtio-serial
channel's host socket, as CloudStack's KVM agent does (through libvirt's
qemu-agent-command) when it starts a system VM: ping, then write files with
guest-file-open / guest-file-write / guest-file-close.

  qga.py SOCKET wait TIMEOUT          guest-sync until the agent answers
  qga.py SOCKET write GUEST_PATH FILE  writes FILE's bytes to GUEST_PATH
Exit status 0 on success, 1 with the agent's error on stderr."""
import base64
import json
import random
import socket
import sys
import time


class Agent:
    def __init__(self, path, timeout):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("agent socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def sync(self):
        """guest-sync with a fresh id; skips stale replies of earlier tries."""
        sid = random.randint(1, 2**31)
        self.s.sendall(json.dumps({"execute": "guest-sync", "arguments": {"id": sid}}).encode())
        while True:
            line = self._line().strip().lstrip(b"\xff")
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("return") == sid:
                return

    def call(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode())
        r = json.loads(self._line())
        if "error" in r:
            raise RuntimeError("%s: %s" % (cmd, r["error"].get("desc", r["error"])))
        return r.get("return")


def main():
    sock, op = sys.argv[1], sys.argv[2]
    if op == "wait":
        deadline = time.monotonic() + float(sys.argv[3])
        while True:
            try:
                a = Agent(sock, 3)
                a.sync()
                a.call("guest-ping")
                return 0
            except (OSError, ConnectionError, ValueError):
                if time.monotonic() > deadline:
                    print("qga.py: no answer from the guest agent", file=sys.stderr)
                    return 1
                time.sleep(0.5)
    if op == "write":
        path, src = sys.argv[3], sys.argv[4]
        data = open(src, "rb").read()
        a = Agent(sock, 30)
        a.sync()
        h = a.call("guest-file-open", path=path, mode="w+")
        try:
            w = a.call("guest-file-write", handle=h, **{"buf-b64": base64.b64encode(data).decode()})
            if w.get("count") != len(data):
                raise RuntimeError("wrote %s of %d bytes" % (w.get("count"), len(data)))
        finally:
            a.call("guest-file-close", handle=h)
        return 0
    print("usage: qga.py SOCKET wait TIMEOUT | write GUEST_PATH FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError, ValueError) as e:
        print("qga.py: %s" % e, file=sys.stderr)
        sys.exit(1)
