#!/bin/bash
# /opt/cloud/bin/get_template_version.sh: "<release>&<scripts signature>", as
# CloudStack's management server reads it: the release is the running vrd's
# version (vrd --version), the signature the MD5 of the scripts in
# /opt/cloud/bin, which changes whenever they do.
. /opt/cloud/bin/cloud.sh
ver=$(vrd --version 2>/dev/null | head -n 1)
[ -n "$ver" ] || { echo "get_template_version.sh: vrd --version gave nothing" >&2; exit 1; }
sig=$(cd /opt/cloud/bin && find . -type f | LC_ALL=C sort | xargs md5sum | md5sum | cut -d' ' -f1)
echo "Cloudstack Release ${ver##* } ($ver)&$sig"
