#!/usr/bin/env bash
# tests/integration/mgr_clients.sh - vr-manager driven end to end by real
# CloudStack clients from Debian's packages, none written here: Apache
# Libcloud's CloudStack driver (python3-libcloud), python3-cs's CloudStack
# class and its `cloudstack` command line (package cs).  Each client does the
# whole journey of a new user, as alice, against a real vrd as the network's
# VR and the libvirt test driver: list zones, offerings, templates and
# networks; register an SSH key pair (made by ssh-keygen); deploy by the
# objects the lists returned, with user data and the key pair; list; stop;
# start; reboot; stop and reset the password; start; update the user data;
# list past one page; destroy everything; delete the key pair.  Every call is
# checked, and so is what it did: vrd's VM document (user data, public key)
# and pending password, the domains, host and pool usage and resource counts,
# and at the end that everything is back to zero.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init

for m in libcloud cs; do
	if ! /usr/bin/python3 -c "import $m" 2>/dev/null; then
		fail "python3 module $m is installed (make deps: python3-libcloud, python3-cs)"
		mgr_finish
	fi
done
if [ ! -x /usr/bin/cloudstack ] || ! command -v ssh-keygen >/dev/null; then
	fail "/usr/bin/cloudstack and ssh-keygen are installed (make deps: cs, openssh-client)"
	mgr_finish
fi

vrd_new vr
if ! vrd_start vr; then
	fail "vrd starts"
	mgr_finish
fi
W="$VT_TMP/m"
mgr_up m --hosts 2 --template-mib 2 \
    --vr-url "${VRD_URL[vr]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")" || mgr_finish
export VR_URL=${VRD_URL[vr]} VR_TOKEN_FILE=${VRD_TOKEN_FILE[vr]} VR_STATE=${VRD_STATE[vr]}
export POOL="$W/primary" KEYDIR="$VT_TMP/keys"
mkdir -p "$KEYDIR"

mgr_py m <<'EOF'
import base64, re, subprocess
from libcloud.compute.drivers.cloudstack import CloudStackNodeDriver
from cs import CloudStack

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PORT = int(URL.rsplit(":", 1)[1])
ENDPOINT = URL + "/client/api"
KEY, SECRET = "alice-key", "alice-secret"

def vr_doc(ip):
    try:
        with open(os.path.join(os.environ["VR_STATE"], "vms", ip + ".json")) as f:
            return json.load(f)
    except OSError:
        return None

def vr_password(ip):
    try:
        with open(os.path.join(os.environ["VR_STATE"], "passwords", ip)) as f:
            return f.read()
    except OSError:
        return None

def keygen(name):
    path = os.path.join(os.environ["KEYDIR"], name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path],
                   check=True, stdin=subprocess.DEVNULL)
    pub = open(path + ".pub").read().strip()
    out = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", path + ".pub"], check=True,
                         capture_output=True, text=True).stdout
    return pub, out.split()[1][len("MD5:"):]

def vm_row(uuid):
    r = q("SELECT v.state, c.ip, v.password, v.instance_name, v.userdata FROM vm v"
          " LEFT JOIN nic c ON c.vm_id = v.id WHERE v.uuid = ?", uuid)
    return r[0] if r else None

def ip_of(uuid):
    import ipaddress
    return str(ipaddress.IPv4Address(vm_row(uuid)[1]))


class Libcloud:
    """Apache Libcloud's CloudStack driver, with its own calls where it has them."""
    name = "libcloud"

    def __init__(self):
        self.d = CloudStackNodeDriver(KEY, SECRET, secure=False, host="127.0.0.1", port=PORT,
                                      path="/client/api")
        self.nodes = {}

    def catalogue(self):
        zones = self.d.list_locations()
        sizes = self.d.list_sizes()
        images = self.d.list_images(location=zones[0])
        nets = self.d.ex_list_networks()
        return ([z.id for z in zones], [s.id for s in sizes], [i.id for i in images],
                [n.id for n in nets])

    def register_key(self, name, pub):
        return self.d.import_key_pair_from_string(name, pub).fingerprint

    def deploy(self, zone, size, image, net, name, userdata, keypair, start=True):
        loc = [z for z in self.d.list_locations() if z.id == zone][0]
        sz = [s for s in self.d.list_sizes() if s.id == size][0]
        im = [i for i in self.d.list_images(location=loc) if i.id == image][0]
        nw = [n for n in self.d.ex_list_networks() if n.id == net][0]
        node = self.d.create_node(name=name, size=sz, image=im, location=loc, networks=[nw],
                                  ex_keyname=keypair, ex_userdata=userdata,
                                  ex_displayname=name.upper(), ex_start_vm=start)
        self.nodes[node.id] = node
        return node.id, node.state

    def listed(self):
        return {n.id: n.state for n in self.d.list_nodes()}

    def page(self, page, size):
        r = self.d._sync_request("listVirtualMachines", params={"page": page, "pagesize": size})
        return r.get("count"), [v["id"] for v in r.get("virtualmachine", [])]

    def stop(self, vid):
        return self.d.ex_stop(self.nodes[vid])

    def start(self, vid):
        return self.d.ex_start(self.nodes[vid])

    def reboot(self, vid):
        return self.d.reboot_node(self.nodes[vid])

    def reset_password(self, vid):
        r = self.d._async_request("resetPasswordForVirtualMachine", params={"id": vid})
        return r["virtualmachine"]["password"]

    def update_userdata(self, vid, b64):
        r = self.d._sync_request("updateVirtualMachine", params={"id": vid, "userdata": b64})
        return r["virtualmachine"]["id"]

    def userdata(self, vid):
        r = self.d._sync_request("getVirtualMachineUserData", params={"virtualmachineid": vid})
        return r["virtualmachineuserdata"]["userdata"]

    def destroy(self, vid):
        node = self.nodes.get(vid) or [n for n in self.d.list_nodes() if n.id == vid][0]
        return self.d.destroy_node(node, ex_expunge=True)

    def delete_key(self, name):
        return self.d.delete_key_pair(self.d.get_key_pair(name))


class PythonCs:
    """python3-cs's CloudStack class: signatureVersion 3, fetch_list paging."""
    name = "python-cs"

    def __init__(self):
        self.c = CloudStack(endpoint=ENDPOINT, key=KEY, secret=SECRET, fetch_result=True,
                            job_timeout=120, poll_interval=0.2)

    def catalogue(self):
        return ([z["id"] for z in self.c.listZones(fetch_list=True)],
                [o["id"] for o in self.c.listServiceOfferings(fetch_list=True)],
                [t["id"] for t in self.c.listTemplates(templatefilter="featured", fetch_list=True)],
                [n["id"] for n in self.c.listNetworks(fetch_list=True)])

    def register_key(self, name, pub):
        return self.c.registerSSHKeyPair(name=name, publickey=pub)["keypair"]["fingerprint"]

    def deploy(self, zone, size, image, net, name, userdata, keypair, start=True):
        vm = self.c.deployVirtualMachine(zoneid=zone, serviceofferingid=size, templateid=image,
                                         networkids=net, name=name, displayName=name.upper(),
                                         userdata=base64.b64encode(userdata.encode()).decode(),
                                         keypairs=keypair, startvm=str(start).lower())["virtualmachine"]
        return vm["id"], vm["state"]

    def listed(self):
        return {v["id"]: v["state"] for v in self.c.listVirtualMachines(fetch_list=True)}

    def page(self, page, size):
        r = self.c.listVirtualMachines(page=page, pagesize=size)
        return r.get("count"), [v["id"] for v in r.get("virtualmachine", [])]

    def stop(self, vid):
        return self.c.stopVirtualMachine(id=vid)["virtualmachine"]["state"]

    def start(self, vid):
        return self.c.startVirtualMachine(id=vid)["virtualmachine"]["state"]

    def reboot(self, vid):
        return self.c.rebootVirtualMachine(id=vid)["virtualmachine"]["state"]

    def reset_password(self, vid):
        return self.c.resetPasswordForVirtualMachine(id=vid)["virtualmachine"]["password"]

    def update_userdata(self, vid, b64):
        return self.c.updateVirtualMachine(id=vid, userdata=b64)["virtualmachine"]["id"]

    def userdata(self, vid):
        return self.c.getVirtualMachineUserData(virtualmachineid=vid)["virtualmachineuserdata"]["userdata"]

    def destroy(self, vid):
        return self.c.destroyVirtualMachine(id=vid, expunge="true")["virtualmachine"]["state"]

    def delete_key(self, name):
        return self.c.deleteSSHKeyPair(name=name)["success"]


class CsCli(PythonCs):
    """The `cloudstack` command line of package cs: one process per call."""
    name = "cs-cli"

    def __init__(self):
        self.env = dict(os.environ, CLOUDSTACK_ENDPOINT=ENDPOINT, CLOUDSTACK_KEY=KEY,
                        CLOUDSTACK_SECRET=SECRET, CLOUDSTACK_JOB_TIMEOUT="120",
                        CLOUDSTACK_POLL_INTERVAL="0.2", HOME=os.environ["KEYDIR"])
        self.c = self

    def __getattr__(self, cmd):
        def call(**kw):
            kw.pop("fetch_list", None)
            args = ["/usr/bin/cloudstack", "--quiet", cmd] + ["%s=%s" % kv for kv in kw.items()]
            p = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=180)
            if p.returncode != 0:
                raise RuntimeError("%s: exit %d: %s %s" % (cmd, p.returncode, p.stdout, p.stderr))
            r = json.loads(p.stdout)
            # a list command prints the response object; fetch_list callers want the list
            if cmd.startswith("list") and "page" not in kw:
                return next((v for k, v in r.items() if k != "count"), [])
            return r
        return call


def journey(A):
    t = A.name
    try:
        zones, offerings, templates, nets = A.catalogue()
    except Exception as e:
        fail("%s: the catalogue lists" % t, repr(e))
        return
    check("%s: one zone, offering, template and network, each with a UUID id" % t,
          all(len(x) == 1 and UUID.match(x[0]) for x in (zones, offerings, templates, nets)),
          zones, offerings, templates, nets)
    kname = "key-" + t
    pub, fp = keygen(kname)
    check_eq("%s: registerSSHKeyPair returns ssh-keygen's MD5 fingerprint" % t, fp,
             A.register_key(kname, pub))
    ud = "#cloud-config\n# %s journey\n" % t
    vid, state = A.deploy(zones[0], offerings[0], templates[0], nets[0], t + "-1", ud, kname)
    check("%s: deployVirtualMachine: a UUID id, Running" % t,
          UUID.match(vid) and state in ("Running", "running"), vid, state)
    row = vm_row(vid)
    ip = ip_of(vid)
    doc = vr_doc(ip) or {}
    check_eq("%s: vrd has the user data" % t, ud, doc.get("user_data"))
    check_eq("%s: vrd has the key pair's public key" % t, pub, doc.get("metadata", {}).get("public-keys"))
    check_eq("%s: vrd has the VM's password pending" % t, row[2], vr_password(ip))
    check_eq("%s: its domain runs" % t, [row[3]], all_domains())
    check_eq("%s: the list shows it Running" % t, ["running"],
             [str(s).lower() for s in A.listed().values()])
    used = sum(h[1] for h in hosts_used())
    check_eq("%s: stop" % t, "stopped", str(A.stop(vid)).lower() if A.name != "libcloud"
             else (A.stop(vid), vm_row(vid)[0])[1].lower())
    check_eq("%s: stopped: host CPU given back" % t, 0, sum(h[1] for h in hosts_used()))
    check_eq("%s: stopped: the pool keeps the volume's bytes" % t, 2 << 20,
             q1("SELECT SUM(used_bytes) FROM pool"))
    check_eq("%s: stopped: no domain" % t, [], all_domains())
    check("%s: stopped: vrd keeps the entry" % t, vr_doc(ip) is not None)
    check_eq("%s: stopped: resource counts unchanged" % t, 1, counts("alice").get("vm"))
    A.start(vid)
    check_eq("%s: start: Running on a host again" % t, ("Running", used),
             (vm_row(vid)[0], sum(h[1] for h in hosts_used())))
    check_eq("%s: started: its domain runs" % t, [row[3]], all_domains())
    A.reboot(vid)
    check_eq("%s: reboot: still Running" % t, "Running", vm_row(vid)[0])
    A.stop(vid)
    pw = A.reset_password(vid)
    check("%s: resetPasswordForVirtualMachine returns a new password" % t,
          pw and pw != row[2], pw, row[2])
    check_eq("%s: vrd has the new password pending" % t, pw, vr_password(ip))
    A.start(vid)
    ud2 = "#cloud-config\n# %s: updated\n" % t
    b64 = base64.b64encode(ud2.encode()).decode()
    check_eq("%s: updateVirtualMachine" % t, vid, A.update_userdata(vid, b64))
    check_eq("%s: vrd has the new user data at once" % t, ud2, (vr_doc(ip) or {}).get("user_data"))
    check_eq("%s: getVirtualMachineUserData" % t, b64, A.userdata(vid))
    more = [A.deploy(zones[0], offerings[0], templates[0], nets[0], "%s-%d" % (t, k), ud, kname,
                     start=(k == 2))[0] for k in (2, 3)]
    check_eq("%s: startvm=false leaves the VM Stopped, on no host, not at the VR" % t,
             ("Stopped", None), (vm_row(more[1])[0], vr_doc(ip_of(more[1]))))
    ids, seen, pages = set([vid] + more), [], 0
    while pages < 5:
        pages += 1
        count, page = A.page(pages, 2)
        check_eq("%s: page %d: count is every match" % (t, pages), 3, count)
        seen += page
        if len(seen) >= count or not page:
            break
    check_eq("%s: two pages of 2 list all three VMs once" % t, (2, sorted(ids)), (pages, sorted(seen)))
    for v in sorted(ids):
        A.destroy(v)
    check_eq("%s: destroyed: all Destroyed" % t, ["Destroyed"] * 3, [vm_row(v)[0] for v in sorted(ids)])
    check_eq("%s: destroyed: hosts' CPU and RAM back to 0" % t, [], [h for h in hosts_used() if h[1] or h[2]])
    check_eq("%s: destroyed: pools back to 0" % t, 0, q1("SELECT SUM(used_bytes) FROM pool"))
    check_eq("%s: destroyed: alice's counts back to 0" % t, {}, {k: v for k, v in counts("alice").items() if v})
    check_eq("%s: destroyed: vrd has no entry" % t, [], vr_vms())
    check_eq("%s: destroyed: no domain" % t, [], all_domains())
    check_eq("%s: destroyed: no NIC or volume rows" % t, (0, 0),
             (q1("SELECT COUNT(*) FROM nic"), q1("SELECT COUNT(*) FROM volume")))
    check_eq("%s: destroyed: the pool holds the template only" % t, [],
             [f for f in pool_files(os.environ["POOL"]) if not f.startswith("template-")])
    A.delete_key(kname)
    st, js = alice.call("listSSHKeyPairs")
    check_eq("%s: deleteSSHKeyPair: no key pair left" % t, 0, body(js).get("count"))

for A in (Libcloud, PythonCs, CsCli):
    try:
        journey(A())
    except Exception as e:
        import traceback
        fail("%s: the journey runs without an exception" % A.name, traceback.format_exc())
EOF
mgr_finish
