/* md.h: vr-metadata's shared declarations: the VMs it serves, the pure
 * request router, IMDSv2 tokens and the password server. */
#ifndef MD_MD_H
#define MD_MD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "model.h"

#define MD_PATH_SEGMENTS 8
#define MD_KEYS_PER_VM 64            /* ssh keys listed under public-keys/ */
#define TOKEN_TTL_MAX 21600
#define TOKEN_HEX_LEN 56             /* 12 bytes of expiry+nonce, 16 of HMAC */

/* A VM as vr-metadata serves it: vrd's document, and its public keys split. */
struct md_entry {
	struct vm *v;
	char *keys[MD_KEYS_PER_VM];
	char *names[MD_KEYS_PER_VM];
	size_t nkeys;
};

/* Builds an entry from vms/<ip>.json (pure).  Returns 0 or -EINVAL/-ENOMEM. */
int md_entry_parse(const char *buf, size_t len, struct md_entry **out, char *err, size_t errlen);
void md_entry_free(struct md_entry *e);

struct md_reply {
	int status;
	const char *ctype;
	struct buf body;
};

/* The reply to GET/HEAD path for the VM e (pure).  Paths are matched exactly
 * against the tree; "..", "." and empty segments never match anything. */
void md_route(const struct md_entry *e, const char *path, struct md_reply *r);
/* Whether path is /latest/api/token (the only PUT target), or a dated
 * version's api/token (refused with 403). */
bool md_is_token_path(const char *path, bool *dated);

/* The VM table, loaded from <state-dir>/vms and kept current with inotify. */
struct vmtable {
	pthread_rwlock_t lock;
	struct md_entry **slot;      /* open addressing by ip */
	uint32_t *ip;
	size_t cap, n;
	char *dir;                   /* <state-dir>/vms */
	int dirfd;
	pthread_t watcher;           /* vmtable_watch's thread */
	int stopfd;                  /* eventfd that tells it to end; -1 until it runs */
	uint64_t unreadable;         /* documents that could not be loaded (atomic) */
};

int vmtable_init(struct vmtable *t, const char *state_dir, char *err, size_t errlen);
/* Loads every document now.  Returns the count loaded or a negative errno. */
int vmtable_load_all(struct vmtable *t);
/* Re-reads one "<ip>.json" (or forgets it when gone). */
void vmtable_refresh(struct vmtable *t, const char *name);
/* Watches the directory in a thread of its own.  Returns 0 or -errno. */
int vmtable_watch(struct vmtable *t);
/* Stops the watching thread (if any) and frees every entry. */
void vmtable_free(struct vmtable *t);
/* Looks ip up with the read lock taken; vmtable_unlock releases it. */
const struct md_entry *vmtable_get(struct vmtable *t, uint32_t ip);
void vmtable_unlock(struct vmtable *t);
size_t vmtable_count(struct vmtable *t);

/* IMDSv2 tokens: stateless, "expiry|nonce|HMAC(key, ip|expiry|nonce)" in hex. */
void imds_token_mint(const uint8_t key[32], uint32_t ip, time_t now, unsigned ttl,
    char out[TOKEN_HEX_LEN + 1]);
/* 0 if valid for ip at now, -EKEYEXPIRED if expired, -EACCES otherwise. */
int imds_token_check(const uint8_t key[32], uint32_t ip, time_t now, const char *tok);
/* Parses the TTL header: 0 and the seconds, or -EINVAL. */
int imds_ttl_parse(const char *s, unsigned *ttl);

/* The password server. */
enum pw_request { PW_SEND, PW_SAVED, PW_BAD };
enum pw_request pw_request_parse(const char *domu_request);

struct pwstore {
	pthread_mutex_t lock;
	char *dir;                   /* <state-dir>/passwords */
	int dirfd;                   /* opened when it first exists */
	uint32_t *ip;                /* what each VM was last sent */
	char **sent;
	size_t n, cap;
};

int pwstore_init(struct pwstore *p, const char *state_dir, char *err, size_t errlen);
void pwstore_free(struct pwstore *p);
/* The pending password for ip into out (or "saved_password" if none). */
void pw_send(struct pwstore *p, uint32_t ip, struct buf *out);
/* The guest's acknowledgement: removes the pending password if it is the
 * one last sent to this VM; a newer one survives.  Returns 0 (also when there
 * was nothing to remove), or a negative errno when the store could not be
 * changed (read-only, full, I/O error; logged): the password stays pending,
 * as it was, and is still the one this VM was last sent. */
int pw_saved(struct pwstore *p, uint32_t ip);

#endif
