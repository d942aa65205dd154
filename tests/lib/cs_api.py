#!/usr/bin/env python3
"""tests/lib/cs_api.py: a CloudStack API client written independently of
vr-manager's C code: signs requests the way CloudMonkey does (parameters
sorted by lower-cased key, values quote_plus-encoded with '+' as %20, the
whole string lower-cased, HMAC-SHA1, base64).

Library: Client(url, api_key, secret).call("listHosts", zoneid=...) returns
(http_status, json); wait_job(jobid) polls queryAsyncJobResult.
Command line (exit 0 on HTTP 200, 1 otherwise; prints the JSON):
  cs_api.py URL APIKEY SECRET COMMAND [key=value]...
  cs_api.py --wait URL APIKEY SECRET deployVirtualMachine key=value...
With --wait, CS_API_WAIT (seconds, 60) bounds the wait and CS_API_POLL (seconds, 0.005) is
the polling interval.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def signature(params, secret):
    pairs = sorted(params.items(), key=lambda kv: kv[0].lower())
    canon = "&".join(
        k.lower() + "=" + urllib.parse.quote_plus(str(v)).replace("+", "%20").lower()
        for k, v in pairs)
    digest = hmac.new(secret.encode(), canon.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Client:
    def __init__(self, url, api_key, secret, timeout=30):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.secret = secret
        self.timeout = timeout

    def query(self, command, params, secret=None):
        p = {"command": command, "response": "json", "apiKey": self.api_key}
        p.update({k: str(v) for k, v in params.items()})
        p["signature"] = signature(p, secret if secret is not None else self.secret)
        return urllib.parse.urlencode(p)

    def raw(self, query, method="GET"):
        if method == "GET":
            req = urllib.request.Request(self.url + "/client/api?" + query)
        else:
            req = urllib.request.Request(
                self.url + "/client/api", data=query.encode(), method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body)
            except ValueError:
                return e.code, {"raw": body.decode(errors="replace")}

    def call(self, command, method="GET", **params):
        return self.raw(self.query(command, params), method)

    def wait_job(self, jobid, timeout=60, poll=0.005):
        deadline = time.monotonic() + timeout
        while True:
            st, js = self.call("queryAsyncJobResult", jobid=jobid)
            res = js.get("queryasyncjobresultresponse", {})
            if st != 200 or res.get("jobstatus", 0) != 0:
                return st, js
            if time.monotonic() > deadline:
                return 0, {"error": "job %s still pending after %ss" % (jobid, timeout)}
            time.sleep(poll)  # polling interval, as a client does


def main(argv):
    wait = False
    if argv and argv[0] == "--wait":
        wait = True
        argv = argv[1:]
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, key, secret, command = argv[:4]
    params = dict(a.split("=", 1) for a in argv[4:])
    c = Client(url, key, secret)
    st, js = c.call(command, **params)
    if wait and st == 200:
        jobid = next(iter(js.values())).get("jobid")
        st, js = c.wait_job(jobid, float(os.environ.get("CS_API_WAIT", "60")),
                            float(os.environ.get("CS_API_POLL", "0.005")))
    print(json.dumps(js, indent=1))
    return 0 if st == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
