#!/bin/bash
# /opt/cloud/bin/cleanup.sh: removes processed configuration files
# (/var/cache/cloud/processed/*.gz) older than CLEANUP_DAYS (default 7) and
# reports how many went.
. /opt/cloud/bin/cloud.sh
days=${CLEANUP_DAYS:-7}
n=$(find "$CACHE/processed" -maxdepth 1 -type f -mtime +"$days" -print -delete 2>/dev/null | wc -l)
cloud_log "removed $n processed file(s) older than $days days"
echo "cleanup: removed $n processed file(s) older than $days days"
