#!/usr/bin/env python3
"""notify_listen.py SOCKET OUT: stands in for systemd's notification socket.

Binds an AF_UNIX datagram socket at SOCKET (mode 0777, so a daemon that has
dropped to another user can still send) and appends every message it
receives to OUT, one line per "KEY=VALUE" assignment, each prefixed with the
monotonic receive time in milliseconds and the sender's pid
("12345.678 4242 READY=1").  Runs until killed (SIGTERM)."""
import os
import signal
import socket
import struct
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    with open(out, "a", buffering=1) as f:
        while True:
            data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = 0
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", val[:12])[0]
            now = time.monotonic() * 1000
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    f.write("%.3f %d %s\n" % (now, pid, line))


if __name__ == "__main__":
    main()
