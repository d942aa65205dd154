#!/usr/bin/python3
"""tests/lib/dns_a.py NAME SERVER: asks SERVER (UDP port 53) for NAME's A records
once and prints the addresses of the answer, sorted, space-separated; nothing for
an answer without any; "no answer" (exit 1) when none comes within 2 s."""
import socket
import struct
import sys


def main():
    name, server = sys.argv[1], sys.argv[2]
    q = struct.pack(">HHHHHH", 0x5a5a, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(q, (server, 53))
    try:
        r, _ = s.recvfrom(4096)
    except socket.timeout:
        print("no answer")
        return 1
    if r[:2] != q[:2]:
        print("no answer")
        return 1
    count = struct.unpack(">H", r[6:8])[0]
    i = 12
    while r[i]:
        i += r[i] + 1
    i += 5
    ips = []
    for _ in range(count):
        if r[i] & 0xC0 == 0xC0:
            i += 2
        else:
            while r[i]:
                i += r[i] + 1
            i += 1
        rtype, _, _, rlen = struct.unpack(">HHIH", r[i:i + 10])
        i += 10
        if rtype == 1:
            ips.append(socket.inet_ntoa(r[i:i + rlen]))
        i += rlen
    print(" ".join(sorted(ips)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
