/* test_conf.c: "key = value" configuration files, the command line over
 * them, typed keys checked once (conf_check, cli_parse_into) and the typed
 * getters (lib/conf.c). */
#include "testutil.h"

#include <sys/wait.h>

#include "conf.h"

struct dst {
	struct conf_list listen;
	const char *state_dir, *token_file, *user;
	unsigned imds_v2, port;
	uint64_t max_body;
	bool debug;
};

#define AT(m) CONF_AT(struct dst, m)
static const char *const modes[] = { "optional", "required", "off", NULL };

static const struct conf_key keys[] = {
	{ "listen", "169.254.0.10:3923", CONF_MULTI, "address:port to listen on",
	  .type = CONF_LISTEN, .min = 1, .max = 3, AT(listen) },
	{ "state-dir", "/var/lib/vrd", 0, "state directory", .type = CONF_PATH, AT(state_dir) },
	{ "token-file", NULL, 0, "bearer token file", AT(token_file) },
	{ "imds-v2", "optional", 0, "optional or required", .type = CONF_CHOICE,
	  .choices = modes, AT(imds_v2) },
	{ "max-body", "16777216", 0, "largest request body", .type = CONF_U64,
	  .min = 1024, .max = 1ULL << 40, AT(max_body) },
	{ "debug", "no", 0, "yes or no", .type = CONF_BOOL, AT(debug) },
	{ "port", "80", 0, "a port", .type = CONF_UINT, .min = 1, .max = 65535, AT(port) },
	{ "user", "", 0, "a user or \"\"", .type = CONF_USER, .min = 0, AT(user) },
	{ "untyped", "x", 0, "no destination", .type = CONF_STR },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct cli_spec spec = {
	.prog = "vrd-test",
	.summary = "conf unit test",
	.usage = "[OPTION]...",
	.default_config = "/nonexistent/vrd-test.conf",
	.keys = keys,
	.nkeys = NKEYS,
	.takes_args = true,
	.flags = (const char *const[]){ "json", NULL },
};

static int
parse(struct conf *c, const char *text, enum conf_source src, char *err, size_t errlen)
{
	err[0] = '\0';
	return conf_parse(c, text, strlen(text), src, err, errlen);
}

static void
test_parse_comments_blank_lines_and_spacing(void **state)
{
	static const char text[] =
	    "# vrd configuration\n"
	    "\n"
	    "   # an indented comment\n"
	    "\t\n"
	    "state-dir   =   /srv/vrd  \n"
	    "token-file=/etc/vrd/token#1\n"     /* '#' inside a value is the value's */
	    "imds-v2 = required\r\n"            /* CRLF */
	    "max-body =\n"                     /* empty value */
	    "debug = yes";                      /* no final newline */
	struct conf c;
	char err[256];

	(void)state;
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	assert_int_equal(parse(&c, text, CONF_SRC_FILE, err, sizeof(err)), 0);
	assert_string_equal(conf_get(&c, "state-dir"), "/srv/vrd");
	assert_string_equal(conf_get(&c, "token-file"), "/etc/vrd/token#1");
	assert_string_equal(conf_get(&c, "imds-v2"), "required");
	assert_string_equal(conf_get(&c, "max-body"), "");
	assert_string_equal(conf_get(&c, "debug"), "yes");
	assert_null(conf_get(&c, "listen")); /* no defaults until applied */
	assert_null(conf_get(&c, "no-such-key"));
	assert_int_equal(conf_apply_defaults(&c), 0);
	assert_string_equal(conf_get(&c, "listen"), "169.254.0.10:3923");
	assert_string_equal(conf_get(&c, "state-dir"), "/srv/vrd");
	conf_free(&c);
	conf_free(&c); /* twice is safe */
}

static void
test_parse_errors_name_line_and_key(void **state)
{
	static const struct {
		const char *text, *want1, *want2;
	} cases[] = {
		{ "state-dir = /a\nbogus-key = 1\n", "line 2", "bogus-key" },
		{ "state-dir = /a\n\nstate-dir = /b\n", "line 3", "state-dir" },
		{ "# c\njust words\n", "line 2", "key = value" },
		{ " = value\n", "line 1", "key" },
		{ "listen = 1.2.3.4:1\nListen = 1.2.3.4:2\n", "line 2", "Listen" },
	};
	struct conf c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(conf_init(&c, keys, NKEYS), 0);
		assert_int_equal(parse(&c, cases[i].text, CONF_SRC_FILE, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].want1) || !strstr(err, cases[i].want2))
			fail_msg("error for %s is \"%s\"; want %s and %s", cases[i].text, err,
			    cases[i].want1, cases[i].want2);
		conf_free(&c);
	}
	/* A line over CONF_LINE_MAX. */
	{
		size_t n = CONF_LINE_MAX + 20;
		char *big = malloc(n + 1);

		memcpy(big, "state-dir = ", 12);
		memset(big + 12, 'x', n - 12);
		big[n] = '\0';
		assert_int_equal(conf_init(&c, keys, NKEYS), 0);
		assert_int_equal(parse(&c, big, CONF_SRC_FILE, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "line 1"));
		conf_free(&c);
		free(big);
	}
}

static void
test_multi_key_keeps_every_value_in_order(void **state)
{
	struct conf c;
	char err[256];
	char *const *v;

	(void)state;
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	assert_int_equal(parse(&c, "listen = 169.254.0.10:3923\nlisten = 127.0.0.1:3923\n"
	    "listen = [::1]:3923\n", CONF_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(conf_get_all(&c, "listen", &v), 3);
	assert_string_equal(v[0], "169.254.0.10:3923");
	assert_string_equal(v[1], "127.0.0.1:3923");
	assert_string_equal(v[2], "[::1]:3923");
	assert_string_equal(conf_get(&c, "listen"), "169.254.0.10:3923");
	assert_int_equal(conf_apply_defaults(&c), 0);
	assert_int_equal(conf_get_all(&c, "listen", &v), 3); /* the default adds nothing */
	assert_int_equal(conf_get_all(&c, "nope", &v), 0);
	assert_null(v);
	conf_free(&c);
}

static void
test_command_line_wins_over_file(void **state)
{
	struct conf c;
	char err[256];
	char *const *v;

	(void)state;
	/* CLI first (as cli_parse does), then the file. */
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	assert_int_equal(conf_set(&c, "state-dir", "/cli", CONF_SRC_CLI), 0);
	assert_int_equal(conf_set(&c, "listen", "10.0.0.1:1", CONF_SRC_CLI), 0);
	assert_int_equal(conf_set(&c, "listen", "10.0.0.2:1", CONF_SRC_CLI), 0);
	assert_int_equal(parse(&c, "state-dir = /file\nlisten = 1.1.1.1:1\nlisten = 2.2.2.2:2\n"
	    "token-file = /file/token\n", CONF_SRC_FILE, err, sizeof(err)), 0);
	assert_string_equal(conf_get(&c, "state-dir"), "/cli");
	assert_int_equal(c.vals[1].src, CONF_SRC_CLI);
	assert_int_equal(conf_get_all(&c, "listen", &v), 2);
	assert_string_equal(v[0], "10.0.0.1:1");
	assert_string_equal(v[1], "10.0.0.2:1");
	assert_string_equal(conf_get(&c, "token-file"), "/file/token");
	assert_int_equal(conf_apply_defaults(&c), 0);
	assert_string_equal(conf_get(&c, "imds-v2"), "optional");
	assert_int_equal(c.vals[3].src, CONF_SRC_DEFAULT);
	conf_free(&c);

	/* The file first, then the CLI: the CLI replaces, multi keys included. */
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	assert_int_equal(parse(&c, "state-dir = /file\nlisten = 1.1.1.1:1\nlisten = 2.2.2.2:2\n",
	    CONF_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "state-dir", "/cli", CONF_SRC_CLI), 0);
	assert_int_equal(conf_set(&c, "listen", "10.0.0.1:1", CONF_SRC_CLI), 0);
	assert_string_equal(conf_get(&c, "state-dir"), "/cli");
	assert_int_equal(conf_get_all(&c, "listen", &v), 1);
	assert_string_equal(v[0], "10.0.0.1:1");
	/* The same source twice is an error for single keys only. */
	assert_int_equal(conf_set(&c, "state-dir", "/again", CONF_SRC_CLI), -EEXIST);
	assert_int_equal(conf_set(&c, "no-such-key", "x", CONF_SRC_CLI), -ENOENT);
	assert_int_equal(conf_set(&c, "state-dir", "/weaker", CONF_SRC_FILE), 0); /* ignored */
	assert_string_equal(conf_get(&c, "state-dir"), "/cli");
	conf_free(&c);

	/* Defaults are the weakest source. */
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	assert_int_equal(conf_apply_defaults(&c), 0);
	assert_int_equal(parse(&c, "listen = 3.3.3.3:3\n", CONF_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(conf_get_all(&c, "listen", &v), 1);
	assert_string_equal(v[0], "3.3.3.3:3");
	conf_free(&c);
}

static void
test_typed_getters(void **state)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	struct conf c;
	char err[256];
	bool b;
	uint64_t n;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(conf_init(&c, keys, NKEYS), 0);
		assert_int_equal(conf_set(&c, "debug", yes[i], CONF_SRC_FILE), 0);
		assert_int_equal(conf_get_bool(&c, "debug", &b, err, sizeof(err)), 0);
		assert_true(b);
		conf_free(&c);
		assert_int_equal(conf_init(&c, keys, NKEYS), 0);
		assert_int_equal(conf_set(&c, "debug", no[i], CONF_SRC_FILE), 0);
		assert_int_equal(conf_get_bool(&c, "debug", &b, err, sizeof(err)), 0);
		assert_false(b);
		conf_free(&c);
	}
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	assert_int_equal(conf_get_bool(&c, "debug", &b, err, sizeof(err)), -EINVAL); /* unset */
	assert_int_equal(conf_set(&c, "debug", "maybe", CONF_SRC_FILE), 0);
	assert_int_equal(conf_get_bool(&c, "debug", &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "debug"));
	assert_int_equal(conf_set(&c, "max-body", "4096", CONF_SRC_FILE), 0);
	assert_int_equal(conf_get_u64(&c, "max-body", 1, 4096, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4096);
	assert_int_equal(conf_get_u64(&c, "max-body", 1, 4095, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "max-body"));
	assert_int_equal(conf_get_u64(&c, "max-body", 4097, 9999, &n, err, sizeof(err)), -EINVAL);
	conf_free(&c);
	{
		static const char *const bad[] = { "", "-1", "12x", " 12", "+12", "0x10",
			"99999999999999999999999" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(conf_init(&c, keys, NKEYS), 0);
			assert_int_equal(conf_set(&c, "max-body", bad[i], CONF_SRC_CLI), 0);
			if (conf_get_u64(&c, "max-body", 0, UINT64_MAX, &n, err, sizeof(err)) != -EINVAL)
				fail_msg("conf_get_u64 took \"%s\"", bad[i]);
			conf_free(&c);
		}
	}
}

static void
test_check_stores_typed_values_at_their_destinations(void **state)
{
	struct conf c;
	struct dst d;
	char err[256];

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	assert_int_equal(conf_set(&c, "listen", "1.1.1.1:1", CONF_SRC_FILE), 0);
	assert_int_equal(conf_set(&c, "listen", "[::1]:2", CONF_SRC_FILE), 0);
	assert_int_equal(conf_set(&c, "imds-v2", "off", CONF_SRC_FILE), 0);
	assert_int_equal(conf_set(&c, "debug", "on", CONF_SRC_CLI), 0);
	assert_int_equal(conf_set(&c, "user", "root", CONF_SRC_CLI), 0);
	assert_int_equal(conf_apply_defaults(&c), 0);
	assert_int_equal(conf_check(&c, &d, err, sizeof(err)), 0);
	assert_int_equal(d.listen.n, 2);
	assert_string_equal(d.listen.v[1], "[::1]:2");
	assert_string_equal(d.state_dir, "/var/lib/vrd");
	assert_null(d.token_file); /* no default, not set: left alone */
	assert_int_equal(d.imds_v2, 2);
	assert_int_equal(d.max_body, 16777216);
	assert_true(d.debug);
	assert_int_equal(d.port, 80);
	assert_string_equal(d.user, "root");
	/* without a destination the values are checked all the same */
	assert_int_equal(conf_check(&c, NULL, err, sizeof(err)), 0);
	conf_free(&c);
}

static void
test_check_refuses_each_type_naming_the_key(void **state)
{
	static const struct { const char *key, *val, *text; } bad[] = {
		{ "listen", "1.1.1.1", "is not host:port" },
		{ "state-dir", "relative/dir", "absolute path" },
		{ "state-dir", "/with space", "absolute path" },
		{ "imds-v2", "sometimes", "is not optional, required or off" },
		{ "max-body", "1023", "from 1024 to" },
		{ "max-body", "12k", "whole number" },
		{ "debug", "maybe", "is not yes or no" },
		{ "port", "65536", "from 1 to 65535" },
		{ "port", "0", "from 1 to 65535" },
		{ "user", "no-such-user-vr-test", "no such user" },
	};
	struct conf c;
	struct dst d;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(conf_init(&c, keys, NKEYS), 0);
		assert_int_equal(conf_set(&c, bad[i].key, bad[i].val, CONF_SRC_CLI), 0);
		assert_int_equal(conf_apply_defaults(&c), 0);
		err[0] = '\0';
		if (conf_check(&c, &d, err, sizeof(err)) != -EINVAL)
			fail_msg("%s = %s taken", bad[i].key, bad[i].val);
		if (strncmp(err, bad[i].key, strlen(bad[i].key)) || !strstr(err, bad[i].text))
			fail_msg("%s = %s: \"%s\"", bad[i].key, bad[i].val, err);
		conf_free(&c);
	}
	/* too many addresses */
	assert_int_equal(conf_init(&c, keys, NKEYS), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(conf_set(&c, "listen", "1.1.1.1:1", CONF_SRC_CLI), 0);
	assert_int_equal(conf_check(&c, &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "listen: want 1 to 3 addresses");
	conf_free(&c);
}

static void
test_cli_parse_file_and_options(void **state)
{
	char dir[64], *file, *a[16];
	struct cli_result r;
	char *const *v;
	int n = 0;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	tu_write(dir, "vrd.conf", "state-dir = /file\nlisten = 1.1.1.1:1\ntoken-file = /tok\n", 0644);
	file = tu_path(dir, "vrd.conf");
	a[n++] = "vrd-test";
	a[n++] = "--state-dir";
	a[n++] = "/cli";
	a[n++] = "--listen=9.9.9.9:9";
	a[n++] = "-c";
	a[n++] = file;
	a[n++] = "-n";
	a[n++] = "-v";
	a[n++] = "--json";
	a[n++] = "apply";
	a[n++] = "--";
	a[n++] = "--not-an-option";
	a[n] = NULL;
	cli_parse(&spec, n, a, &r);
	assert_true(r.config_loaded);
	assert_true(r.check_only);
	assert_int_equal(r.verbose, 1);
	assert_int_equal(r.flag_bits, 1);
	assert_int_equal(r.nargs, 2);
	assert_string_equal(r.args[0], "apply");
	assert_string_equal(r.args[1], "--not-an-option");
	assert_string_equal(conf_get(&r.conf, "state-dir"), "/cli");
	assert_int_equal(conf_get_all(&r.conf, "listen", &v), 1);
	assert_string_equal(v[0], "9.9.9.9:9");
	assert_string_equal(conf_get(&r.conf, "token-file"), "/tok");
	assert_string_equal(conf_get(&r.conf, "imds-v2"), "optional");
	cli_result_free(&r);
	/* The default file may be missing. */
	n = 1;
	a[n] = NULL;
	cli_parse(&spec, n, a, &r);
	assert_false(r.config_loaded);
	assert_string_equal(conf_get(&r.conf, "state-dir"), "/var/lib/vrd");
	cli_result_free(&r);
	free(file);
	tu_rm_rf(dir);
}

/* Runs cli_parse in a child; returns its exit status and stderr. */
static int
cli_child(char **argv, int argc, char **out)
{
	char dir[64];
	pid_t pid;
	int status;

	tu_mkdtemp(dir, sizeof(dir));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cli_result r;
		char *p = tu_path(dir, "err");
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		dup2(fd, 1);
		cli_parse(&spec, argc, argv, &r);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*out = tu_read(dir, "err");
	tu_rm_rf(dir);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_cli_errors_exit_2_naming_the_key(void **state)
{
	char dir[64], *file, *out;
	char *a1[] = { "vrd-test", "--no-such-option", "1", NULL };
	char *a2[] = { "vrd-test", "--state-dir", "/a", "--state-dir", "/b", NULL };
	char *a3[] = { "vrd-test", "--state-dir", NULL };
	char *a4[] = { "vrd-test", "-c", NULL, NULL };
	char *a5[] = { "vrd-test", "--help", NULL };
	char *a6[] = { "vrd-test", "--max-body", "12", NULL };
	char *a7[] = { "vrd-test", "-n", "--max-body", "12", NULL };

	(void)state;
	assert_int_equal(cli_child(a1, 3, &out), 2);
	assert_non_null(strstr(out, "no-such-option"));
	free(out);
	assert_int_equal(cli_child(a2, 5, &out), 2);
	assert_non_null(strstr(out, "state-dir"));
	free(out);
	assert_int_equal(cli_child(a3, 2, &out), 2);
	assert_non_null(strstr(out, "state-dir"));
	free(out);
	tu_mkdtemp(dir, sizeof(dir));
	tu_write(dir, "bad.conf", "state-dir = /x\nlisten-addr = 1.2.3.4:5\n", 0644);
	file = tu_path(dir, "bad.conf");
	a4[2] = file;
	assert_int_equal(cli_child(a4, 3, &out), 2);
	assert_non_null(strstr(out, "listen-addr"));
	assert_non_null(strstr(out, "line 2"));
	free(out);
	free(file);
	file = tu_path(dir, "missing.conf"); /* an explicit file must exist */
	a4[2] = file;
	assert_int_equal(cli_child(a4, 3, &out), 2);
	assert_non_null(strstr(out, "missing.conf"));
	free(out);
	free(file);
	tu_rm_rf(dir);
	/* a bad value: the same error with -n as without, naming the key */
	assert_int_equal(cli_child(a6, 3, &out), 2);
	assert_string_equal(out, "vrd-test: max-body: \"12\" is not a whole number from 1024 to "
	    "1099511627776\n");
	free(out);
	assert_int_equal(cli_child(a7, 4, &out), 2);
	assert_string_equal(out, "vrd-test: max-body: \"12\" is not a whole number from 1024 to "
	    "1099511627776\n");
	free(out);
	assert_int_equal(cli_child(a5, 2, &out), 0);
	assert_non_null(strstr(out, "--state-dir"));
	assert_non_null(strstr(out, "[may repeat]"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_comments_blank_lines_and_spacing),
		cmocka_unit_test(test_parse_errors_name_line_and_key),
		cmocka_unit_test(test_multi_key_keeps_every_value_in_order),
		cmocka_unit_test(test_command_line_wins_over_file),
		cmocka_unit_test(test_typed_getters),
		cmocka_unit_test(test_check_stores_typed_values_at_their_destinations),
		cmocka_unit_test(test_check_refuses_each_type_naming_the_key),
		cmocka_unit_test(test_cli_parse_file_and_options),
		cmocka_unit_test(test_cli_errors_exit_2_naming_the_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
