/* doc.c: vms/<ip>.json and networks.json, rendered and parsed. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "base64.h"
#include "doc.h"
#include "err.h"
#include "names.h"

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
vm_doc(const struct vm *v, bool with_values)
{
	char ip[IP4_STRLEN], mac[MAC_STRLEN];
	json_t *o = json_object(), *md = json_object();

	if (!o || !md)
		goto fail;
	ip4_format(v->ip, ip);
	mac_format(v->mac, mac);
	json_object_set_new(o, "ip", json_string(ip));
	json_object_set_new(o, "mac", v->has_dhcp ? json_string(mac) : json_null());
	json_object_set_new(o, "hostname",
	    v->has_dhcp && v->host[0] ? json_string(v->host) : json_null());
	json_object_set_new(o, "default_entry", json_boolean(v->default_entry));
	json_object_set_new(o, "lease_time",
	    v->lease == LEASE_INFINITE ? json_null() : json_integer(v->lease));
	json_object_set_new(o, "ipv6_address", str_or_null(v->ipv6));
	json_object_set_new(o, "ipv6_duid", str_or_null(v->duid));
	json_object_set_new(o, "dns_addresses", str_or_null(v->dns));
	json_object_set_new(o, "default_gateway", str_or_null(v->gw));
	if (!with_values) {
		json_t *keys = json_array();

		json_decref(md);
		md = NULL;
		for (size_t i = 0; keys && i < v->nmd; i++)
			json_array_append_new(keys, json_string(v->md[i].key));
		json_object_set_new(o, "metadata", keys ? keys : json_null());
		json_object_set_new(o, "has_user_data", json_boolean(v->has_ud));
		return o;
	}
	for (size_t i = 0; i < v->nmd; i++) {
		json_t *s = json_stringn(v->md[i].val, v->md[i].len);

		if (!s || json_object_set_new(md, v->md[i].key, s) < 0)
			goto fail;
	}
	json_object_set_new(o, "metadata", md);
	md = NULL;
	if (v->has_ud) {
		json_t *s = memchr(v->ud, '\0', v->udlen) ? NULL : json_stringn(v->ud, v->udlen);

		if (s) {
			json_object_set_new(o, "user_data", s);
		} else {
			char *b64 = base64_encode(v->ud, v->udlen);

			if (!b64)
				goto fail;
			json_object_set_new(o, "user_data_base64", json_string(b64));
			free(b64);
		}
	}
	return o;
fail:
	json_decref(md);
	json_decref(o);
	return NULL;
}

/* Appends o as text and a newline to b, and drops o (NULL: -ENOMEM). */
static int
doc_append(json_t *o, size_t flags, struct buf *b)
{
	char *s;

	if (!o)
		return -ENOMEM;
	s = json_dumps(o, flags | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	buf_adds(b, s);
	buf_adds(b, "\n");
	free(s);
	return b->oom ? -ENOMEM : 0;
}

int
vm_doc_render(const struct vm *v, struct buf *b)
{
	return doc_append(vm_doc(v, true), JSON_COMPACT, b);
}

static int
opt_field(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > OPT_STR_MAX)
		return -EINVAL;
	return (*out = strdup(json_string_value(v))) ? 0 : -ENOMEM;
}

static int
vm_doc_fill(json_t *o, struct vm *v, char *err, size_t errlen)
{
	json_t *mac = json_object_get(o, "mac"), *host = json_object_get(o, "hostname"),
	       *lease = json_object_get(o, "lease_time"), *md = json_object_get(o, "metadata"),
	       *ud = json_object_get(o, "user_data"), *ud64 = json_object_get(o, "user_data_base64"),
	       *val;
	const char *key;
	int r;

	if (json_is_string(mac)) {
		if (mac_parse(json_string_value(mac), v->mac) < 0)
			return err_set(err, errlen, -EINVAL, "bad mac");
		v->has_dhcp = true;
	}
	if (json_is_string(host)) {
		if (!host_label_valid(json_string_value(host)))
			return err_set(err, errlen, -EINVAL, "bad hostname");
		snprintf(v->host, sizeof(v->host), "%s", json_string_value(host));
	}
	v->default_entry = !json_is_false(json_object_get(o, "default_entry"));
	if (json_is_integer(lease)) {
		v->lease = json_integer_value(lease);
		if (v->lease < LEASE_MIN || v->lease > 0x7fffffff)
			return err_set(err, errlen, -EINVAL, "bad lease_time");
	}
	if (opt_field(o, "ipv6_address", &v->ipv6) < 0 || opt_field(o, "ipv6_duid", &v->duid) < 0 ||
	    opt_field(o, "dns_addresses", &v->dns) < 0 ||
	    opt_field(o, "default_gateway", &v->gw) < 0)
		return err_set(err, errlen, -EINVAL, "bad optional field");
	if (md && !json_is_object(md))
		return err_set(err, errlen, -EINVAL, "metadata is not an object");
	json_object_foreach(md, key, val) {
		char *copy;

		if (!md_key_valid(key) || !json_is_string(val) || json_string_length(val) > MD_VALUE_MAX)
			return err_set(err, errlen, -EINVAL, "bad metadata entry");
		if (!(copy = malloc(json_string_length(val) + 1)))
			return -ENOMEM;
		memcpy(copy, json_string_value(val), json_string_length(val) + 1);
		if ((r = vm_md_set(v, key, copy, json_string_length(val))) < 0)
			return r == -E2BIG ? err_set(err, errlen, -EINVAL, "too many metadata keys") : r;
	}
	if (json_is_string(ud)) {
		v->udlen = json_string_length(ud);
		if (v->udlen > USERDATA_MAX || !(v->ud = malloc(v->udlen + 1)))
			return err_set(err, errlen, -EINVAL, "bad user_data");
		memcpy(v->ud, json_string_value(ud), v->udlen + 1);
		v->has_ud = true;
	} else if (json_is_string(ud64)) {
		r = base64_decode(json_string_value(ud64), json_string_length(ud64), USERDATA_MAX,
		    &v->ud, &v->udlen);
		if (r < 0)
			return err_set(err, errlen, -EINVAL, "bad user_data_base64");
		v->has_ud = true;
	}
	return 0;
}

int
vm_doc_parse(const char *buf, size_t len, struct vm **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loadb(buf, len, 0, &jerr), *jip;
	struct vm *v = NULL;
	uint32_t ip;
	int r;

	if (!o || !json_is_object(o)) {
		r = err_set(err, errlen, -EINVAL, "not a JSON object");
		goto out;
	}
	jip = json_object_get(o, "ip");
	if (!json_is_string(jip) || ip4_parse(json_string_value(jip), &ip) < 0) {
		r = err_set(err, errlen, -EINVAL, "bad ip");
		goto out;
	}
	if (!(v = vm_new(ip))) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = vm_doc_fill(o, v, err, errlen)) < 0)
		goto out;
	*out = v;
	v = NULL;
out:
	vm_free(v);
	json_decref(o);
	return r;
}

json_t *
net_doc(const struct net *n)
{
	char ip[IP4_STRLEN], mac[MAC_STRLEN];
	struct buf dns;
	json_t *o = json_object();

	if (!o)
		return NULL;
	buf_init(&dns);
	json_object_set_new(o, "type", json_string("guestnetwork"));
	json_object_set_new(o, "add", json_true());
	json_object_set_new(o, "device", json_string(n->dev));
	mac_format(n->mac, mac);
	json_object_set_new(o, "mac_address", n->has_mac ? json_string(mac) : json_null());
	ip4_format(n->router, ip);
	json_object_set_new(o, "router_guest_ip", json_string(ip));
	if (n->gw) {
		ip4_format(n->gw, ip);
		json_object_set_new(o, "router_guest_gateway", json_string(ip));
	}
	ip4_format(n->net, ip);
	buf_addf(&dns, "%s/%d", ip, n->prefix);
	json_object_set_new(o, "cidr", json_string(dns.p ? dns.p : ""));
	buf_reset(&dns);
	for (int i = 0; i < n->ndns; i++) {
		ip4_format(n->dns[i], ip);
		buf_addf(&dns, "%s%s", i ? "," : "", ip);
	}
	json_object_set_new(o, "dns", n->ndns ? json_string(dns.p) : json_null());
	json_object_set_new(o, "domain_name", n->domain[0] ? json_string(n->domain) : json_null());
	if (n->has6) {
		char ip6[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, n->router6, ip6, sizeof(ip6));
		json_object_set_new(o, "router_guest_ip6", json_string(ip6));
		inet_ntop(AF_INET6, n->net6, ip6, sizeof(ip6));
		buf_reset(&dns);
		buf_addf(&dns, "%s/%d", ip6, n->prefix6);
		json_object_set_new(o, "cidr6", json_string(dns.p ? dns.p : ""));
		if (n->has_gw6) {
			inet_ntop(AF_INET6, n->gw6, ip6, sizeof(ip6));
			json_object_set_new(o, "router_guest_ip6_gateway", json_string(ip6));
		}
		buf_reset(&dns);
		for (int i = 0; i < n->ndns6; i++) {
			inet_ntop(AF_INET6, n->dns6[i], ip6, sizeof(ip6));
			buf_addf(&dns, "%s%s", i ? "," : "", ip6);
		}
		if (n->ndns6)
			json_object_set_new(o, "dns6", json_string(dns.p ? dns.p : ""));
	}
	buf_free(&dns);
	return o;
}

int
nets_doc_render(const struct state *st, struct buf *b)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < st->nnet; i++)
		if (json_array_append_new(arr, net_doc(&st->nets[i])) < 0) {
			json_decref(arr);
			return -ENOMEM;
		}
	return doc_append(arr, JSON_INDENT(1), b);
}
