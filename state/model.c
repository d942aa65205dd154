/* model.c: the in-memory VM table (sorted by IP, indexed by MAC) and networks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "model.h"

void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
}

void
state_free(struct state *st)
{
	for (size_t i = 0; i < st->nvm; i++)
		vm_free(st->by_ip[i]);
	free(st->by_ip);
	free(st->by_mac);
	free(st->by_host);
	state_init(st);
}

static size_t
ip_lower_bound(const struct state *st, uint32_t ip)
{
	size_t lo = 0, hi = st->nvm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->by_ip[mid]->ip < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
mac_lower_bound(const struct state *st, const uint8_t mac[6])
{
	size_t lo = 0, hi = st->nmac;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(st->by_mac[mid]->mac, mac, 6) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
host_indexed(const struct vm *v)
{
	return v->has_dhcp && v->host[0];
}

/* Names compare without case (DNS does), then by ip. */
static int
host_key_cmp(const struct vm *v, const char *host, uint32_t ip)
{
	int c = strcasecmp(v->host, host);

	if (c)
		return c;
	return v->ip < ip ? -1 : v->ip > ip;
}

static size_t
host_lower_bound(const struct state *st, const char *host, uint32_t ip)
{
	size_t lo = 0, hi = st->nhost;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (host_key_cmp(st->by_host[mid], host, ip) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct vm *
state_vm(const struct state *st, uint32_t ip)
{
	size_t i = ip_lower_bound(st, ip);

	return i < st->nvm && st->by_ip[i]->ip == ip ? st->by_ip[i] : NULL;
}

struct vm *
state_vm_by_mac(const struct state *st, const uint8_t mac[6])
{
	size_t i = mac_lower_bound(st, mac);

	return i < st->nmac && memcmp(st->by_mac[i]->mac, mac, 6) == 0 ? st->by_mac[i] : NULL;
}

static int
ptr_array_insert(struct vm ***arr, size_t *n, size_t *cap, size_t at, struct vm *v)
{
	if (array_reserve(arr, cap, *n + 1, sizeof(**arr), 64) < 0)
		return -ENOMEM;
	memmove(*arr + at + 1, *arr + at, (*n - at) * sizeof(**arr));
	(*arr)[at] = v;
	(*n)++;
	return 0;
}

static void
ptr_array_remove(struct vm **arr, size_t *n, size_t at)
{
	memmove(arr + at, arr + at + 1, (*n - at - 1) * sizeof(*arr));
	(*n)--;
}

static void
mac_index_remove(struct state *st, const struct vm *v, const uint8_t mac[6])
{
	for (size_t i = mac_lower_bound(st, mac); i < st->nmac; i++) {
		if (memcmp(st->by_mac[i]->mac, mac, 6) != 0)
			break;
		if (st->by_mac[i] == v) {
			ptr_array_remove(st->by_mac, &st->nmac, i);
			return;
		}
	}
}

static void
host_index_remove(struct state *st, const struct vm *v)
{
	size_t i = host_lower_bound(st, v->host, v->ip);

	if (i < st->nhost && st->by_host[i] == v)
		ptr_array_remove(st->by_host, &st->nhost, i);
}

void
state_unindex(struct state *st, struct vm *v)
{
	if (v->has_dhcp)
		mac_index_remove(st, v, v->mac);
	if (host_indexed(v))
		host_index_remove(st, v);
}

int
state_reindex(struct state *st, struct vm *v)
{
	size_t at;
	int r;

	if (!v->has_dhcp)
		return 0;
	if ((r = ptr_array_insert(&st->by_mac, &st->nmac, &st->capmac,
	    mac_lower_bound(st, v->mac), v)) < 0)
		return r;
	if (!host_indexed(v))
		return 0;
	at = host_lower_bound(st, v->host, v->ip);
	if ((r = ptr_array_insert(&st->by_host, &st->nhost, &st->caphost, at, v)) < 0)
		mac_index_remove(st, v, v->mac);
	return r;
}

int
state_insert(struct state *st, struct vm *v)
{
	size_t i = ip_lower_bound(st, v->ip);
	int r;

	if ((r = ptr_array_insert(&st->by_ip, &st->nvm, &st->capvm, i, v)) < 0)
		return r;
	if ((r = state_reindex(st, v)) < 0)
		ptr_array_remove(st->by_ip, &st->nvm, i);
	return r;
}

struct vm *
state_unlink(struct state *st, uint32_t ip)
{
	size_t i = ip_lower_bound(st, ip);
	struct vm *v;

	if (i >= st->nvm || st->by_ip[i]->ip != ip)
		return NULL;
	v = st->by_ip[i];
	ptr_array_remove(st->by_ip, &st->nvm, i);
	state_unindex(st, v);
	return v;
}

const struct vm *
state_host_holder(const struct state *st, const char *host, uint32_t ip)
{
	const struct net *net = state_net_for(st, ip);

	for (size_t i = host_lower_bound(st, host, 0); i < st->nhost; i++) {
		const struct vm *o = st->by_host[i];

		if (strcasecmp(o->host, host) != 0)
			break;
		if (o->ip != ip && state_net_for(st, o->ip) == net)
			return o;
	}
	return NULL;
}

bool
host_is_router(const struct state *st, const char *host)
{
	return st->router_name[0] && !strcasecmp(host, st->router_name);
}

const struct net *
state_net_for(const struct state *st, uint32_t ip)
{
	for (size_t i = 0; i < st->nnet; i++) {
		const struct net *n = &st->nets[i];

		if ((ip & prefix_mask(n->prefix)) == n->net)
			return n;
	}
	return NULL;
}

bool
net_equal(const struct net *a, const struct net *b)
{
	return !strcmp(a->dev, b->dev) && a->has_mac == b->has_mac &&
	    (!a->has_mac || !memcmp(a->mac, b->mac, 6)) && a->router == b->router &&
	    a->gw == b->gw && a->has6 == b->has6 &&
	    (!a->has6 || (!memcmp(a->router6, b->router6, 16) && !memcmp(a->net6, b->net6, 16) &&
	    a->prefix6 == b->prefix6 && a->has_gw6 == b->has_gw6 &&
	    (!a->has_gw6 || !memcmp(a->gw6, b->gw6, 16)) && a->ndns6 == b->ndns6 &&
	    !memcmp(a->dns6, b->dns6, (size_t)a->ndns6 * 16))) &&
	    a->net == b->net && a->prefix == b->prefix && a->ndns == b->ndns &&
	    !memcmp(a->dns, b->dns, (size_t)a->ndns * sizeof(a->dns[0])) &&
	    !strcmp(a->domain, b->domain);
}

struct vm *
vm_new(uint32_t ip)
{
	struct vm *v = calloc(1, sizeof(*v));

	if (v) {
		v->ip = ip;
		v->default_entry = true;
		v->lease = LEASE_INFINITE;
	}
	return v;
}

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return -ENOMEM;
	return 0;
}

struct vm *
vm_clone(const struct vm *v)
{
	struct vm *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	*c = *v;
	c->ipv6 = c->duid = c->dns = c->gw = c->ud = NULL;
	c->md = NULL;
	c->nmd = 0;
	if (dup_opt(&c->ipv6, v->ipv6) < 0 || dup_opt(&c->duid, v->duid) < 0 ||
	    dup_opt(&c->dns, v->dns) < 0 || dup_opt(&c->gw, v->gw) < 0)
		goto fail;
	if (v->has_ud) {
		if (!(c->ud = malloc(v->udlen + 1)))
			goto fail;
		memcpy(c->ud, v->ud, v->udlen + 1);
	}
	if (v->nmd) {
		if (!(c->md = calloc(v->nmd, sizeof(*c->md))))
			goto fail;
		for (size_t i = 0; i < v->nmd; i++, c->nmd++) {
			c->md[i].key = strdup(v->md[i].key);
			c->md[i].val = malloc(v->md[i].len + 1);
			c->md[i].len = v->md[i].len;
			if (!c->md[i].key || !c->md[i].val) {
				c->nmd++;
				goto fail;
			}
			memcpy(c->md[i].val, v->md[i].val, v->md[i].len + 1);
		}
	}
	return c;
fail:
	vm_free(c);
	return NULL;
}

void
vm_free(struct vm *v)
{
	if (!v)
		return;
	free(v->ipv6);
	free(v->duid);
	free(v->dns);
	free(v->gw);
	free(v->ud);
	for (size_t i = 0; i < v->nmd; i++) {
		free(v->md[i].key);
		free(v->md[i].val);
	}
	free(v->md);
	free(v);
}

static bool
str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool
vm_dhcp_equal(const struct vm *a, const struct vm *b)
{
	if (!a || !b)
		return a == b || (a ? !a->has_dhcp : !b->has_dhcp);
	if (a->has_dhcp != b->has_dhcp)
		return false;
	if (!a->has_dhcp)
		return true;
	return !memcmp(a->mac, b->mac, 6) && !strcmp(a->host, b->host) &&
	    a->default_entry == b->default_entry && a->lease == b->lease && a->ip == b->ip &&
	    str_eq(a->ipv6, b->ipv6);
}

bool
vm_equal(const struct vm *a, const struct vm *b)
{
	if (!a || !b)
		return a == b;
	if (!vm_dhcp_equal(a, b) || !str_eq(a->ipv6, b->ipv6) || !str_eq(a->duid, b->duid) ||
	    !str_eq(a->dns, b->dns) || !str_eq(a->gw, b->gw))
		return false;
	if (a->has_ud != b->has_ud || a->nmd != b->nmd)
		return false;
	if (a->has_ud && (a->udlen != b->udlen || memcmp(a->ud, b->ud, a->udlen)))
		return false;
	for (size_t i = 0; i < a->nmd; i++) {
		if (strcmp(a->md[i].key, b->md[i].key) || a->md[i].len != b->md[i].len ||
		    memcmp(a->md[i].val, b->md[i].val, a->md[i].len))
			return false;
	}
	return true;
}

bool
vm_is_empty(const struct vm *v)
{
	return !v->has_dhcp && !v->has_ud && v->nmd == 0;
}

static size_t
md_lower_bound(const struct vm *v, const char *key)
{
	size_t lo = 0, hi = v->nmd;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v->md[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct md_kv *
vm_md_get(const struct vm *v, const char *key)
{
	size_t i = md_lower_bound(v, key);

	return i < v->nmd && !strcmp(v->md[i].key, key) ? &v->md[i] : NULL;
}

int
vm_md_set(struct vm *v, const char *key, char *val, size_t len)
{
	size_t i = md_lower_bound(v, key);
	bool found = i < v->nmd && !strcmp(v->md[i].key, key);
	struct md_kv *nmd;
	char *k;

	if (found) {
		free(v->md[i].val);
		if (val) {
			v->md[i].val = val;
			v->md[i].len = len;
			return 0;
		}
		free(v->md[i].key);
		memmove(v->md + i, v->md + i + 1, (v->nmd - i - 1) * sizeof(*v->md));
		v->nmd--;
		return 0;
	}
	if (!val)
		return 0;
	if (v->nmd >= MD_KEYS_MAX) {
		free(val);
		return -E2BIG;
	}
	nmd = realloc(v->md, (v->nmd + 1) * sizeof(*nmd));
	if (!nmd || !(k = strdup(key))) {
		if (nmd)
			v->md = nmd;
		free(val);
		return -ENOMEM;
	}
	v->md = nmd;
	memmove(v->md + i + 1, v->md + i, (v->nmd - i) * sizeof(*v->md));
	v->md[i].key = k;
	v->md[i].val = val;
	v->md[i].len = len;
	v->nmd++;
	return 0;
}
