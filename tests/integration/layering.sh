#!/usr/bin/env bash
# tests/integration/layering.sh - the folders' dependencies as built: the
# state directory's readers, vr-metadata and vr-manager, link nothing of
# vrd/ (its control parser, batches, store), of dhcp/ or of each other; only
# lib/, state/ and their own folder.  Each binary's defined symbols (nm) are
# compared with those of every object built from a folder it must not use.
# So that the check can fail, vrd itself must be found to link vrd/'s
# control parser (cmd_batch_parse) by the same comparison.  Last, no source
# in state/, dhcp/, metadata/ or manager/ names a header of vrd/ by path.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
vt_init

# folder_syms FOLDER: the global symbols the folder's objects define (not
# main); only objects whose source is still in the folder (a build tree
# may keep the objects of files since moved elsewhere).
folder_syms() {
	local o objs=()
	for o in "$BUILD/obj/$1"/*.o; do
		[ -f "$ROOT/$1/$(basename "${o%.o}").c" ] && objs+=("$o")
	done
	[ ${#objs[@]} -gt 0 ] && nm --defined-only -g "${objs[@]}" 2>/dev/null |
	    awk 'NF == 3 && $3 != "main" { print $3 }' | sort -u
}

# bin_syms BINARY: the global symbols the binary defines.
bin_syms() {
	nm --defined-only -g "$1" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u
}

# check_links BINARY FOLDER WANT: whether BINARY defines symbols of FOLDER
# (WANT yes or no); names a few of them when it should not.
check_links() {
	local bin=$1 folder=$2 want=$3 common n
	common=$(comm -12 <(bin_syms "$BUILD/$bin") <(folder_syms "$folder"))
	n=$(grep -c . <<<"$common")
	if [ "$want" = no ] && [ "$n" -eq 0 ]; then
		ok "$bin links nothing of $folder/"
	elif [ "$want" = no ]; then
		fail "$bin links nothing of $folder/" "$n symbols of $folder/, e.g." \
		    "$(head -n 10 <<<"$common")"
	elif grep -qx cmd_batch_parse <<<"$common"; then
		ok "$bin links $folder/'s control parser (cmd_batch_parse): the check sees it"
	else
		fail "$bin links $folder/'s control parser (cmd_batch_parse): the check sees it" \
		    "symbols in common: $n"
	fi
}

for f in vrd dhcp metadata manager state lib; do
	if [ -z "$(folder_syms "$f")" ]; then
		fail "$BUILD/obj/$f/ holds objects with symbols (make all unit)"
	fi
done
check_links vrd vrd yes
check_links vr-metadata vrd no
check_links vr-metadata dhcp no
check_links vr-metadata manager no
check_links vr-manager vrd no
check_links vr-manager dhcp no
check_links vr-manager metadata no

hits=$(cd "$ROOT" && grep -nE '^#[[:space:]]*include[[:space:]]*"[^"]*vrd/' \
    state/*.[ch] dhcp/*.[ch] metadata/*.[ch] manager/*.[ch] 2>/dev/null)
if [ -z "$hits" ]; then
	ok "no source in state/, dhcp/, metadata/ or manager/ includes a header of vrd/ by path"
else
	fail "no source in state/, dhcp/, metadata/ or manager/ includes a header of vrd/ by path" "$hits"
fi
vt_finish
