/* entry.c: a VM's document (vms/<ip>.json, written by vrd) turned into what
 * vr-metadata serves, with its public keys split one per line (pure). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "md.h"

static bool
name_taken(const struct md_entry *e, const char *name, size_t n)
{
	for (size_t k = 0; k < e->nkeys; k++)
		if (strlen(e->names[k]) == n && !memcmp(e->names[k], name, n))
			return true;
	return false;
}

/* The key's comment when it is a tidy name not used yet, else "key-<i>"
 * (with a suffix should an earlier key's comment already be that): names
 * are keys of OpenStack's public_keys object, so they must be unique. */
static char *
key_name(const struct md_entry *e, const char *key, size_t i)
{
	const char *sp = strchr(key, ' '), *c = sp ? strchr(sp + 1, ' ') : NULL;
	char name[72];
	size_t n = 0;

	if (c) {
		c++;
		n = strlen(c);
		if (n == 0 || n > 64 || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._@-") != n || name_taken(e, c, n))
			n = 0;
	}
	if (n) {
		snprintf(name, sizeof(name), "%.*s", (int)n, c);
		return strdup(name);
	}
	snprintf(name, sizeof(name), "key-%zu", i);
	for (unsigned k = 1; name_taken(e, name, strlen(name)); k++)
		snprintf(name, sizeof(name), "key-%zu-%u", i, k);
	return strdup(name);
}

static int
split_keys(struct md_entry *e)
{
	const struct md_kv *kv = vm_md_get(e->v, "public-keys");
	const char *p = kv ? kv->val : NULL, *end = kv ? kv->val + kv->len : NULL;

	while (p && p < end && e->nkeys < MD_KEYS_PER_VM) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p;

		p = nl ? nl + 1 : end;
		while (s < le && isspace((unsigned char)*s))
			s++;
		while (le > s && isspace((unsigned char)le[-1]))
			le--;
		if (s == le)
			continue;
		if (!(e->keys[e->nkeys] = strndup(s, (size_t)(le - s))))
			return -ENOMEM;
		if (!(e->names[e->nkeys] = key_name(e, e->keys[e->nkeys], e->nkeys))) {
			free(e->keys[e->nkeys]);
			return -ENOMEM;
		}
		e->nkeys++;
	}
	return 0;
}

int
md_entry_parse(const char *buf, size_t len, struct md_entry **out, char *err, size_t errlen)
{
	struct md_entry *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	if ((r = vm_doc_parse(buf, len, &e->v, err, errlen)) < 0 || (r = split_keys(e)) < 0) {
		md_entry_free(e);
		return r;
	}
	*out = e;
	return 0;
}

void
md_entry_free(struct md_entry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nkeys; i++) {
		free(e->keys[i]);
		free(e->names[i]);
	}
	vm_free(e->v);
	free(e);
}
