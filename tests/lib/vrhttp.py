#!/usr/bin/env python3
"""vrhttp.py: one HTTP request to vrd for the integration tests.

Usage: vrhttp.py URL METHOD PATH [options]
  --token-file F    send "Authorization: Bearer <contents of F>"
  --auth VALUE      send "Authorization: VALUE" verbatim (wins over --token-file)
  --body-file F     request body from F ("-": standard input)
  --body STR        request body
  --chunked         send the body with Transfer-Encoding: chunked
  --chunk-size N    bytes per chunk (default 4096)
  --out F           write the response body to F (default: standard output)
  --timeout S       seconds (default 30)

Prints the status code (000 when no response could be read, with the reason
on standard error) on standard output, or on standard error when --out is
not given.  Exit status 0 unless the arguments are wrong.
"""
import argparse
import http.client
import socket
import sys
from urllib.parse import urlsplit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("method")
    ap.add_argument("path")
    ap.add_argument("--token-file")
    ap.add_argument("--auth")
    ap.add_argument("--body-file")
    ap.add_argument("--body")
    ap.add_argument("--chunked", action="store_true")
    ap.add_argument("--chunk-size", type=int, default=4096)
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    u = urlsplit(a.url)
    body = None
    if a.body_file is not None:
        if a.body_file == "-":
            body = sys.stdin.buffer.read()
        else:
            with open(a.body_file, "rb") as f:
                body = f.read()
    elif a.body is not None:
        body = a.body.encode()

    headers = {}
    if a.auth is not None:
        headers["Authorization"] = a.auth
    elif a.token_file:
        with open(a.token_file) as f:
            headers["Authorization"] = "Bearer " + f.read().strip()

    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=a.timeout)
    status, data, why = "000", b"", ""
    try:
        conn.putrequest(a.method, a.path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Type", "application/json")
            if a.chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            else:
                conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            if body is not None and a.chunked:
                n = max(1, a.chunk_size)
                for i in range(0, len(body), n):
                    c = body[i:i + n]
                    conn.send(b"%x\r\n" % len(c) + c + b"\r\n")
                conn.send(b"0\r\n\r\n")
            elif body:
                conn.send(body)
        except (BrokenPipeError, ConnectionResetError) as e:
            # The server may answer (413) before it has read the whole body.
            why = "while sending: %s; " % e
        resp = conn.getresponse()
        status = "%03d" % resp.status
        data = resp.read()
    except (OSError, http.client.HTTPException) as e:
        why += "%s: %s" % (type(e).__name__, e)
        status = "000"
    finally:
        conn.close()

    if a.out:
        with open(a.out, "wb") as f:
            f.write(data)
        print(status)
    else:
        sys.stdout.buffer.write(data)
        print(status, file=sys.stderr)
    if status == "000":
        print("vrhttp: %s %s: %s" % (a.method, a.path, why), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
