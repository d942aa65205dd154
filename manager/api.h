/* api.h: CloudStack's API at /client/api: request parameters, signature
 * check, the command table, and CloudStack-shaped replies and errors. */
#ifndef VRM_API_H
#define VRM_API_H

#include <jansson.h>
#include <stdbool.h>

#include "httpd.h"
#include "mgr.h"
#include "query.h"

/* A WHERE clause matching an inventory row by ?1: its inventory id or the
 * UUID the API shows for it (api_id). */
#define API_ID_IS "(uuid = ?1 OR api_id = ?1)"

struct api_account {
	int64_t id;
	char uuid[65], name[256], api_key[256], secret[256];
	bool admin;
};

struct api {
	struct mgr *m;
	struct api_account *accounts; /* sorted by api_key */
	size_t naccounts;
	struct http_server http;
	struct http_router router;    /* /client/api (api.c) */
	_Atomic uint64_t requests, unauthorized;
};

struct api_req {
	struct mgr *m;
	const struct query *q;
	const struct api_account *acct;
};

struct api_err {
	int code; /* enum cs_error */
	char text[512];
};

/* A command: fills *out (the object inside "<command>response") and
 * returns 0, or fills e and returns a negative errno (api_fail). */
typedef int (*api_cmd_fn)(struct api_req *r, json_t **out, struct api_err *e);

struct api_cmd {
	const char *name;
	api_cmd_fn fn;
	bool admin; /* only accounts with role admin */
};

/* Loads the accounts.  0 or -errno. */
int api_init(struct api *a, struct mgr *m);
void api_free(struct api *a);
/* Starts listening on each address.  0 or -errno with err. */
int api_listen(struct api *a, char *const *listen, size_t n, unsigned threads, char *err,
    size_t errlen);

/* Sets e (the CloudStack error code and text) and returns -EINVAL: a
 * command fails with 0 or a negative errno like any other function, the
 * reason in its struct api_err. */
int api_fail(struct api_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Commands (cmd_vm.c, cmd_list.c). */
int cmd_deploy_vm(struct api_req *r, json_t **out, struct api_err *e);
int cmd_list_vms(struct api_req *r, json_t **out, struct api_err *e);
int cmd_query_job(struct api_req *r, json_t **out, struct api_err *e);
int cmd_list_jobs(struct api_req *r, json_t **out, struct api_err *e);
int cmd_list_hosts(struct api_req *r, json_t **out, struct api_err *e);
int cmd_list_managers(struct api_req *r, json_t **out, struct api_err *e);
int cmd_list_capacity(struct api_req *r, json_t **out, struct api_err *e);
/* VM commands on an existing VM (cmd_lifecycle.c): the job commands by
 * the request's command, and the synchronous ones. */
int cmd_vm_job(struct api_req *r, json_t **out, struct api_err *e);
int cmd_update_vm(struct api_req *r, json_t **out, struct api_err *e);
int cmd_get_userdata(struct api_req *r, json_t **out, struct api_err *e);
/* A new 12-character password (cmd_vm.c). */
#define VM_PASSWORD_LEN 12
void vm_password_new(char out[VM_PASSWORD_LEN + 1]);
/* User data: base64 of at most its limit; 0 or a 431 error (cmd_vm.c). */
int vm_userdata_check(const char *b64, struct api_err *e);

/* SSH key pairs (cmd_keypair.c). */
int cmd_register_keypair(struct api_req *r, json_t **out, struct api_err *e);
int cmd_create_keypair(struct api_req *r, json_t **out, struct api_err *e);
int cmd_delete_keypair(struct api_req *r, json_t **out, struct api_err *e);
/* The public keys of the account's key pairs named in names (comma
 * separated), one per line, into *keys (caller frees); the names into used.
 * Caller holds the db lock.  0 or a 431 error. */
int keypairs_resolve(struct api_req *r, const char *names, char **keys, char *used,
    size_t usedlen, struct api_err *e);
/* The catalogue lists (cmd_catalogue.c), by the request's command. */
int cmd_list_catalogue(struct api_req *r, json_t **out, struct api_err *e);

/* The VM as listVirtualMachines shows it (with its password when asked),
 * read through d; caller holds d's lock.  NULL if there is no such VM. */
json_t *vm_json(struct db *d, int64_t vm_id, bool with_password);
/* page and pagesize: 0 or a 431 error; no paging: INT64_MAX rows from 0. */
int api_paging(const struct query *q, int64_t *limit, int64_t *offset, struct api_err *e);

#endif
