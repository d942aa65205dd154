#!/bin/bash
# /opt/cloud/bin/vr_cfg.sh -c CFG: the aggregated configuration CloudStack's
# agent sends at router start (VR-<uuid>.cfg: a <version>, then <file> blocks,
# a path line and the content, and <script> blocks, one command line each).
# Every file is written; the scripts that hand a router file to
# update_config.py are applied together as ONE vrd batch (all or nothing,
# one dnsmasq reload), so a router with thousands of VMs converges in one
# step; other scripts run in order afterwards (files outside the router's
# scope are logged as not applicable by update_config.py).  The CFG is kept
# as processed/<name>.gz.  Exit status 0, or 1 with the reason on stderr.
. /opt/cloud/bin/cloud.sh
cfg=
while getopts 'c:' o; do case $o in c) cfg=$OPTARG ;; *) exit 2 ;; esac; done
[ -n "$cfg" ] && [ -f "$cfg" ] || { echo "usage: vr_cfg.sh -c CFG (a readable file)" >&2; exit 2; }

batch=() scripts=()
mode= file=
while IFS= read -r line || [ -n "$line" ]; do
	case "$mode" in
	file)
		if [ "$line" = "</file>" ]; then mode=; continue; fi
		if [ -z "$file" ]; then
			file=$line
			case "$file" in "$CACHE"/*) ;; *)
				echo "vr_cfg.sh: file $file is outside $CACHE" >&2; exit 1 ;; esac
			case "$file" in */../*|*/..) echo "vr_cfg.sh: bad path $file" >&2; exit 1 ;; esac
			mkdir -p "$(dirname "$file")"
			: >"$file"
			continue
		fi
		printf '%s\n' "$line" >>"$file" ;;
	script)
		if [ "$line" = "</script>" ]; then mode=; continue; fi
		scripts+=("$line") ;;
	version)
		if [ "$line" = "</version>" ]; then mode=; continue; fi
		cloud_log "VR config: format version $line" ;;
	*)
		case "$line" in
		'<file>') mode=file file= ;;
		'<script>') mode=script ;;
		'<version>') mode=version ;;
		esac ;;
	esac
done <"$cfg"

rest=()
for s in "${scripts[@]}"; do
	read -r cmd arg _ <<<"$s"
	name=$(basename "${arg:-x}")
	if [ "$(basename "$cmd")" = update_config.py ] && [ -n "$(cloud_type "$name")" ] &&
	    [ -f "$CACHE/$name" ]; then
		batch+=("$CACHE/$name")
	else
		rest+=("$s")
	fi
done

rc=0
if [ ${#batch[@]} -gt 0 ]; then
	if out=$(vrctl apply "${batch[@]}" 2>&1); then
		cloud_log "VR config: ${#batch[@]} file(s) as one batch: $out"
		printf '%s\n' "$out"
		for f in "${batch[@]}"; do cloud_processed "$f"; done
	else
		cloud_log "VR config: batch of ${#batch[@]} file(s) refused: $out"
		echo "VR config: batch of ${#batch[@]} file(s) refused: $out" >&2
		rc=1
	fi
fi
if [ $rc = 0 ]; then
	for s in "${rest[@]}"; do
		read -r cmd args <<<"$s"
		case "$cmd" in /opt/cloud/bin/*) ;; *) cmd=/opt/cloud/bin/$(basename "$cmd") ;; esac
		if [ ! -x "$cmd" ]; then
			cloud_log "VR config: $s: not applicable to this router"
			continue
		fi
		# shellcheck disable=SC2086 # the arguments are words, as CloudStack's eval gives them
		if ! out=$("$cmd" $args 2>&1); then
			cloud_log "VR config: executing failed: $s: $out"
			echo "VR config: execution failed: \"$s\": $out" >&2
			rc=1
			break
		fi
		cloud_log "VR config: $s: $out"
	done
fi
cloud_processed "$cfg"
exit $rc
