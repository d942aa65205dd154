/* store.c: durable batches in the state directory.
 *
 * A batch is committed as: (1) a redo journal holding the new content of
 * every source file it changes (vms/<ip>.json, passwords/<ip>,
 * networks.json), written and synced atomically; (2) every changed file,
 * source and derived, written to its temporary name and made durable; (3)
 * the renames and removals, then a sync of each directory; (4) the
 * journal removed.  A crash before (1) completes leaves the old state, a
 * crash after it is rolled forward at the next start by replaying the
 * journal, and derived files are always re-rendered from the sources.
 *
 * dnsmasq's files: reading N hosts costs dnsmasq 2.90 Theta(N^2) (for each
 * dhcp-host it walks all those read before), on SIGHUP as at start.  So a
 * batch whose only change to them adds entries (VMs newly given a default
 * DHCP entry) writes just the added lines, one file per kind and batch, to
 * dhcphosts.d/ and hosts.d/, which dnsmasq watches (inotify) and reads
 * without a SIGHUP.  Anything else (an entry removed or changed, a guest
 * network, a non-default NIC), the added_max-th such batch, a bulk addition
 * (see plan_sources) and every start compact: dhcphosts, dhcpopts and hosts rewritten whole, both directories
 * emptied, one SIGHUP. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "doc.h"
#include "err.h"
#include "fileio.h"
#include "journal.h"
#include "log.h"
#include "statedir.h"
#include "store.h"

static const char *const sd_names[SD_NDIRS] = { ".", STATE_VMS, STATE_PASSWORDS,
	STATE_DHCPHOSTS_D, STATE_HOSTS_D };

/* Where the lines a batch adds to a dnsmasq file go (SD_TOP: never added). */
static const enum store_dir added_dir[DF_NFILES] = {
	[DF_DHCPHOSTS] = SD_DHCPHOSTS_D, [DF_HOSTS] = SD_HOSTS_D,
};

void
store_file_mode(const struct store *s, enum store_dir d, mode_t *mode, uid_t *uid, gid_t *gid)
{
	*uid = AF_KEEP_OWNER;
	*gid = (gid_t)-1;
	switch (d) {
	case SD_VMS:
		*mode = 0640;
		*uid = geteuid(); /* ours, the metadata user's group */
		*gid = s->md_gid;
		break;
	case SD_PASSWORDS:
		*mode = 0600;
		*uid = s->md_uid;
		*gid = s->md_gid;
		break;
	default:
		*mode = 0644;
	}
	if (*uid != AF_KEEP_OWNER && !s->can_chown)
		*uid = AF_KEEP_OWNER; /* unprivileged (tests): files stay ours */
}

/* Whether this process may give files away: CAP_CHOWN in its effective set
 * (root, or vrd.service's own user with that ambient capability). */
static bool
can_chown(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d) < 0)
		return geteuid() == 0;
	return d[0].effective & (1u << CAP_CHOWN);
}

/* Makes (or opens) a directory with that mode and, when chown is set, owner;
 * changes only what differs, so a directory already right (tmpfiles.d) needs
 * no privilege. */
static int
ensure_dir(int parent, const char *name, mode_t mode, bool chown, uid_t uid, gid_t gid, int *out)
{
	struct stat sb;
	int fd;

	if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 ||
	    ((sb.st_mode & 07777) != mode && fchmod(fd, mode) < 0) ||
	    (chown && (sb.st_uid != uid || sb.st_gid != gid) && fchown(fd, uid, gid) < 0)) {
		int r = -errno;

		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

static int
path_join(char **out, const char *dir, const char *name)
{
	return asprintf(out, "%s/%s", dir, name) < 0 ? -ENOMEM : 0;
}

bool
store_name_valid(enum store_dir d, const char *name)
{
	uint32_t ip;
	char tmp[64];
	size_t n = strlen(name);

	if (d == SD_TOP)
		return !strcmp(name, STATE_NETWORKS);
	if (d == SD_VMS) {
		if (n < 6 || n >= sizeof(tmp) || strcmp(name + n - 5, ".json"))
			return false;
		memcpy(tmp, name, n - 5);
		tmp[n - 5] = '\0';
		return ip4_parse(tmp, &ip) == 0;
	}
	return d == SD_PASSWORDS && ip4_parse(name, &ip) == 0;
}

int
store_generation_write(struct store *s, uint64_t gen, bool sync, struct af_stage *st)
{
	char g[32];
	int n = snprintf(g, sizeof(g), "%" PRIu64 "\n", gen);

	if (st)
		return af_stage(s->fd[SD_TOP], STATE_GENERATION, g, (size_t)n, 0644, AF_KEEP_OWNER, 0,
		    sync, st);
	return af_write(s->fd[SD_TOP], STATE_GENERATION, g, (size_t)n, 0644, AF_KEEP_OWNER, 0);
}

/* Moves a state file that cannot be loaded to quarantine/<dir>-<name>[.N],
 * where no reader looks, so that everything else can be served.  Returns 0
 * or a negative errno (then the file stays and loading must stop). */
int
store_quarantine(struct store *s, enum store_dir d, const char *name, const char *why)
{
	char to[96];
	int qfd, r = 0;

	if ((r = ensure_dir(s->fd[SD_TOP], STATE_QUARANTINE, 0700, false, 0, 0, &qfd)) < 0)
		goto out;
	for (int i = 0; i < 1000; i++) {
		struct stat sb;

		snprintf(to, sizeof(to), i ? "%s-%.64s.%d" : "%s-%.64s",
		    d == SD_TOP ? "top" : sd_names[d], name, i);
		if (fstatat(qfd, to, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			break;
	}
	if (renameat(s->fd[d], name, qfd, to) < 0)
		r = -errno;
	else if ((r = fsync_dir(qfd)) == 0)
		r = fsync_dir(s->fd[d]);
	close(qfd);
out:
	if (r < 0) {
		log_err(r, "state: %s/%s cannot be loaded (%s) nor moved aside", sd_names[d], name,
		    why);
		return r;
	}
	s->quarantined++;
	log_warnx("state: %s/%s cannot be loaded (%s): moved to quarantine/%s; everything else "
	    "is served", sd_names[d], name, why, to);
	return 0;
}
/* --- open and load ----------------------------------------------------------- */

int
store_open(struct store *s, const char *dir, const char *leasefile, uid_t md_uid,
    gid_t md_gid, char *err, size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SD_NDIRS; i++)
		s->fd[i] = -1;
	for (int i = 0; i < DF_NFILES; i++)
		buf_init(&s->derived[i]);
	s->md_uid = md_uid;
	s->md_gid = md_gid;
	s->can_chown = can_chown();
	s->sync_batch = 16;
	s->added_max = STORE_ADDED_MAX;
	s->added_share = STORE_ADDED_SHARE;
	if (!(s->dir = strdup(dir)) || path_join((char **)&s->paths.hostsfile, dir, STATE_DHCPHOSTS) ||
	    path_join((char **)&s->paths.optsfile, dir, STATE_DHCPOPTS) ||
	    path_join((char **)&s->paths.addnhosts, dir, STATE_HOSTS) ||
	    path_join((char **)&s->paths.hostsdir, dir, STATE_DHCPHOSTS_D) ||
	    path_join((char **)&s->paths.addnhostsdir, dir, STATE_HOSTS_D) ||
	    !(s->paths.leasefile = strdup(leasefile))) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((r = ensure_dir(AT_FDCWD, dir, 0755, s->can_chown, geteuid(), getegid(),
		 &s->fd[SD_TOP])) < 0 ||
	    (r = ensure_dir(s->fd[SD_TOP], STATE_VMS, 0750, s->can_chown, geteuid(), md_gid,
		 &s->fd[SD_VMS])) < 0 ||
	    (r = ensure_dir(s->fd[SD_TOP], STATE_PASSWORDS, 0700, s->can_chown, md_uid, md_gid,
		 &s->fd[SD_PASSWORDS])) < 0 ||
	    (r = ensure_dir(s->fd[SD_TOP], STATE_DHCPHOSTS_D, 0755, false, 0, 0,
		 &s->fd[SD_DHCPHOSTS_D])) < 0 ||
	    (r = ensure_dir(s->fd[SD_TOP], STATE_HOSTS_D, 0755, false, 0, 0,
		 &s->fd[SD_HOSTS_D])) < 0) {
		snprintf(err, errlen, "state-dir %s: %s", dir, strerror(-r));
		goto fail;
	}
	for (int i = 0; i < SD_NDIRS; i++)
		af_sweep(s->fd[i]);
	if ((r = journal_replay(s, err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	store_close(s);
	return r;
}

void
store_close(struct store *s)
{
	for (int i = 0; i < SD_NDIRS; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	for (int i = 0; i < DF_NFILES; i++)
		buf_free(&s->derived[i]);
	free(s->dir);
	free((char *)s->paths.hostsfile);
	free((char *)s->paths.optsfile);
	free((char *)s->paths.addnhosts);
	free((char *)s->paths.leasefile);
	free((char *)s->paths.hostsdir);
	free((char *)s->paths.addnhostsdir);
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SD_NDIRS; i++)
		s->fd[i] = -1;
}

static int
load_generation(struct store *s, struct state *st)
{
	char *buf = NULL, *end;
	size_t len;
	int r = file_read_at(s->fd[SD_TOP], STATE_GENERATION, 64, &buf, &len);

	st->generation = 0;
	if (r == -ENOENT)
		return 0;
	if (r == 0) {
		st->generation = strtoull(buf, &end, 10);
		r = (end == buf || (*end && *end != '\n')) ? -EINVAL : 0;
		free(buf);
	}
	if (r == -EINVAL || r == -EFBIG) {
		st->generation = 0;
		return store_quarantine(s, SD_TOP, STATE_GENERATION, "not a number; counting from 0");
	}
	return r;
}

static int
load_networks(struct store *s, struct state *st, char *err, size_t errlen)
{
	struct cmd_batch b;
	struct cmd_error ce;
	char *buf = NULL;
	size_t len;
	int r = file_read_at(s->fd[SD_TOP], STATE_NETWORKS, VM_DOC_MAX, &buf, &len);

	if (r == -ENOENT)
		return 0;
	if (r == 0) {
		r = nets_doc_parse(buf, len, &b, &ce);
		free(buf);
		if (r == 0 && b.n > NET_MAX) {
			snprintf(ce.msg, sizeof(ce.msg), "over %d networks", NET_MAX);
			cmd_batch_free(&b);
			r = -EINVAL;
		}
	}
	if (r == -EINVAL || r == -EFBIG)
		r = store_quarantine(s, SD_TOP, STATE_NETWORKS, r == -EINVAL ? ce.msg : strerror(-r));
	else if (r == 0) {
		for (size_t i = 0; i < b.n; i++)
			st->nets[i] = b.v[i].u.gn.net;
		st->nnet = b.n;
		cmd_batch_free(&b);
		return 0;
	}
	if (r < 0)
		snprintf(err, errlen, "networks.json: %s", strerror(-r));
	return r;
}

/* Reads and parses one vms/ entry; -EINVAL or -EFBIG (why says it) for one
 * that cannot be loaded. */
static int
load_vm(struct store *s, const struct state *st, const char *name, struct vm **out,
    char *why, size_t whylen)
{
	char *buf = NULL;
	size_t len;
	int r;

	*out = NULL;
	if (!store_name_valid(SD_VMS, name)) {
		snprintf(why, whylen, "not an <ipv4>.json name");
		return -EINVAL;
	}
	if ((r = file_read_at(s->fd[SD_VMS], name, VM_DOC_MAX, &buf, &len)) < 0) {
		snprintf(why, whylen, "%s", strerror(-r));
		return r;
	}
	r = vm_doc_parse(buf, len, out, why, whylen);
	free(buf);
	if (r < 0)
		return r;
	/* vrd refuses such names; one kept from before that never resolves
	 * to a VM (the renderers need not look at every name again). */
	if ((*out)->host[0] && (host_name_reserved((*out)->host) || host_is_router(st, (*out)->host))) {
		log_warnx("state: vms/%s: host name \"%s\" is reserved or the router's: not served "
		    "in DNS or DHCP", name, (*out)->host);
		(*out)->host[0] = '\0';
	}
	if (state_vm(st, (*out)->ip) || ((*out)->has_dhcp && state_vm_by_mac(st, (*out)->mac))) {
		snprintf(why, whylen, "its IP or MAC is another document's");
		vm_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

static int
load_vms(struct store *s, struct state *st, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int fd, r = 0;

	fd = openat(s->fd[SD_VMS], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return err_set(err, errlen, r, "vms/: %s", strerror(-r));
	}
	while ((de = readdir(d))) {
		char why[128];
		struct vm *v = NULL;

		if (de->d_name[0] == '.')
			continue;
		r = load_vm(s, st, de->d_name, &v, why, sizeof(why));
		if (r == -EINVAL || r == -EFBIG)
			r = store_quarantine(s, SD_VMS, de->d_name, why);
		else if (r == 0 && (r = state_insert(st, v)) < 0)
			vm_free(v);
		if (r < 0) {
			snprintf(err, errlen, "vms/%s: %s", de->d_name, strerror(-r));
			break;
		}
	}
	closedir(d);
	return r;
}

static int
render_dnsmasq_file(const struct store *s, const struct state *st, enum dnsmasq_file f,
    struct buf *b)
{
	dnsmasq_file_render(f, st, &s->paths, b);
	return b->oom ? -ENOMEM : 0;
}

/* Whether a change only gives a VM a default DHCP entry it did not have:
 * lines added to dhcphosts and hosts, none removed or changed. */
static bool
change_adds_entry(const struct txn_change *c)
{
	return (!c->before || !c->before->has_dhcp) && c->after && c->after->has_dhcp &&
	    c->after->default_entry;
}

/* Which dnsmasq files a batch re-renders, a bit per enum dnsmasq_file (of
 * those, only the ones whose text differs are written): all of them when it
 * changes a guest network or the part of a VM they show (vm_dhcp_equal: its
 * DHCP entry, MAC, addresses, host name, lease), unless every such change
 * only adds an entry (change_adds_entry): then none, and *adds is set (the
 * added lines go to dhcphosts.d/ and hosts.d/); none when it changes only
 * passwords, metadata or a VM's other fields. */
static unsigned
dnsmasq_files_to_render(const struct txn *t, const struct txn_change *ch, long n, bool *adds)
{
	const unsigned all = (1u << DF_NFILES) - 1;

	*adds = false;
	if (txn_nets_changed(t))
		return all;
	for (long i = 0; i < n; i++) {
		if (vm_dhcp_equal(ch[i].before, ch[i].after))
			continue;
		if (!change_adds_entry(&ch[i])) {
			*adds = false;
			return all;
		}
		*adds = true;
	}
	return 0;
}

/* Empties dhcphosts.d/ and hosts.d/ (at start, after the whole files were
 * written): *removed counts the files.  Returns 0 or a negative errno. */
static int
added_dirs_clear(struct store *s, size_t *removed)
{
	int r = 0;

	for (int d = SD_DHCPHOSTS_D; d <= SD_HOSTS_D && r == 0; d++) {
		int fd = openat(s->fd[d], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		size_t n = 0;
		struct dirent *de;
		DIR *dir;

		if (fd < 0 || !(dir = fdopendir(fd))) {
			r = -errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		while ((de = readdir(dir)) && r == 0) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (unlinkat(s->fd[d], de->d_name, 0) < 0)
				r = -errno;
			else
				n++;
		}
		closedir(dir);
		if (r == 0 && n && (r = fsync_dir(s->fd[d])) == 0)
			*removed += n;
	}
	s->added = 0;
	return r;
}

int
store_load(struct store *s, struct state *st, struct commit_info *ci, char *err, size_t errlen)
{
	size_t removed;
	int r;

	memset(ci, 0, sizeof(*ci));
	if ((r = load_generation(s, st)) < 0)
		return err_set(err, errlen, r, "generation: %s", strerror(-r));
	if ((r = load_networks(s, st, err, errlen)) < 0 || (r = load_vms(s, st, err, errlen)) < 0)
		return r;
	ci->generation = st->generation;
	for (int i = 0; i < DF_NFILES; i++) {
		struct buf *b = &s->derived[i];

		buf_reset(b);
		if ((r = render_dnsmasq_file(s, st, (enum dnsmasq_file)i, b)) < 0)
			return err_set(err, errlen, r, "out of memory");
		if (file_equals(s->fd[SD_TOP], dnsmasq_file_names[i], b->p, b->len))
			continue;
		if ((r = af_write(s->fd[SD_TOP], dnsmasq_file_names[i], b->p, b->len, 0644,
		    AF_KEEP_OWNER, 0)) < 0)
			return err_set(err, errlen, r, "%s: %s", dnsmasq_file_names[i], strerror(-r));
		ci->files++;
		if (i == DF_CONF)
			ci->conf_changed = true;
		else
			ci->hosts_changed = true;
	}
	/* the whole files hold every entry now: the added ones go */
	removed = 0;
	if ((r = added_dirs_clear(s, &removed)) < 0)
		return err_set(err, errlen, r, "%s/, %s/: %s", STATE_DHCPHOSTS_D, STATE_HOSTS_D,
		    strerror(-r));
	ci->files += removed;
	ci->hosts_changed |= removed > 0;
	return 0;
}

/* --- commit ------------------------------------------------------------------ */

struct staged {
	enum store_dir d;
	char name[64];
	bool remove;
	struct af_stage st;
	const char *data;
	size_t len;
};

struct plan {
	struct staged *v;
	size_t n, cap;
	struct buf docs;          /* rendered VM documents */
	struct buf netdoc;        /* networks.json */
	struct buf journal;
	struct buf derived[DF_NFILES];   /* dnsmasq's files, re-rendered */
	bool derived_dirty[DF_NFILES];
	struct buf added[DF_NFILES];     /* or only the lines the batch adds to them */
	bool adds;                       /* the batch only adds: files in the dirs */
	bool compact;                    /* the dirs' files are removed */
};

/* Plans writing data (remove false) or removing the file (remove true). */
static int
plan_add(struct plan *p, enum store_dir d, const char *name, bool remove, const char *data,
    size_t len)
{
	struct staged *e;

	if (array_reserve(&p->v, &p->cap, p->n + 1, sizeof(*p->v), 16) < 0)
		return -ENOMEM;
	e = &p->v[p->n++];
	memset(e, 0, sizeof(*e));
	e->d = d;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->remove = remove;
	e->data = remove ? NULL : data ? data : "";
	e->len = len;
	return 0;
}

static void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		af_abort(&p->v[i].st);
	free(p->v);
	buf_free(&p->docs);
	buf_free(&p->netdoc);
	buf_free(&p->journal);
	for (int i = 0; i < DF_NFILES; i++) {
		buf_free(&p->derived[i]);
		buf_free(&p->added[i]);
	}
}

/* Source files: VM documents and pending passwords, with their journal;
 * *render: which dnsmasq files the batch re-renders. */
static int
plan_sources(struct store *s, struct txn *t, struct plan *p, unsigned *render,
    struct commit_info *ci)
{
	struct txn_change *ch = NULL;
	const struct pw_op *pw;
	size_t npw, *offs = NULL, added = 0;
	long n;
	int r = 0;

	if ((n = txn_changes(t, &ch)) < 0)
		return (int)n;
	if (!(offs = calloc((size_t)n + 1, sizeof(*offs)))) {
		free(ch);
		return -ENOMEM;
	}
	/* Render every document first: p->docs may move while it grows. */
	for (long i = 0; i < n; i++) {
		offs[i] = p->docs.len;
		if (ch[i].after && (r = vm_doc_render(ch[i].after, &p->docs)) < 0)
			goto out;
		if (p->docs.len - offs[i] > VM_DOC_MAX) {
			ci->too_big_ip = ch[i].ip;
			r = -EFBIG;
			goto out;
		}
	}
	*render = dnsmasq_files_to_render(t, ch, n, &p->adds);
	for (long i = 0; p->adds && i < n; i++)
		added += change_adds_entry(&ch[i]);
	/* The directories full, or a large share of the VMs added at once: compact
	 * (dnsmasq checks each added host against all it holds, name and address,
	 * O(N) per line; the whole files cost it Theta(N^2) with its names hashed,
	 * cheaper once the batch holds more than about a quarter of them). */
	if (p->adds && (s->added >= s->added_max || (s->added_share && added > STORE_ADDED_BULK &&
	    added * s->added_share > t->st->nvm))) {
		p->adds = false;
		*render = (1u << DF_NFILES) - 1;
	}
	for (long i = 0; p->adds && i < n; i++)
		for (int f = 0; f < DF_NFILES; f++)
			if (added_dir[f] != SD_TOP && change_adds_entry(&ch[i]))
				dnsmasq_added_render((enum dnsmasq_file)f, ch[i].after, &p->added[f]);
	for (int f = 0; f < DF_NFILES; f++)
		if (p->added[f].oom) {
			r = -ENOMEM;
			goto out;
		}
	offs[n] = p->docs.len;
	for (long i = 0; i < n; i++) {
		char name[64], ip[IP4_STRLEN];

		ip4_format(ch[i].ip, ip);
		snprintf(name, sizeof(name), "%s.json", ip);
		if ((r = plan_add(p, SD_VMS, name, !ch[i].after, ch[i].after ? p->docs.p + offs[i] : NULL,
		    offs[i + 1] - offs[i])) < 0)
			goto out;
	}
	npw = txn_password_ops(t, &pw);
	for (size_t i = 0; i < npw; i++) {
		char ip[IP4_STRLEN];

		ip4_format(pw[i].ip, ip);
		if (store_password_is(s, pw[i].ip, pw[i].pw))
			continue; /* already so: nothing to write */
		if ((r = plan_add(p, SD_PASSWORDS, ip, !pw[i].pw, pw[i].pw,
		    pw[i].pw ? strlen(pw[i].pw) : 0)) < 0)
			goto out;
	}
out:
	free(offs);
	free(ch);
	return r;
}

/* The files of dhcphosts.d/ and hosts.d/: the batch's added lines as file
 * <added + 1>, after the files it writes; or, when it rewrites dnsmasq's
 * files whole, the removal of every added file, after those are in place
 * (then dnsmasq's SIGHUP re-reads the whole files and two empty
 * directories). */
static int
plan_added(struct store *s, struct plan *p, unsigned render)
{
	char name[32];
	int r;

	if (p->adds) {
		snprintf(name, sizeof(name), "%zu", s->added + 1);
		for (int f = 0; f < DF_NFILES; f++)
			if (p->added[f].len &&
			    (r = plan_add(p, added_dir[f], name, false, p->added[f].p, p->added[f].len)) < 0)
				return r;
		return 0;
	}
	if (!render || s->added == 0)
		return 0;
	p->compact = true;
	for (size_t i = 1; i <= s->added; i++) {
		snprintf(name, sizeof(name), "%zu", i);
		if ((r = plan_add(p, SD_DHCPHOSTS_D, name, true, NULL, 0)) < 0 ||
		    (r = plan_add(p, SD_HOSTS_D, name, true, NULL, 0)) < 0)
			return r;
	}
	return 0;
}

static int
plan_build(struct store *s, struct txn *t, struct plan *p, uint64_t gen, struct commit_info *ci)
{
	bool nets = txn_nets_changed(t);
	unsigned render = 0;
	size_t nsrc;
	int r;

	if ((r = plan_sources(s, t, p, &render, ci)) < 0)
		return r;
	if (nets && ((r = nets_doc_render(t->st, &p->netdoc)) < 0 ||
	    (r = plan_add(p, SD_TOP, STATE_NETWORKS, false, p->netdoc.p, p->netdoc.len)) < 0))
		return r;
	nsrc = p->n;
	for (int i = 0; i < DF_NFILES; i++) {
		if (!(render & 1u << i))
			continue;
		if ((r = render_dnsmasq_file(s, t->st, (enum dnsmasq_file)i, &p->derived[i])) < 0)
			return r;
		if (p->derived[i].len == s->derived[i].len && (p->derived[i].len == 0 ||
		    !memcmp(p->derived[i].p, s->derived[i].p, p->derived[i].len)))
			continue;
		p->derived_dirty[i] = true;
		if ((r = plan_add(p, SD_TOP, dnsmasq_file_names[i], false, p->derived[i].p,
		    p->derived[i].len)) < 0)
			return r;
	}
	if ((r = plan_added(s, p, render)) < 0)
		return r;
	if (p->n == 0)
		return 0;
	journal_begin(&p->journal, gen);
	for (size_t i = 0; i < nsrc; i++)
		journal_add(&p->journal, p->v[i].d, p->v[i].name, p->v[i].remove ? NULL : p->v[i].data,
		    p->v[i].len);
	return journal_end(&p->journal);
}

/* (2) Every file of the plan, and the new generation, written under its
 * temporary name and made durable.  On failure nothing is replaced. */
static int
commit_stage(struct store *s, struct plan *p, uint64_t gen, struct af_stage *gst, char *err,
    size_t errlen)
{
	bool many = p->n > s->sync_batch;
	int r;

	for (size_t i = 0; i < p->n; i++) {
		struct staged *e = &p->v[i];
		mode_t mode;
		uid_t uid;
		gid_t gid;

		if (e->remove)
			continue;
		store_file_mode(s, e->d, &mode, &uid, &gid);
		if ((r = af_stage(s->fd[e->d], e->name, e->data, e->len, mode, uid, gid, !many,
		    &e->st)) < 0)
			return err_set(err, errlen, r, "%s/%s: %s", sd_names[e->d], e->name, strerror(-r));
	}
	if ((r = store_generation_write(s, gen, !many, gst)) < 0)
		return err_set(err, errlen, r, "generation: %s", strerror(-r));
	if (many && syncfs(s->fd[SD_TOP]) < 0) {
		r = -errno;
		return err_set(err, errlen, r, "syncfs: %s", strerror(-r));
	}
	return 0;
}

/* (3) The renames and removals, then a sync of each directory touched.
 * A failure here leaves a half-replaced directory that only the journal's
 * replay at the next start completes. */
static int
commit_replace(struct store *s, struct plan *p, struct af_stage *gst, char *err, size_t errlen)
{
	bool dirty[SD_NDIRS] = { [SD_TOP] = true };
	int r;

	for (size_t i = 0; i < p->n; i++) {
		struct staged *e = &p->v[i];

		r = e->remove ? (unlinkat(s->fd[e->d], e->name, 0) < 0 && errno != ENOENT ? -errno : 0)
			      : af_commit(&e->st);
		if (r < 0)
			return err_set(err, errlen, r, "%s/%s: %s", sd_names[e->d], e->name, strerror(-r));
		e->st.tmp[0] = '\0';
		dirty[e->d] = true;
	}
	if ((r = af_commit(gst)) < 0)
		return err_set(err, errlen, r, "generation: %s", strerror(-r));
	gst->tmp[0] = '\0';
	for (int d = SD_NDIRS - 1; d >= 0; d--)
		if (dirty[d] && (r = fsync_dir(s->fd[d])) < 0)
			return err_set(err, errlen, r, "%s: fsync: %s", sd_names[d], strerror(-r));
	return 0;
}

/* The derived files the plan rewrote become the store's reference copies;
 * the added files are counted. */
static void
commit_note_derived(struct store *s, struct plan *p, struct commit_info *ci)
{
	if (p->adds) {
		s->added++;
		ci->hosts_added = true;
	} else if (p->compact) {
		s->added = 0;
		ci->hosts_changed = true;
	}
	for (int i = 0; i < DF_NFILES; i++) {
		if (!p->derived_dirty[i])
			continue;
		if (i == DF_CONF)
			ci->conf_changed = true;
		else
			ci->hosts_changed = true;
		buf_free(&s->derived[i]);
		s->derived[i] = p->derived[i];
		buf_init(&p->derived[i]);
	}
}

int
store_commit(struct store *s, struct txn *t, struct commit_info *ci, char *err, size_t errlen)
{
	struct plan p;
	struct af_stage gst;
	uint64_t gen = t->st->generation + (t->gen_step ? t->gen_step : 1);
	int r;

	memset(&p, 0, sizeof(p));
	memset(ci, 0, sizeof(*ci));
	memset(&gst, 0, sizeof(gst));
	ci->generation = t->st->generation;
	if ((r = plan_build(s, t, &p, gen, ci)) < 0) {
		char ip[IP4_STRLEN];

		if (r == -EFBIG && ci->too_big_ip) {
			ip4_format(ci->too_big_ip, ip);
			snprintf(err, errlen, "the document of %s would be over %d bytes", ip,
			    VM_DOC_MAX);
		} else if (r == -EFBIG) {
			snprintf(err, errlen, "the batch changes over %lu bytes of state at once",
			    JOURNAL_MAX);
		} else {
			snprintf(err, errlen, "rendering the state: %s", strerror(-r));
		}
		goto out;
	}
	if (p.n == 0)
		goto out; /* nothing changes: no file, no generation, no reload */
	/* (1) the journal, durable before any file is replaced */
	if ((r = journal_write(s->fd[SD_TOP], &p.journal)) < 0) {
		snprintf(err, errlen, "journal: %s", strerror(-r));
		goto out;
	}
	if ((r = commit_stage(s, &p, gen, &gst, err, errlen)) < 0) {
		/* Nothing was replaced: drop the journal, and the old state stands. */
		af_abort(&gst);
		journal_remove(s->fd[SD_TOP], true);
		goto out;
	}
	if ((r = commit_replace(s, &p, &gst, err, errlen)) < 0) {
		ci->fatal = true; /* the journal stays: the next start completes the batch */
		goto out;
	}
	/* (4) done */
	journal_remove(s->fd[SD_TOP], false);
	t->st->generation = gen;
	ci->generation = gen;
	ci->files = p.n;
	commit_note_derived(s, &p, ci);
out:
	plan_free(&p);
	return r;
}

bool
store_password_is(const struct store *s, uint32_t ip, const char *pw)
{
	char name[IP4_STRLEN];
	struct stat sb;

	ip4_format(ip, name);
	return pw ? file_equals(s->fd[SD_PASSWORDS], name, pw, strlen(pw))
		  : fstatat(s->fd[SD_PASSWORDS], name, &sb, AT_SYMLINK_NOFOLLOW) < 0;
}

bool
store_has_password(const struct store *s, uint32_t ip)
{
	char name[IP4_STRLEN];
	struct stat sb;

	ip4_format(ip, name);
	return fstatat(s->fd[SD_PASSWORDS], name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

int
store_writable(const struct store *s)
{
	int fd = openat(s->fd[SD_TOP], ".healthz.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	close(fd);
	(void)unlinkat(s->fd[SD_TOP], ".healthz.tmp", 0);
	return 0;
}
