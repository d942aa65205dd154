# image/mirrors.sh: sourced by image/build.sh and image/guest.sh.
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
