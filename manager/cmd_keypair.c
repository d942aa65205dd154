/* cmd_keypair.c: SSH key pairs per account: registerSSHKeyPair (a public
 * key the user has), createSSHKeyPair (a new RSA pair whose private key is
 * returned once and never stored), deleteSSHKeyPair, and the public keys a
 * deploy names with keypair or keypairs.  listSSHKeyPairs is a catalogue
 * list (cmd_catalogue.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "sshkey.h"

#define KEYPAIR_NAME_MAX 255
#define KEYPAIRS_PER_VM 8

static int
name_check(const char *cmd, const char *name, struct api_err *e)
{
	if (!name)
		return api_fail(e, CS_PARAM_ERROR, "Unable to execute API command %s due to "
		    "missing parameter name", cmd);
	if (!*name || strlen(name) > KEYPAIR_NAME_MAX || strpbrk(name, "\r\n,"))
		return api_fail(e, CS_PARAM_ERROR, "name must be 1..%d characters, no comma or "
		    "line break", KEYPAIR_NAME_MAX);
	return 0;
}

/* Stores the pair under the db lock; 431 when the account has that name. */
static int
keypair_insert(struct api_req *r, const char *cmd, const char *name, const char *fp,
    const char *pub, json_t **out, struct api_err *e)
{
	struct db *d = r->m->db;
	char uuid[37];
	int x;

	uuid_new(uuid);
	db_lock(d);
	x = db_run(d, "INSERT INTO keypair (uuid, account_id, name, fingerprint, public_key,"
	    " created_ms) VALUES (?, ?, ?, ?, ?, ?)", "sisssi", uuid, r->acct->id, name, fp, pub,
	    now_ms());
	db_unlock(d);
	if (x == -EEXIST)
		return api_fail(e, CS_PARAM_ERROR, "A key pair with name '%.255s' already exists "
		    "for this account.", name);
	if (x < 0)
		return api_fail(e, CS_INTERNAL_ERROR, "%s: cannot record the key pair: %s", cmd,
		    strerror(-x));
	*out = json_pack("{s{ssssssssss}}", "keypair", "id", uuid, "name", name, "fingerprint",
	    fp, "account", r->acct->name, "domain", "ROOT");
	return 0;
}

int
cmd_register_keypair(struct api_req *r, json_t **out, struct api_err *e)
{
	const char *name = query_get(r->q, "name"), *pub = query_get(r->q, "publickey");
	char fp[SSHKEY_FP_LEN + 1];

	if (name_check("registerSSHKeyPair", name, e) < 0)
		return -EINVAL; /* e says why */
	if (!pub)
		return api_fail(e, CS_PARAM_ERROR, "Unable to execute API command "
		    "registerSSHKeyPair due to missing parameter publickey");
	if (sshkey_fingerprint(pub, strlen(pub), fp) < 0)
		return api_fail(e, CS_PARAM_ERROR, "Public key is invalid: one OpenSSH key line "
		    "(type, base64, comment) of at most %d bytes", SSHKEY_LINE_MAX);
	return keypair_insert(r, "registerSSHKeyPair", name, fp, pub, out, e);
}

int
cmd_create_keypair(struct api_req *r, json_t **out, struct api_err *e)
{
	const char *name = query_get(r->q, "name");
	char fp[SSHKEY_FP_LEN + 1], comment[300], *priv = NULL, *pub = NULL;
	int x;

	if (name_check("createSSHKeyPair", name, e) < 0)
		return -EINVAL; /* e says why */
	snprintf(comment, sizeof(comment), "%s@vr-manager", name);
	if ((x = sshkey_generate(comment, &priv, &pub)) < 0 ||
	    (x = sshkey_fingerprint(pub, strlen(pub), fp)) < 0) {
		free(priv);
		free(pub);
		return api_fail(e, CS_INTERNAL_ERROR, "cannot generate a key pair: %s",
		    strerror(-x));
	}
	if ((x = keypair_insert(r, "createSSHKeyPair", name, fp, pub, out, e)) == 0)
		json_object_set_new(json_object_get(*out, "keypair"), "privatekey",
		    json_string(priv));
	free(priv);
	free(pub);
	return x;
}

int
cmd_delete_keypair(struct api_req *r, json_t **out, struct api_err *e)
{
	const char *name = query_get(r->q, "name");
	struct db *d = r->m->db;
	int64_t n;
	int x;

	if (name_check("deleteSSHKeyPair", name, e) < 0)
		return -EINVAL; /* e says why */
	db_lock(d);
	x = db_run(d, "DELETE FROM keypair WHERE account_id = ? AND name = ?", "is", r->acct->id,
	    name);
	n = db_changes(d);
	db_unlock(d);
	if (x < 0)
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", strerror(-x));
	if (n == 0)
		return api_fail(e, CS_PARAM_ERROR, "A key pair with name '%.255s' does not exist "
		    "for account %s", name, r->acct->name);
	*out = json_pack("{ss}", "success", "true");
	return 0;
}

int
keypairs_resolve(struct api_req *r, const char *names, char **keys, char *used, size_t usedlen,
    struct api_err *e)
{
	static const char sql[] = "SELECT public_key FROM keypair WHERE account_id = ?1"
	    " AND name = ?2";
	struct buf b;
	char *list, *name, *save = NULL;
	int n = 0, x = 0;

	if (!(list = strdup(names)))
		return api_fail(e, CS_INTERNAL_ERROR, "out of memory");
	buf_init(&b);
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct db_st *st = db_stmt(r->m->db, sql);
		int rc;

		if (++n > KEYPAIRS_PER_VM) {
			x = api_fail(e, CS_PARAM_ERROR, "at most %d key pairs per VM",
			    KEYPAIRS_PER_VM);
			break;
		}
		if (!st) {
			x = api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
			break;
		}
		db_bind_int(st, 1, r->acct->id);
		db_bind_text(st, 2, name);
		if ((rc = db_step(st)) == DB_ROW) {
			if (b.len)
				buf_adds(&b, "\n");
			buf_adds(&b, db_text(st, 0));
		}
		db_reset(st);
		if (rc != DB_ROW) {
			x = api_fail(e, CS_PARAM_ERROR, "A key pair with name '%.255s' was not "
			    "found for account %s", name, r->acct->name);
			break;
		}
	}
	if (x == 0 && n == 0)
		x = api_fail(e, CS_PARAM_ERROR, "keypairs: no key pair named");
	if (x == 0 && (b.oom || (size_t)snprintf(used, usedlen, "%s", names) >= usedlen))
		x = api_fail(e, CS_PARAM_ERROR, "keypairs: too long");
	free(list);
	if (x < 0) {
		buf_free(&b);
		return x;
	}
	buf_add(&b, "", 1);
	*keys = b.p;
	return 0;
}
