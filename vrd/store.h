/* store.h: the state directory: loading it at start and committing batches
 * to it durably, through the redo journal (journal.h) that makes a batch
 * all-or-nothing across a crash.  See docs/state-dir.md. */
#ifndef VRD_STORE_H
#define VRD_STORE_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "fileio.h"
#include "render.h"
#include "txn.h"

/* The top directory, the two of source files, and the two of dnsmasq lines
 * added since its files were last written whole (SD_DHCPHOSTS_D, SD_HOSTS_D:
 * one file per batch that only adds entries, see store.c). */
/* Batches whose added lines may wait in dhcphosts.d/ and hosts.d/ before
 * the next one compacts (docs/state-dir.md).  A compaction costs dnsmasq a
 * re-read of every host, Theta(N^2); a file waiting there costs it a name
 * in a list it walks per new file, so the bound is high. */
#define STORE_ADDED_MAX 1024
/* A batch adding more than STORE_ADDED_BULK entries and more than
 * 1/STORE_ADDED_SHARE of the VMs compacts instead. */
#define STORE_ADDED_SHARE 4
#define STORE_ADDED_BULK 64

enum store_dir { SD_TOP, SD_VMS, SD_PASSWORDS, SD_DHCPHOSTS_D, SD_HOSTS_D, SD_NDIRS };

struct store {
	char *dir;                    /* absolute */
	int fd[SD_NDIRS];
	uid_t md_uid;                 /* metadata user: owns passwords/ */
	gid_t md_gid;
	bool can_chown;               /* CAP_CHOWN: passwords/ and vms/ get their owners */
	struct dnsmasq_paths paths;   /* strings owned */
	struct buf derived[DF_NFILES]; /* dnsmasq's files as last written (render.h) */
	size_t sync_batch;            /* above this many files one syncfs replaces fsyncs */
	size_t added;                 /* batches in dhcphosts.d/ and hosts.d/ (files 1..added) */
	size_t added_max;             /* at most this many; the next addition compacts */
	size_t added_share;           /* an addition of over 1/added_share of the VMs
	                               * compacts (0: never) */
	size_t quarantined;           /* state files moved aside at open and load */
};

struct commit_info {
	uint64_t generation;
	size_t files;                 /* files written or removed */
	bool hosts_changed;           /* dhcphosts, dhcpopts or hosts rewritten and the
	                               * added files removed: SIGHUP dnsmasq */
	bool hosts_added;             /* new files in dhcphosts.d/ or hosts.d/ only:
	                               * dnsmasq reads them itself (inotify), no SIGHUP */
	bool conf_changed;            /* dnsmasq.conf: dnsmasq must be restarted */
	bool fatal;                   /* failed half-way: only a restart (which replays
	                               * the journal) makes memory and disk agree */
	uint32_t too_big_ip;          /* -EFBIG: the VM whose document is over VM_DOC_MAX */
};

/* Creates or checks the directories (modes, owners), sweeps temporary files
 * and replays an unfinished journal.  A file that cannot be loaded (here
 * or in store_load) is moved to quarantine/, logged and counted, and the
 * rest is served.  Returns 0 or a negative errno with err. */
int store_open(struct store *s, const char *dir, const char *leasefile, uid_t md_uid,
    gid_t md_gid, char *err, size_t errlen);
void store_close(struct store *s);
/* Loads networks.json, every vms/<ip>.json and generation into st, then rewrites any
 * derived dnsmasq file that does not match.  Returns 0 or a negative errno. */
int store_load(struct store *s, struct state *st, struct commit_info *ci, char *err,
    size_t errlen);
/* Makes the batch in t durable.  Returns 0 (ci says what changed; nothing
 * is written for a batch that changes nothing), or a negative errno
 * (-ENOSPC/-EDQUOT: disk full; -EFBIG: a document or the journal would be
 * over VM_DOC_MAX or JOURNAL_MAX) after which the directory is as it was. */
int store_commit(struct store *s, struct txn *t, struct commit_info *ci, char *err,
    size_t errlen);
bool store_has_password(const struct store *s, uint32_t ip);
/* Whether the pending password of ip on disk is pw (NULL: there is none). */
bool store_password_is(const struct store *s, uint32_t ip, const char *pw);
/* 0 if a file can be created in the state directory, else a negative errno. */
int store_writable(const struct store *s);

/* The store's own parts that journal.c (its replay) shares. */
/* Whether name is a file name the directory d may hold: networks.json at the
 * top, <ipv4>.json in vms/, <ipv4> in passwords/. */
bool store_name_valid(enum store_dir d, const char *name);
/* The mode and owners a file in d gets. */
void store_file_mode(const struct store *s, enum store_dir d, mode_t *mode, uid_t *uid,
    gid_t *gid);
/* Writes the generation file: staged into *st (to be committed with the
 * batch) when st is set, else at once; sync makes the staged file durable. */
int store_generation_write(struct store *s, uint64_t gen, bool sync, struct af_stage *st);
/* Moves a file that cannot be loaded to quarantine/, logged and counted.
 * Returns 0 or a negative errno (the file stays; loading must stop). */
int store_quarantine(struct store *s, enum store_dir d, const char *name, const char *why);

#endif
