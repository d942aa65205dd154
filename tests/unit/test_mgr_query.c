/* test_mgr_query.c: the API query parser: decoding, each rejection, the
 * limits, duplicate keys and lookups. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "query.h"

static int
parse(const char *s, struct query *q)
{
	return query_parse(s, strlen(s), q);
}

/* A rejected query leaves *out as it was. */
static void
check_rejects(const char *s, int want)
{
	struct query q = { (struct query_param *)0x1, 77 };

	assert_int_equal(query_parse(s, strlen(s), &q), want);
	assert_ptr_equal(q.p, (struct query_param *)0x1);
	assert_int_equal(q.n, 77);
}

static void
test_query_basic(void **state)
{
	struct query q;

	(void)state;
	assert_int_equal(parse("command=listHosts&response=json&apiKey=abc", &q), 0);
	assert_int_equal(q.n, 3);
	assert_string_equal(q.p[0].key, "command");
	assert_string_equal(q.p[0].val, "listHosts");
	assert_string_equal(q.p[2].key, "apiKey");
	assert_string_equal(q.p[2].val, "abc");
	query_free(&q);
	assert_null(q.p);
	assert_int_equal(q.n, 0);
}

static void
test_query_decoding(void **state)
{
	struct query q;

	(void)state;
	assert_int_equal(parse("name=vm+1%2Fa%2bb&sig=TTpd%2F7j%3D&u=%C3%A9&e=a=b", &q), 0);
	assert_string_equal(query_get(&q, "name"), "vm 1/a+b");
	assert_string_equal(query_get(&q, "sig"), "TTpd/7j=");
	assert_string_equal(query_get(&q, "u"), "\xc3\xa9");
	assert_string_equal(query_get(&q, "e"), "a=b"); /* only the first '=' splits */
	query_free(&q);
	/* keys are decoded too: details%5B0%5D.key is details[0].key */
	assert_int_equal(parse("details%5B0%5D.key=cpu", &q), 0);
	assert_string_equal(q.p[0].key, "details[0].key");
	query_free(&q);
}

static void
test_query_empty_pairs_and_values(void **state)
{
	struct query q;

	(void)state;
	assert_int_equal(parse("&a=1&&b=2&", &q), 0);
	assert_int_equal(q.n, 2);
	query_free(&q);
	assert_int_equal(parse("flag&x=", &q), 0);
	assert_int_equal(q.n, 2);
	assert_string_equal(query_get(&q, "flag"), "");
	assert_string_equal(query_get(&q, "x"), "");
	query_free(&q);
	assert_int_equal(parse("", &q), 0);
	assert_int_equal(q.n, 0);
	query_free(&q);
	assert_int_equal(parse("&&&", &q), 0);
	assert_int_equal(q.n, 0);
	query_free(&q);
}

static void
test_query_get_case_insensitive(void **state)
{
	struct query q;

	(void)state;
	assert_int_equal(parse("apiKey=k&Signature=s", &q), 0);
	assert_string_equal(query_get(&q, "APIKEY"), "k");
	assert_string_equal(query_get(&q, "signature"), "s");
	assert_null(query_get(&q, "command"));
	query_free(&q);
	assert_null(query_get(NULL, "x"));
	query_free(NULL);
}

static void
test_query_bad_escape(void **state)
{
	(void)state;
	check_rejects("a=%zz", -EINVAL);
	check_rejects("a=%4", -EINVAL);   /* truncated */
	check_rejects("a=%", -EINVAL);
	check_rejects("a=%4&b=1", -EINVAL);
	check_rejects("a%=1", -EINVAL);
}

static void
test_query_nul(void **state)
{
	struct query q = { 0 };

	(void)state;
	check_rejects("a=x%00y", -EINVAL);
	check_rejects("a%00=1", -EINVAL);
	assert_int_equal(query_parse("a=x\0y", 5, &q), -EINVAL); /* a raw NUL */
	assert_null(q.p);
}

static void
test_query_bad_key(void **state)
{
	char key[QUERY_KEY_MAX + 3];
	struct query q;

	(void)state;
	check_rejects("=1", -EINVAL);
	check_rejects("a=1&=2", -EINVAL);
	check_rejects("a+b=1", -EINVAL);     /* space */
	check_rejects("a%2Fb=1", -EINVAL);   /* '/' */
	check_rejects("k\xc3\xa9=1", -EINVAL);
	check_rejects("a;b=1", -EINVAL);
	memset(key, 'k', QUERY_KEY_MAX);
	strcpy(key + QUERY_KEY_MAX, "=");
	assert_int_equal(parse(key, &q), 0); /* exactly QUERY_KEY_MAX is fine */
	query_free(&q);
	memset(key, 'k', QUERY_KEY_MAX + 1);
	strcpy(key + QUERY_KEY_MAX + 1, "=");
	check_rejects(key, -EINVAL);
}

static void
test_query_duplicate_key(void **state)
{
	(void)state;
	check_rejects("a=1&a=2", -EINVAL);
	check_rejects("apiKey=1&x=2&APIKEY=3", -EINVAL);
	check_rejects("a=1&%61=2", -EINVAL); /* the same key once decoded */
}

static void
test_query_too_many_params(void **state)
{
	char *s = malloc(QUERY_PARAMS_MAX * 8 + 16);
	size_t n = 0;
	struct query q;

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < QUERY_PARAMS_MAX; i++)
		n += (size_t)sprintf(s + n, "k%d=v&", i);
	assert_int_equal(query_parse(s, n, &q), 0);
	assert_int_equal(q.n, QUERY_PARAMS_MAX);
	query_free(&q);
	n += (size_t)sprintf(s + n, "one=more");
	check_rejects(s, -E2BIG);
	free(s);
}

static void
test_query_too_long(void **state)
{
	char *s = malloc(QUERY_LEN_MAX + 2);
	struct query q;

	(void)state;
	assert_non_null(s);
	memcpy(s, "a=", 2);
	memset(s + 2, 'x', QUERY_LEN_MAX - 2);
	s[QUERY_LEN_MAX] = '\0';
	assert_int_equal(query_parse(s, QUERY_LEN_MAX, &q), 0);
	assert_int_equal(strlen(q.p[0].val), QUERY_LEN_MAX - 2);
	query_free(&q);
	strcpy(s + QUERY_LEN_MAX, "x");
	check_rejects(s, -E2BIG);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_basic),
		cmocka_unit_test(test_query_decoding),
		cmocka_unit_test(test_query_empty_pairs_and_values),
		cmocka_unit_test(test_query_get_case_insensitive),
		cmocka_unit_test(test_query_bad_escape),
		cmocka_unit_test(test_query_nul),
		cmocka_unit_test(test_query_bad_key),
		cmocka_unit_test(test_query_duplicate_key),
		cmocka_unit_test(test_query_too_many_params),
		cmocka_unit_test(test_query_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
