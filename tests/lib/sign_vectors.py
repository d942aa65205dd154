#!/usr/bin/python3
"""tests/lib/sign_vectors.py: request signatures made by the real clients'
own signers (python3-cs's CloudStack._sign and python3-libcloud's
CloudStack connection), printed as the C initialisers test_mgr_sign.c
carries.  Run with Debian's /usr/bin/python3 after `make deps`:

    /usr/bin/python3 tests/lib/sign_vectors.py
"""
import urllib.parse

from cs.client import CloudStack
from libcloud.common.cloudstack import CloudStackConnection

SECRET = "s3cr3t-Key_0"

# (signer, parameters): mixed-case names, values needing encoding.
CASES = [
    ("cs", {"command": "listVirtualMachines", "apiKey": "key1", "response": "json",
            "userId": "u-1", "userdata": "abc"}),
    ("cs", {"command": "deployVirtualMachine", "apiKey": "key1", "response": "json",
            "displayName": "web 1", "zoneid": "Z",
            "userdata": "I2Nsb3VkLWNvbmZpZwo=", "keypair": "k~1*"}),
    ("cs", {"command": "listZones", "apiKey": "key1", "response": "json",
            "signatureVersion": "3", "expires": "2099-01-01T00:00:00+0000"}),
    ("libcloud", {"command": "listTemplates", "apiKey": "key1", "response": "json",
                  "templatefilter": "executable", "name": "Debian 12 (x86_64)"}),
    ("libcloud", {"command": "registerSSHKeyPair", "apiKey": "key1", "response": "json",
                  "name": "k1", "publickey": "ssh-ed25519 AAAAC3Nza+/= me@host~*"}),
]


def cs_sign(params):
    c = CloudStack(endpoint="http://127.0.0.1:1/client/api", key="key1", secret=SECRET)
    data = dict(params)
    c._sign(data)
    return data["signature"]


def libcloud_sign(params):
    conn = CloudStackConnection("key1", SECRET, host="127.0.0.1", port=1)
    return conn._make_signature(dict(params)).decode()


def main():
    for signer, params in CASES:
        sig = cs_sign(params) if signer == "cs" else libcloud_sign(params)
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        print('\t{ "%s", "%s",\n\t    "%s" },' % (signer, query, sig))


if __name__ == "__main__":
    main()
