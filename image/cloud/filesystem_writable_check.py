#!/bin/bash
# /opt/cloud/bin/filesystem_writable_check.py: "Filesystem is writable" when
# the root file system and vrd's state directory take a file (the latter by
# vrd's own /healthz), else "Read-only file system: WHAT" and status 1.
. /opt/cloud/bin/cloud.sh
t=$(mktemp /var/cache/cloud/.writable.XXXXXX 2>/dev/null) && rm -f "$t" ||
	{ echo "Read-only file system: /"; exit 1; }
vrctl health >/dev/null 2>&1 || { echo "Read-only file system: vrd's state directory (vrd /healthz)"; exit 1; }
echo "Filesystem is writable"
