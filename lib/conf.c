/* conf.c: configuration files in "key = value" form and the shared CLI. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "fileio.h"

#ifndef VR_VERSION
#define VR_VERSION "0.0.0"
#endif

int
conf_init(struct conf *c, const struct conf_key *keys, size_t nkeys)
{
	c->keys = keys;
	c->nkeys = nkeys;
	c->vals = calloc(nkeys ? nkeys : 1, sizeof(*c->vals));
	return c->vals ? 0 : -ENOMEM;
}

static void
conf_val_clear(struct conf_val *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

void
conf_free(struct conf *c)
{
	if (!c || !c->vals)
		return;
	for (size_t i = 0; i < c->nkeys; i++)
		conf_val_clear(&c->vals[i]);
	free(c->vals);
	c->vals = NULL;
}

static ssize_t
conf_index(const struct conf *c, const char *key)
{
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, key) == 0)
			return (ssize_t)i;
	return -1;
}

int
conf_set(struct conf *c, const char *key, const char *value, enum conf_source src)
{
	ssize_t i = conf_index(c, key);
	struct conf_val *v;
	char **nv, *dup;

	if (i < 0)
		return -ENOENT;
	v = &c->vals[i];
	if (v->n > 0 && v->src > src)
		return 0; /* a stronger source already set it */
	if (v->n > 0 && v->src < src)
		conf_val_clear(v);
	if (v->n > 0 && !(c->keys[i].flags & CONF_MULTI))
		return -EEXIST;
	dup = strdup(value);
	if (!dup)
		return -ENOMEM;
	nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
	if (!nv) {
		free(dup);
		return -ENOMEM;
	}
	nv[v->n++] = dup;
	v->v = nv;
	v->src = src;
	return 0;
}

int
conf_apply_defaults(struct conf *c)
{
	for (size_t i = 0; i < c->nkeys; i++) {
		if (c->vals[i].n == 0 && c->keys[i].def) {
			int r = conf_set(c, c->keys[i].name, c->keys[i].def, CONF_SRC_DEFAULT);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void
trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

int
conf_parse(struct conf *c, const char *buf, size_t len, enum conf_source src,
    char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len;
	int lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *ks = p, *ke, *vs, *ve, *eq;
		char key[128], val[CONF_LINE_MAX];
		int r;

		lineno++;
		p = nl ? nl + 1 : end;
		trim(&ks, &le);
		if (ks == le || *ks == '#')
			continue;
		if ((size_t)(le - ks) >= CONF_LINE_MAX)
			return err_set(err, errlen, -EINVAL, "line %d: too long", lineno);
		eq = memchr(ks, '=', (size_t)(le - ks));
		if (!eq)
			return err_set(err, errlen, -EINVAL, "line %d: expected \"key = value\"", lineno);
		ke = eq;
		vs = eq + 1;
		ve = le;
		trim(&ks, &ke);
		trim(&vs, &ve);
		if (ke == ks || (size_t)(ke - ks) >= sizeof(key))
			return err_set(err, errlen, -EINVAL, "line %d: missing or overlong key", lineno);
		memcpy(key, ks, (size_t)(ke - ks));
		key[ke - ks] = '\0';
		memcpy(val, vs, (size_t)(ve - vs));
		val[ve - vs] = '\0';
		if (memchr(val, '\0', (size_t)(ve - vs)))
			return err_set(err, errlen, -EINVAL, "line %d: %s: NUL byte in value", lineno, key);
		r = conf_set(c, key, val, src);
		if (r == -ENOENT) {
			return err_set(err, errlen, -EINVAL, "line %d: unknown key \"%s\"", lineno, key);
		} else if (r == -EEXIST) {
			return err_set(err, errlen, -EINVAL, "line %d: %s: given more than once", lineno, key);
		} else if (r < 0)
			return err_set(err, errlen, r, "line %d: %s: %s", lineno, key, strerror(-r));
	}
	return 0;
}

const char *
conf_get(const struct conf *c, const char *key)
{
	ssize_t i = conf_index(c, key);

	if (i < 0 || c->vals[i].n == 0)
		return NULL;
	return c->vals[i].v[0];
}

size_t
conf_get_all(const struct conf *c, const char *key, char *const **out)
{
	ssize_t i = conf_index(c, key);

	if (i < 0) {
		*out = NULL;
		return 0;
	}
	*out = c->vals[i].v;
	return c->vals[i].n;
}

static int
bool_parse(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = false;
	else
		return err_set(err, errlen, -EINVAL, "%s: \"%s\" is not yes or no", key, v);
	return 0;
}

static int
u64_parse(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || !isdigit((unsigned char)*v) || n < min || n > max)
		return err_set(err, errlen, -EINVAL, "%s: \"%s\" is not a whole number from %"
		    PRIu64 " to %" PRIu64, key, v, min, max);
	*out = n;
	return 0;
}

int
conf_get_bool(const struct conf *c, const char *key, bool *out, char *err, size_t errlen)
{
	const char *v = conf_get(c, key);

	if (!v)
		return err_set(err, errlen, -EINVAL, "%s: missing", key);
	return bool_parse(key, v, out, err, errlen);
}

int
conf_get_u64(const struct conf *c, const char *key, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errlen)
{
	const char *v = conf_get(c, key);

	if (!v || !*v)
		return err_set(err, errlen, -EINVAL, "%s: missing", key);
	return u64_parse(key, v, min, max, out, err, errlen);
}

/* "a, b or c" */
static void
choices_text(const char *const *choices, char *out, size_t len)
{
	size_t n = 0, used = 0;

	out[0] = '\0';
	while (choices[n])
		n++;
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", choices[i]);
}

static int
choice_parse(const struct conf_key *k, const char *v, unsigned *out, char *err, size_t errlen)
{
	char all[256];

	for (unsigned i = 0; k->choices && k->choices[i]; i++)
		if (!strcmp(v, k->choices[i])) {
			*out = i;
			return 0;
		}
	choices_text(k->choices, all, sizeof(all));
	return err_set(err, errlen, -EINVAL, "%s: \"%s\" is not %s", k->name, v, all);
}

static int
listen_check(const struct conf_key *k, const struct conf_val *val, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (val->n < k->min || val->n > k->max)
		return err_set(err, errlen, -EINVAL, "%s: want %" PRIu64 " to %" PRIu64
		    " addresses", k->name, k->min, k->max);
	for (size_t i = 0; i < val->n; i++)
		if (listen_parse(val->v[i], &ss, &sl) < 0)
			return err_set(err, errlen, -EINVAL, "%s: \"%s\" is not host:port",
			    k->name, val->v[i]);
	return 0;
}

/* One key's value(s), checked; stored at d when d is not NULL. */
static int
key_check(const struct conf_key *k, const struct conf_val *val, void *d, char *err,
    size_t errlen)
{
	const char *v = val->v[0];
	uint64_t n = 0;
	unsigned u = 0;
	bool b = false;
	int r = 0;

	switch (k->type) {
	case CONF_STR:
		break;
	case CONF_BOOL:
		r = bool_parse(k->name, v, &b, err, errlen);
		break;
	case CONF_UINT:
		r = u64_parse(k->name, v, k->min, k->max > UINT_MAX ? UINT_MAX : k->max, &n,
		    err, errlen);
		break;
	case CONF_U64:
		r = u64_parse(k->name, v, k->min, k->max, &n, err, errlen);
		break;
	case CONF_CHOICE:
		r = choice_parse(k, v, &u, err, errlen);
		break;
	case CONF_LISTEN:
		r = listen_check(k, val, err, errlen);
		break;
	case CONF_PATH:
		if (v[0] != '/' || strpbrk(v, "\n\r ,#"))
			r = err_set(err, errlen, -EINVAL, "%s: \"%s\" must be an absolute path "
			    "without spaces, commas or '#'", k->name, v);
		break;
	case CONF_USER:
		if ((v[0] || k->min) && !getpwnam(v))
			r = err_set(err, errlen, -EINVAL, "%s: no such user \"%s\"", k->name, v);
		break;
	}
	if (r < 0 || !d)
		return r;
	switch (k->type) {
	case CONF_BOOL:
		*(bool *)d = b;
		break;
	case CONF_UINT:
		*(unsigned *)d = (unsigned)n;
		break;
	case CONF_U64:
		*(uint64_t *)d = n;
		break;
	case CONF_CHOICE:
		*(unsigned *)d = u;
		break;
	case CONF_LISTEN:
		((struct conf_list *)d)->v = val->v;
		((struct conf_list *)d)->n = val->n;
		break;
	default: /* the strings */
		if (k->flags & CONF_MULTI) {
			((struct conf_list *)d)->v = val->v;
			((struct conf_list *)d)->n = val->n;
		} else {
			*(const char **)d = v;
		}
	}
	return 0;
}

int
conf_check(const struct conf *c, void *dst, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->nkeys; i++) {
		const struct conf_key *k = &c->keys[i];
		void *d = dst && k->has_dest ? (char *)dst + k->dest : NULL;
		int r;

		if (c->vals[i].n == 0) {
			if (k->type == CONF_LISTEN) /* none at all is a bad count too */
				return listen_check(k, &c->vals[i], err, errlen);
			continue;
		}
		if ((r = key_check(k, &c->vals[i], d, err, errlen)) < 0)
			return r;
	}
	return 0;
}

void
cli_config_error(const struct cli_spec *spec, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", spec->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
cli_help(const struct cli_spec *spec)
{
	printf("Usage: %s %s\n%s\n\nOptions:\n", spec->prog, spec->usage, spec->summary);
	printf("  -h, --help              show this help and exit\n");
	printf("  -V, --version           show the version and exit\n");
	printf("  -n, --check-config      parse the configuration, report it and exit\n");
	printf("  -v, --verbose           log debug lines too\n");
	if (spec->default_config)
		printf("  -c, --config FILE       configuration file (default %s)\n",
		    spec->default_config);
	for (size_t i = 0; spec->flags && spec->flags[i]; i++)
		printf("      --%-20s%s\n", spec->flags[i],
		    spec->flag_help && spec->flag_help[i] ? spec->flag_help[i] : "");
	if (spec->nkeys)
		printf("\nConfiguration keys (in the file as \"key = value\", or --key VALUE):\n");
	for (size_t i = 0; i < spec->nkeys; i++) {
		const struct conf_key *k = &spec->keys[i];
		printf("  --%-22s %s", k->name, k->help);
		if (k->type == CONF_UINT || k->type == CONF_U64)
			printf(" (%" PRIu64 " to %" PRIu64 ")", k->min, k->max);
		if (k->def)
			printf(" (default: %s)", *k->def ? k->def : "\"\"");
		if (k->flags & CONF_MULTI)
			printf(" [may repeat]");
		putchar('\n');
	}
	if (spec->extra_help)
		printf("\n%s", spec->extra_help);
	printf("\nExit status: 0 ok, 1 runtime error, 2 usage or configuration error.\n");
}

static int
cli_flag_index(const struct cli_spec *spec, const char *name)
{
	for (int i = 0; spec->flags && spec->flags[i]; i++)
		if (!strcmp(spec->flags[i], name))
			return i;
	return -1;
}

static void
cli_load_file(const struct cli_spec *spec, struct cli_result *out, bool explicit)
{
	char err[256], *buf = NULL;
	size_t len = 0;
	int r;

	r = file_read_all(out->config_path, CONF_FILE_MAX, &buf, &len);
	if (r == -ENOENT && !explicit)
		return;
	if (r < 0)
		cli_config_error(spec, "config %s: %s", out->config_path, strerror(-r));
	r = conf_parse(&out->conf, buf, len, CONF_SRC_FILE, err, sizeof(err));
	free(buf);
	if (r < 0)
		cli_config_error(spec, "config %s: %s", out->config_path, err);
	out->config_loaded = true;
}

void
cli_parse_into(const struct cli_spec *spec, int argc, char **argv, struct cli_result *out,
    void *dst)
{
	bool explicit_config = false;
	char err[512];

	memset(out, 0, sizeof(*out));
	if (conf_init(&out->conf, spec->keys, spec->nkeys) < 0)
		cli_config_error(spec, "out of memory");
	out->args = calloc((size_t)argc + 1, sizeof(char *));
	if (!out->args)
		cli_config_error(spec, "out of memory");
	if (spec->default_config)
		snprintf(out->config_path, sizeof(out->config_path), "%s", spec->default_config);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char name[128];
		const char *val = NULL, *eq;
		int r, fi;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_help(spec);
			exit(0);
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("%s %s\n", spec->prog, VR_VERSION);
			exit(0);
		} else if (!strcmp(a, "-n") || !strcmp(a, "--check-config")) {
			out->check_only = true;
			continue;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			out->verbose++;
			continue;
		} else if (!strcmp(a, "--")) {
			while (++i < argc)
				out->args[out->nargs++] = argv[i];
			break;
		} else if (a[0] != '-' || !strcmp(a, "-")) {
			if (!spec->takes_args)
				cli_config_error(spec, "unexpected argument \"%s\" (see --help)", a);
			out->args[out->nargs++] = argv[i];
			continue;
		} else if (strncmp(a, "--", 2) != 0) {
			if (!strcmp(a, "-c") && spec->default_config) {
				if (i + 1 >= argc)
					cli_config_error(spec, "-c needs a file");
				snprintf(out->config_path, sizeof(out->config_path), "%s", argv[++i]);
				explicit_config = true;
				continue;
			}
			cli_config_error(spec, "unknown option \"%s\" (see --help)", a);
		}
		eq = strchr(a + 2, '=');
		snprintf(name, sizeof(name), "%.*s",
		    (int)(eq ? (size_t)(eq - a - 2) : strlen(a + 2)), a + 2);
		if ((fi = cli_flag_index(spec, name)) >= 0 && !eq) {
			out->flag_bits |= 1u << fi;
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			cli_config_error(spec, "option --%s needs a value", name);
		if (!strcmp(name, "config") && spec->default_config) {
			snprintf(out->config_path, sizeof(out->config_path), "%s", val);
			explicit_config = true;
			continue;
		}
		r = conf_set(&out->conf, name, val, CONF_SRC_CLI);
		if (r == -ENOENT)
			cli_config_error(spec, "unknown option \"--%s\" (see --help)", name);
		else if (r == -EEXIST)
			cli_config_error(spec, "option --%s given more than once", name);
		else if (r < 0)
			cli_config_error(spec, "--%s: %s", name, strerror(-r));
	}
	if (spec->default_config && out->config_path[0])
		cli_load_file(spec, out, explicit_config);
	if (conf_apply_defaults(&out->conf) < 0)
		cli_config_error(spec, "out of memory");
	if (conf_check(&out->conf, dst, err, sizeof(err)) < 0)
		cli_config_error(spec, "%s", err);
}

void
cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_result *out)
{
	cli_parse_into(spec, argc, argv, out, NULL);
}

void
cli_report(const struct cli_spec *spec, const struct cli_result *r)
{
	printf("%s: configuration ok (%s%s)\n", spec->prog,
	    r->config_loaded ? "file " : "defaults, no file ", r->config_path);
	for (size_t i = 0; i < spec->nkeys; i++) {
		char *const *vals;
		size_t n = conf_get_all(&r->conf, spec->keys[i].name, &vals);

		for (size_t j = 0; j < n; j++)
			printf("  %s = %s\n", spec->keys[i].name, vals[j]);
	}
}

void
cli_result_free(struct cli_result *r)
{
	conf_free(&r->conf);
	free(r->args);
	r->args = NULL;
}
