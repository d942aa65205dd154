# image/mirrors.sh: what image/build.sh and image/guest.sh share (sourced by both).
# shellcheck shell=bash
# image_mirrors SUITE: the Debian entries of this machine's apt sources (deb822 and one-line),
# as one-line "deb URI SUITE COMPONENTS" for mmdebstrap.
image_mirrors() {
	python3 - "$1" /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources <<'PY'
import re, sys, os
suite = sys.argv[1]
ok = re.compile(r"^%s(-updates|-security)?$" % re.escape(suite))
out = []
for path in sys.argv[2:]:
    if not os.path.isfile(path):
        continue
    text = open(path).read()
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            f = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                f[k.strip().lower()] = v.strip()
            if "deb" not in f.get("types", "").split() or f.get("enabled", "yes") == "no":
                continue
            for uri in f.get("uris", "").split():
                for s in f.get("suites", "").split():
                    if ok.match(s):
                        out.append("deb %s %s %s" % (uri, s, f.get("components", "main")))
    else:
        for line in text.splitlines():
            w = line.split("#", 1)[0].split()
            if len(w) >= 4 and w[0] == "deb" and not w[1].startswith("["):
                if ok.match(w[2]):
                    out.append(" ".join(w))
for line in dict.fromkeys(out):
    print(line)
PY
}

# mmdebstrap_common APT_CACHE: MMDEBSTRAP_COMMON, the options both images are
# built with: a minbase root in a directory, without manuals, locales, info
# and documentation but for copyrights, apt's downloaded packages kept in
# APT_CACHE between builds (the hooks' own "$1" is mmdebstrap's root).
mmdebstrap_common() {
	MMDEBSTRAP_COMMON=(--variant=minbase --mode=root --format=directory
		--dpkgopt='path-exclude=/usr/share/man/*'
		--dpkgopt='path-exclude=/usr/share/locale/*'
		--dpkgopt='path-include=/usr/share/locale/locale.alias'
		--dpkgopt='path-exclude=/usr/share/doc/*'
		--dpkgopt='path-include=/usr/share/doc/*/copyright'
		--dpkgopt='path-exclude=/usr/share/info/*'
		--skip=essential/unlink
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
		--setup-hook="sync-in '$1' /var/cache/apt/archives/"
		--customize-hook="sync-out /var/cache/apt/archives '$1'"
		--customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages "$1"/var/lib/apt/lists/*_InRelease')
}
