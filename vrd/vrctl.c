/* vrctl.c: the operator's CLI for vrd: apply command files as one batch,
 * list VMs, show one VM or the state, and CloudStack's update_config.py
 * convention (update-config FILE). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "fileio.h"
#include "httpc.h"
#include "token.h"

#define CMD_FILE_MAX (64 * 1024 * 1024)

/* What the configuration gives; cli_parse_into fills it from vrctl_keys. */
struct vrctl_config {
	const char *url, *token_file, *cache_dir;
	unsigned timeout;
};

#define VRCTL_AT(m) CONF_AT(struct vrctl_config, m)

static const struct conf_key vrctl_keys[] = {
	{ "url", "http://169.254.0.10:3923", 0, "vrd's control URL",
	  .type = CONF_STR, VRCTL_AT(url) },
	{ "token-file", "/etc/vrd/token", 0, "bearer token file",
	  .type = CONF_STR, VRCTL_AT(token_file) },
	{ "cache-dir", "/var/cache/cloud", 0, "where update-config finds bare file names",
	  .type = CONF_STR, VRCTL_AT(cache_dir) },
	{ "timeout", "60", 0, "seconds to wait for vrd",
	  .type = CONF_UINT, .min = 1, .max = 3600, VRCTL_AT(timeout) },
};

static const char *const vrctl_flags[] = { "json", NULL };
static const char *const vrctl_flag_help[] = { "print vrd's JSON replies instead of text", NULL };
#define FLAG_JSON 0x1u

static const struct cli_spec vrctl_cli = {
	.prog = "vrctl",
	.summary = "Operator CLI for vrd, the virtual router's control daemon.",
	.usage = "[OPTION]... COMMAND [ARG]...",
	.default_config = "/etc/vrd/vrctl.conf",
	.keys = vrctl_keys,
	.nkeys = sizeof(vrctl_keys) / sizeof(vrctl_keys[0]),
	.takes_args = true,
	.flags = vrctl_flags,
	.flag_help = vrctl_flag_help,
	.extra_help =
	    "Commands:\n"
	    "  apply FILE...         send the files' commands as one batch (a file holds one\n"
	    "                        command object or an array; \"-\" reads standard input)\n"
	    "  vms                   list every VM the router knows\n"
	    "  vm IP                 show one VM\n"
	    "  state                 generation, counts, paths and dnsmasq\n"
	    "  health                vrd's /healthz\n"
	    "  update-config FILE    apply a CloudStack config file (vm_dhcp_entry.json.*,\n"
	    "                        vm_password.json.*, vm_metadata.json.*, guest_network.json.*);\n"
	    "                        a bare name is looked up in cache-dir and moved to\n"
	    "                        cache-dir/processed/ once applied\n"
	    "Output is for people unless --json is given.\n",
};

struct vrctl {
	struct httpc_url url;
	char auth[TOKEN_MAX_HEX + 64];
	int timeout;
	bool json;
	struct vrctl_config cfg;
	struct cli_result cr;
};

static int
request(struct vrctl *v, const char *method, const char *path, const char *body, size_t len,
    json_t **out)
{
	struct buf resp;
	json_error_t jerr;
	int status = 0, r;

	buf_init(&resp);
	r = httpc_request(&v->url, method, path, v->auth, body, len, v->timeout, &status, &resp);
	if (r < 0) {
		fprintf(stderr, "vrctl: %s %s: %s\n", method, path, strerror(-r));
		buf_free(&resp);
		return -1;
	}
	*out = json_loadb(resp.p ? resp.p : "", resp.len, 0, &jerr);
	if (status != 200) {
		json_t *e = *out ? json_object_get(*out, "error") : NULL;
		json_t *idx = *out ? json_object_get(*out, "index") : NULL;
		json_t *fld = *out ? json_object_get(*out, "field") : NULL;

		fprintf(stderr, "vrctl: %s %s: %d: %s", method, path, status,
		    json_is_string(e) ? json_string_value(e) : (resp.p ? resp.p : ""));
		if (json_is_integer(idx))
			fprintf(stderr, " (command %lld", (long long)json_integer_value(idx));
		if (json_is_string(fld))
			fprintf(stderr, "%sfield %s", json_is_integer(idx) ? ", " : " (",
			    json_string_value(fld));
		if (json_is_integer(idx) || json_is_string(fld))
			fputc(')', stderr);
		fputc('\n', stderr);
		json_decref(*out);
		*out = NULL;
		buf_free(&resp);
		return -1;
	}
	if (!*out) {
		/* not JSON (e.g. /healthz): hand back the text as a JSON string */
		*out = json_stringn(resp.p ? resp.p : "", resp.len);
	}
	buf_free(&resp);
	return 0;
}

static void
print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s) {
		puts(s);
		free(s);
	}
}

/* Reads one file's command(s) and appends them to batch. */
static int
load_commands(const char *path, json_t *batch, const char *type_hint)
{
	json_error_t jerr;
	json_t *j;

	if (!strcmp(path, "-"))
		j = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	else
		j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		fprintf(stderr, "vrctl: %s: line %d: %s\n", path, jerr.line, jerr.text);
		return -1;
	}
	if (json_is_object(j)) {
		if (type_hint && !json_object_get(j, "type"))
			json_object_set_new(j, "type", json_string(type_hint));
		json_array_append_new(batch, j);
		return 0;
	}
	if (json_is_array(j)) {
		json_array_extend(batch, j);
		json_decref(j);
		return 0;
	}
	fprintf(stderr, "vrctl: %s: not a command object or an array of them\n", path);
	json_decref(j);
	return -1;
}

static int
send_batch(struct vrctl *v, json_t *batch)
{
	char *body = json_dumps(batch, JSON_COMPACT);
	json_t *out = NULL;
	int r;

	if (!body) {
		fprintf(stderr, "vrctl: out of memory\n");
		return 1;
	}
	r = request(v, "POST", "/v1/commands", body, strlen(body), &out);
	free(body);
	if (r < 0)
		return 1;
	if (v->json) {
		print_json(out);
	} else {
		json_t *sk;
		size_t i;

		printf("applied %lld command(s), generation %lld\n",
		    (long long)json_integer_value(json_object_get(out, "applied")),
		    (long long)json_integer_value(json_object_get(out, "generation")));
		json_array_foreach(json_object_get(out, "skipped"), i, sk)
			printf("skipped: command %lld (vmdata for %s): %s\n",
			    (long long)json_integer_value(json_object_get(sk, "index")),
			    json_string_value(json_object_get(sk, "ip")),
			    json_string_value(json_object_get(sk, "error")));
	}
	json_decref(out);
	return 0;
}

static int
cmd_apply(struct vrctl *v, int argc, char **argv)
{
	json_t *batch = json_array();
	int rc;

	if (argc < 1) {
		fprintf(stderr, "vrctl: apply needs at least one FILE\n");
		json_decref(batch);
		return 2;
	}
	for (int i = 0; i < argc; i++)
		if (load_commands(argv[i], batch, NULL) < 0) {
			json_decref(batch);
			return 1;
		}
	rc = send_batch(v, batch);
	json_decref(batch);
	return rc;
}

static const char *
str_or(const json_t *o, const char *key, const char *dflt)
{
	const json_t *s = json_object_get(o, key);

	return json_is_string(s) ? json_string_value(s) : dflt;
}

static void
print_vm_row(const json_t *vm)
{
	const json_t *md = json_object_get(vm, "metadata");

	printf("%-15s  %-17s  %-20s  %-8s  %-7s  %zu\n", str_or(vm, "ip", "?"),
	    str_or(vm, "mac", "-"), str_or(vm, "hostname", "-"),
	    json_is_true(json_object_get(vm, "has_password")) ? "pending" : "-",
	    json_is_false(json_object_get(vm, "default_entry")) ? "no" : "yes",
	    json_array_size(md));
}

static int
cmd_vms(struct vrctl *v, int argc, char **argv)
{
	json_t *out = NULL, *vm;
	size_t i;

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "vrctl: vms takes no argument\n");
		return 2;
	}
	if (request(v, "GET", "/v1/vms", NULL, 0, &out) < 0)
		return 1;
	if (v->json) {
		print_json(out);
	} else {
		printf("%-15s  %-17s  %-20s  %-8s  %-7s  %s\n", "IP", "MAC", "HOSTNAME", "PASSWORD",
		    "DEFAULT", "METADATA-KEYS");
		json_array_foreach(out, i, vm)
			print_vm_row(vm);
		printf("%zu VM(s)\n", json_array_size(out));
	}
	json_decref(out);
	return 0;
}

static int
cmd_vm(struct vrctl *v, int argc, char **argv)
{
	json_t *out = NULL, *k;
	char path[64];
	uint32_t ip;
	size_t i;

	if (argc != 1 || ip4_parse(argv[0], &ip) < 0) {
		fprintf(stderr, "vrctl: vm needs one IPv4 address\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/v1/vms/%s", argv[0]);
	if (request(v, "GET", path, NULL, 0, &out) < 0)
		return 1;
	if (v->json) {
		print_json(out);
	} else {
		printf("ip:            %s\nmac:           %s\nhostname:      %s\n",
		    str_or(out, "ip", "?"), str_or(out, "mac", "-"), str_or(out, "hostname", "-"));
		printf("default entry: %s\npassword:      %s\nuser data:     %s\nmetadata:     ",
		    json_is_false(json_object_get(out, "default_entry")) ? "no" : "yes",
		    json_is_true(json_object_get(out, "has_password")) ? "pending" : "none",
		    json_is_true(json_object_get(out, "has_user_data")) ? "yes" : "no");
		json_array_foreach(json_object_get(out, "metadata"), i, k)
			printf(" %s", json_string_value(k));
		putchar('\n');
	}
	json_decref(out);
	return 0;
}

static int
cmd_state(struct vrctl *v, int argc, char **argv)
{
	json_t *out = NULL, *dm, *n;
	size_t i;

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "vrctl: state takes no argument\n");
		return 2;
	}
	if (request(v, "GET", "/v1/state", NULL, 0, &out) < 0)
		return 1;
	if (v->json) {
		print_json(out);
		json_decref(out);
		return 0;
	}
	dm = json_object_get(out, "dnsmasq");
	printf("generation:        %lld\nVMs:               %lld (%lld DHCP entries, %lld "
	    "pending passwords)\n", (long long)json_integer_value(json_object_get(out, "generation")),
	    (long long)json_integer_value(json_object_get(out, "vms")),
	    (long long)json_integer_value(json_object_get(out, "dhcp_entries")),
	    (long long)json_integer_value(json_object_get(out, "pending_passwords")));
	printf("state directory:   %s\n",
	    str_or(json_object_get(out, "paths"), "state_dir", "?"));
	json_array_foreach(json_object_get(out, "networks"), i, n)
		printf("guest network:     %s %s router %s\n", str_or(n, "device", "?"),
		    str_or(n, "cidr", "?"), str_or(n, "router_guest_ip", "?"));
	if (json_is_integer(json_object_get(dm, "pid")))
		printf("dnsmasq:           running, pid %lld, %lld reload(s)\n",
		    (long long)json_integer_value(json_object_get(dm, "pid")),
		    (long long)json_integer_value(json_object_get(dm, "reloads")));
	else
		printf("dnsmasq:           not running\n");
	json_decref(out);
	return 0;
}

static int
cmd_health(struct vrctl *v, int argc, char **argv)
{
	json_t *out = NULL;

	(void)argc;
	(void)argv;
	if (request(v, "GET", "/healthz", NULL, 0, &out) < 0)
		return 1;
	printf("%s", json_is_string(out) ? json_string_value(out) : "ok\n");
	json_decref(out);
	return 0;
}

/* CloudStack names its files "<kind>.json.<uuid>" in /var/cache/cloud. */
static const struct {
	const char *prefix;
	const char *type;
} cs_files[] = {
	{ "vm_dhcp_entry.json", "dhcpentry" },
	{ "vm_password.json", "vmpassword" },
	{ "vm_metadata.json", "vmdata" },
	{ "guest_network.json", "guestnetwork" },
};

static int
cmd_update_config(struct vrctl *v, int argc, char **argv)
{
	const char *name, *cache = v->cfg.cache_dir, *type = NULL;
	char path[4096], done[4096];
	json_t *batch;
	bool bare;
	int rc;

	if (argc != 1) {
		fprintf(stderr, "vrctl: update-config needs one FILE\n");
		return 2;
	}
	bare = !strchr(argv[0], '/');
	snprintf(path, sizeof(path), "%s%s%s", bare ? cache : "", bare ? "/" : "", argv[0]);
	name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	for (size_t i = 0; i < sizeof(cs_files) / sizeof(cs_files[0]); i++)
		if (!strncmp(name, cs_files[i].prefix, strlen(cs_files[i].prefix)))
			type = cs_files[i].type;
	batch = json_array();
	if (load_commands(path, batch, type) < 0) {
		json_decref(batch);
		return 1;
	}
	rc = send_batch(v, batch);
	json_decref(batch);
	if (rc == 0 && bare) {
		snprintf(done, sizeof(done), "%s/processed", cache);
		if (mkdir(done, 0755) < 0 && errno != EEXIST)
			fprintf(stderr, "vrctl: %s: %s\n", done, strerror(errno));
		snprintf(done, sizeof(done), "%s/processed/%s", cache, argv[0]);
		if (rename(path, done) < 0)
			fprintf(stderr, "vrctl: applied, but could not move %s: %s\n", path,
			    strerror(errno));
	}
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(struct vrctl *v, int argc, char **argv);
} subcommands[] = {
	{ "apply", cmd_apply },
	{ "vms", cmd_vms },
	{ "vm", cmd_vm },
	{ "state", cmd_state },
	{ "health", cmd_health },
	{ "update-config", cmd_update_config },
};

int
main(int argc, char **argv)
{
	struct vrctl v;
	char err[256], *tok = NULL;
	int rc = 2;

	memset(&v, 0, sizeof(v));
	cli_parse_into(&vrctl_cli, argc, argv, &v.cr, &v.cfg);
	v.json = v.cr.flag_bits & FLAG_JSON;
	if (httpc_url_parse(v.cfg.url, &v.url) < 0)
		cli_config_error(&vrctl_cli, "url: \"%s\" is not http://host[:port]", v.cfg.url);
	v.timeout = (int)v.cfg.timeout;
	if (v.cr.check_only) {
		printf("vrctl: configuration ok: url %s, token-file %s\n", v.cfg.url,
		    v.cfg.token_file);
		cli_result_free(&v.cr);
		return 0;
	}
	if (v.cr.nargs < 1)
		cli_config_error(&vrctl_cli, "a command is needed (see --help)");
	if (token_load(v.cfg.token_file, &tok, err, sizeof(err)) < 0)
		cli_config_error(&vrctl_cli, "%s", err);
	snprintf(v.auth, sizeof(v.auth), "Authorization: Bearer %s\r\n", tok);
	free(tok);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(v.cr.args[0], subcommands[i].name)) {
			rc = subcommands[i].fn(&v, v.cr.nargs - 1, v.cr.args + 1);
			cli_result_free(&v.cr);
			return rc;
		}
	fprintf(stderr, "vrctl: unknown command \"%s\" (see --help)\n", v.cr.args[0]);
	cli_result_free(&v.cr);
	return 2;
}
