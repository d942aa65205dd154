/* test_lib.c: the small shared parsers and helpers in lib/: base64, IPv4,
 * CIDR, MAC and listen addresses, the token file and its comparison, buf,
 * the HTTP route table, err_set and errno across logging. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "base64.h"
#include "histogram.h"
#include "err.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "token.h"

static void
test_base64_rfc4648_vectors(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
		"Zm9vYmFy" };

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		char *e = base64_encode(plain[i], strlen(plain[i])), *d = NULL;
		size_t n = 99;

		assert_string_equal(e, enc[i]);
		assert_int_equal(base64_decode(enc[i], strlen(enc[i]), 100, &d, &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_string_equal(d, plain[i]);
		free(d);
		free(e);
	}
}

static void
test_base64_round_trip_binary(void **state)
{
	unsigned char in[300];
	uint32_t x = 2463534242u;

	(void)state;
	for (size_t len = 0; len <= sizeof(in); len++) {
		char *e, *d;
		size_t n;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			in[i] = (unsigned char)x;
		}
		e = base64_encode(in, len);
		assert_non_null(e);
		assert_int_equal(strlen(e), (len + 2) / 3 * 4);
		assert_int_equal(base64_decode(e, strlen(e), len, &d, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(d, in, len);
		assert_int_equal(d[len], '\0');
		free(d);
		free(e);
	}
}

static void
test_base64_lenient_but_strict(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "Zg", "f" }, { "Zm8", "fo" }, { "Zm9vYg", "foob" },          /* padding missing */
		{ "Zm9v\nYmFy\n", "foobar" }, { " Zm 9v\r\n\tYg== ", "foob" }, /* whitespace */
		{ "I2Nsb3VkLWNvbmZpZwo", "#cloud-config\n" },
	};
	static const char *const bad[] = { "Z", "Zm9vY", "Zm9v!", "Zg==Zg==", "Zg=a", "Zg===", "====",
		"Zm9v-_", "Zm9v\x80", "Zm9v\0Zg", "Zg=", "Zh", "Zm9=" }; /* partial padding, stray bits */
	char *d;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(base64_decode(ok[i].in, strlen(ok[i].in), 100, &d, &n), 0);
		assert_int_equal(n, strlen(ok[i].out));
		assert_string_equal(d, ok[i].out);
		free(d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 9 ? 7 : strlen(bad[i]); /* the one with a NUL inside */

		d = NULL;
		if (base64_decode(bad[i], len, 100, &d, &n) != -EINVAL)
			fail_msg("base64_decode took \"%s\"", bad[i]);
		assert_null(d);
	}
	/* The limit is on decoded bytes. */
	assert_int_equal(base64_decode("Zm9vYmFy", 8, 6, &d, &n), 0);
	free(d);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, 5, &d, &n), -EFBIG);
	assert_int_equal(base64_decode("Zm9vYg", 6, 3, &d, &n), -EFBIG);
	assert_int_equal(base64_decode("Zm9vYg", 6, 4, &d, &n), 0);
	free(d);
}

static void
test_ip4_parse_edges(void **state)
{
	static const char *const bad[] = { "", "1", "1.2.3", "1.2.3.4.", ".1.2.3", "1.2.3.4.5",
		"01.2.3.4", "1.2.3.04", "1.2.3.00", "1.2.3.256", "256.1.1.1", "1.2.3.1000",
		"1.2.3.4 ", " 1.2.3.4", "1.2.3.4x", "1.2.3.4/24", "1..3.4", "0x1.2.3.4", "1.2.3.-4",
		"1.2.3.+4", "1.2.3.4\n", "a.b.c.d", "1,2,3,4" };
	char s[IP4_STRLEN];
	uint32_t a = 7;

	(void)state;
	assert_int_equal(ip4_parse("10.1.1.101", &a), 0);
	assert_int_equal(a, 0x0a010165);
	assert_int_equal(ip4_parse("0.0.0.0", &a), 0);
	assert_int_equal(a, 0);
	assert_int_equal(ip4_parse("255.255.255.255", &a), 0);
	assert_int_equal(a, 0xffffffffu);
	assert_int_equal(ip4_parse("100.10.0.1", &a), 0);
	assert_int_equal(a, 0x640a0001);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = 7;
		if (ip4_parse(bad[i], &a) != -EINVAL)
			fail_msg("ip4_parse took \"%s\"", bad[i]);
		assert_int_equal(a, 7); /* untouched on failure */
	}
	ip4_format(0xc0a80001, s);
	assert_string_equal(s, "192.168.0.1");
	ip4_format(0xffffffffu, s);
	assert_string_equal(s, "255.255.255.255");
}

static void
test_cidr_parse_edges(void **state)
{
	static const char *const bad[] = { "10.1.1.0", "10.1.1.0/", "10.1.1.0/33", "10.1.1.0/-1",
		"10.1.1.0/+8", "10.1.1.0/08", "10.1.1.0/ 8", "10.1.1.0/8 ", "10.1.1/24", "/24",
		"10.1.1.0//24", "10.1.1.0/24/8", "010.1.1.0/24", "10.1.1.0/2x", "10.1.1.0/99999999999" };
	uint32_t net;
	int prefix;

	(void)state;
	assert_int_equal(cidr_parse("10.1.1.0/24", &net, &prefix), 0);
	assert_int_equal(net, 0x0a010100);
	assert_int_equal(prefix, 24);
	assert_int_equal(cidr_parse("10.1.1.77/24", &net, &prefix), 0);
	assert_int_equal(net, 0x0a010100); /* masked */
	assert_int_equal(cidr_parse("0.0.0.0/0", &net, &prefix), 0);
	assert_int_equal(prefix, 0);
	assert_int_equal(cidr_parse("1.2.3.4/32", &net, &prefix), 0);
	assert_int_equal(net, 0x01020304);
	assert_int_equal(cidr_parse("172.31.255.255/12", &net, &prefix), 0);
	assert_int_equal(net, 0xac100000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(bad[i], &net, &prefix) != -EINVAL)
			fail_msg("cidr_parse took \"%s\"", bad[i]);
	assert_int_equal(prefix_mask(0), 0);
	assert_int_equal(prefix_mask(1), 0x80000000u);
	assert_int_equal(prefix_mask(24), 0xffffff00u);
	assert_int_equal(prefix_mask(31), 0xfffffffeu);
	assert_int_equal(prefix_mask(32), 0xffffffffu);
}

static void
test_mac_parse_edges(void **state)
{
	static const char *const bad[] = { "", "02:00:4c:5f:00", "02:00:4c:5f:00:01:02",
		"02:00:4c:5f:00:1", "2:00:4c:5f:00:01", "02:00-4c:5f:00:01", "02:00:4c:5f:00:0g",
		"02:00:4c:5f:00:01:", "0200.4c5f.0001", "02 00 4c 5f 00 01", "020:0:4c:5f:00:01",
		"02:00:4c:5f:00:01 ", "02::00:4c:5f:00:01", "0x02:00:4c:5f:00:01" };
	uint8_t m[6] = { 9, 9, 9, 9, 9, 9 }, nine[6] = { 9, 9, 9, 9, 9, 9 };
	char s[MAC_STRLEN];

	(void)state;
	assert_int_equal(mac_parse("02:00:4c:5f:00:01", m), 0);
	assert_int_equal(m[0], 0x02);
	assert_int_equal(m[2], 0x4c);
	assert_int_equal(m[5], 0x01);
	assert_int_equal(mac_parse("02-00-4C-5F-00-AB", m), 0);
	mac_format(m, s);
	assert_string_equal(s, "02:00:4c:5f:00:ab"); /* lower case, colons */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(m, nine, 6);
		if (mac_parse(bad[i], m) != -EINVAL)
			fail_msg("mac_parse took \"%s\"", bad[i]);
		assert_memory_equal(m, nine, 6);
	}
}

static void
test_listen_parse_edges(void **state)
{
	static const char *const bad[] = { "", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
		"1.2.3.4:80x", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4: 80", "::1:80", "[::1]80",
		"[::1:80", "[::1]:", "localhost:80", "[1.2.3.4]:80", "1.2.3.256:80", "[fe80::zz]:80" };
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	(void)state;
	assert_int_equal(listen_parse("169.254.0.10:3923", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(s4->sin_port), 3923);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), 0xa9fe000a);
	assert_int_equal(listen_parse(":8080", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(s4->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(ntohs(s4->sin_port), 8080);
	assert_int_equal(listen_parse("[::1]:65535", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(s6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	assert_int_equal(listen_parse("[::]:1", &ss, &len), 0);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (listen_parse(bad[i], &ss, &len) != -EINVAL)
			fail_msg("listen_parse took \"%s\"", bad[i]);
}

static void
test_token_equal(void **state)
{
	(void)state;
	assert_true(token_equal("abcdef", 6, "abcdef", 6));
	assert_false(token_equal("abcdef", 6, "abcdeg", 6));
	assert_false(token_equal("abcdef", 6, "Abcdef", 6));
	assert_false(token_equal("abcdef", 6, "abcde", 5));  /* a prefix is not the token */
	assert_false(token_equal("abcde", 5, "abcdef", 6));
	assert_false(token_equal("", 0, "a", 1));
	assert_true(token_equal("", 0, "", 0));
	assert_false(token_equal("ab\0d", 4, "ab\0c", 4)); /* lengths, not NULs, bound it */
}

static int
load(const char *dir, const char *content, mode_t mode, char **tok, char *err, size_t errlen)
{
	char *p = tu_path(dir, "token");
	int r;

	tu_write(dir, "token", content, mode);
	*tok = NULL;
	err[0] = '\0';
	r = token_load(p, tok, err, errlen);
	free(p);
	return r;
}

static void
test_token_load(void **state)
{
	static const char hex64[] =
	    "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef";
	char dir[64], err[256], *tok, *p, buf[2100];

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(buf, sizeof(buf), "%s\n", hex64);
	assert_int_equal(load(dir, buf, 0600, &tok, err, sizeof(err)), 0);
	assert_string_equal(tok, hex64); /* trailing whitespace dropped */
	free(tok);
	assert_int_equal(load(dir, hex64, 0400, &tok, err, sizeof(err)), 0);
	free(tok);
	/* Others may read it: refused, with the mode in the message. */
	assert_int_equal(load(dir, buf, 0644, &tok, err, sizeof(err)), -EPERM);
	assert_null(tok);
	assert_non_null(strstr(err, "644"));
	assert_int_equal(load(dir, buf, 0640, &tok, err, sizeof(err)), -EPERM);
	assert_int_equal(load(dir, buf, 0604, &tok, err, sizeof(err)), -EPERM);
	/* Short (31 bytes), odd, not hex, inner whitespace, too long, empty. */
	snprintf(buf, sizeof(buf), "%.62s\n", hex64);
	assert_int_equal(load(dir, buf, 0600, &tok, err, sizeof(err)), -EINVAL);
	assert_null(tok);
	snprintf(buf, sizeof(buf), "%s0\n", hex64);
	assert_int_equal(load(dir, buf, 0600, &tok, err, sizeof(err)), -EINVAL);
	snprintf(buf, sizeof(buf), "%.63sg\n", hex64);
	assert_int_equal(load(dir, buf, 0600, &tok, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hex"));
	snprintf(buf, sizeof(buf), "%.32s %.32s\n", hex64, hex64 + 32);
	assert_int_equal(load(dir, buf, 0600, &tok, err, sizeof(err)), -EINVAL);
	memset(buf, 'a', TOKEN_MAX_HEX + 2);
	buf[TOKEN_MAX_HEX + 2] = '\0';
	assert_int_equal(load(dir, buf, 0600, &tok, err, sizeof(err)), -EINVAL);
	buf[TOKEN_MAX_HEX] = '\0';
	assert_int_equal(load(dir, buf, 0600, &tok, err, sizeof(err)), 0);
	free(tok);
	assert_int_equal(load(dir, "", 0600, &tok, err, sizeof(err)), -EINVAL);
	p = tu_path(dir, "missing");
	assert_int_equal(token_load(p, &tok, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "missing"));
	free(p);
	tu_rm_rf(dir);
}

static void
test_buf_grows_and_steals(void **state)
{
	struct buf b;
	char *s;
	size_t len;

	(void)state;
	buf_init(&b);
	s = buf_steal(&b, &len); /* empty is "", not NULL */
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	for (int i = 0; i < 1000; i++)
		buf_addf(&b, "%04d,", i);
	assert_int_equal(b.len, 5000);
	assert_false(b.oom);
	assert_memory_equal(b.p + 4995, "0999,", 5);
	assert_int_equal(b.p[5000], '\0');
	buf_add(&b, "\0x", 2);
	assert_int_equal(b.len, 5002);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	buf_adds(&b, "abc");
	s = buf_steal(&b, &len);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	assert_null(b.p);
	free(s);
	buf_free(&b);
}

static void
test_array_reserve(void **state)
{
	struct pair { uint64_t a, b; } *v = NULL, *before;
	size_t cap = 0, n;

	(void)state;
	assert_int_equal(array_reserve(&v, &cap, 0, sizeof(*v), 4), 0); /* nothing needed */
	assert_null(v);
	assert_int_equal(cap, 0);
	for (n = 0; n < 1000; n++) {
		assert_int_equal(array_reserve(&v, &cap, n + 1, sizeof(*v), 4), 0);
		assert_true(cap >= n + 1);
		v[n].a = n;
		v[n].b = ~(uint64_t)n;
	}
	assert_int_equal(cap, 1024); /* 4, 8, ... doubled */
	for (n = 0; n < 1000; n++)
		assert_true(v[n].a == n && v[n].b == ~(uint64_t)n);
	assert_int_equal(array_reserve(&v, &cap, 5000, sizeof(*v), 4), 0); /* jumps */
	assert_int_equal(cap, 8192);
	/* a size that cannot be had: -ENOMEM, the array and cap as they were */
	before = v;
	assert_int_equal(array_reserve(&v, &cap, SIZE_MAX / 2, sizeof(*v), 4), -ENOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 8192);
	assert_int_equal(v[999].a, 999);
	free(v);
}

/* vr-metadata's connection budget: every listener's connections fit under
 * the descriptor limit, with the reserve left over. */
static void
test_http_conn_budget(void **state)
{
	unsigned b;

	(void)state;
	b = http_conn_budget(1024, 6, 1, 1024); /* systemd's default, three addresses */
	assert_true(b >= 64);
	assert_true(6ull * b + HTTP_FD_RESERVE + 6 * 3 <= 1024);
	assert_int_equal(http_conn_budget(1 << 20, 6, 1, 1024), 1024); /* the cap */
	assert_int_equal(http_conn_budget(1 << 20, 6, 1, 300), 300);
	assert_true(http_conn_budget(65536, 16, 64, 65536) * 16ull + HTTP_FD_RESERVE +
	    16 * 66 <= 65536);
	assert_int_equal(http_conn_budget(64, 2, 1, 1024), 0);  /* nothing left */
	assert_int_equal(http_conn_budget(80, 2, 1, 1024), 5);  /* (80 - 64 - 6) / 2 */
	assert_int_equal(http_conn_budget(76, 2, 1, 1024), 0);  /* 3 each: too few */
	assert_int_equal(http_conn_budget(1024, 0, 1, 1024), 0);
	/* the eviction mark keeps 1/16 free, 1 to 64 places */
	assert_int_equal(http_evict_headroom(157), 9);
	assert_int_equal(http_evict_headroom(8), 1);
	assert_int_equal(http_evict_headroom(1), 0);
	assert_int_equal(http_evict_headroom(65536), 64);
}

static void
test_histogram_render(void **state)
{
	static const struct histogram_spec spec = { "t_seconds", "Test.", { 0.001, 0.01 }, 2 };
	struct histogram h = { { 0 }, 0, 0 };
	struct buf b;

	(void)state;
	buf_init(&b);
	histogram_render(&h, &spec, &b);
	assert_string_equal(b.p, "# HELP t_seconds Test.\n# TYPE t_seconds histogram\n"
	    "t_seconds_bucket{le=\"0.001\"} 0\nt_seconds_bucket{le=\"0.01\"} 0\n"
	    "t_seconds_bucket{le=\"+Inf\"} 0\nt_seconds_sum 0.000000\nt_seconds_count 0\n");
	histogram_observe(&h, &spec, 0.0001);
	histogram_observe(&h, &spec, 0.002);
	histogram_observe(&h, &spec, 0.01);  /* on a bound: that bucket */
	histogram_observe(&h, &spec, 100);
	buf_reset(&b);
	histogram_render(&h, &spec, &b);
	assert_string_equal(b.p, "# HELP t_seconds Test.\n# TYPE t_seconds histogram\n"
	    "t_seconds_bucket{le=\"0.001\"} 1\nt_seconds_bucket{le=\"0.01\"} 3\n"
	    "t_seconds_bucket{le=\"+Inf\"} 4\nt_seconds_sum 100.012100\nt_seconds_count 4\n");
	buf_free(&b);
}

static enum MHD_Result
route_fn(void *cls, const struct http_req *rq)
{
	(void)cls;
	(void)rq;
	return MHD_YES;
}

/* First match wins; a path with no matching method is a 405, no path a 404;
 * loopback routes only for loopback clients. */
static void
test_http_route_find(void **state)
{
	static const struct http_route routes[] = {
		{ NULL, "/metrics", HTTP_ROUTE_LOOPBACK, route_fn },
		{ "GET", "/client/api", 0, route_fn },
		{ "POST", "/client/api", 0, route_fn },
		{ "PUT", "/latest/api/token", 0, route_fn },
		{ "GET", "/latest/", HTTP_ROUTE_PREFIX, route_fn },
		{ NULL, "/any", 0, route_fn },
		{ "POST", "/v1/commands", 0, route_fn },
	};
	struct http_router rt = { .routes = routes, .nroutes = 7 };
	bool known;

	(void)state;
	assert_ptr_equal(http_route_find(&rt, "POST", "/client/api", false, &known), &routes[2]);
	assert_true(known);
	assert_null(http_route_find(&rt, "DELETE", "/client/api", false, &known));
	assert_true(known); /* 405 */
	assert_null(http_route_find(&rt, "GET", "/client/api/x", false, &known));
	assert_false(known); /* 404: exact paths are exact */
	assert_ptr_equal(http_route_find(&rt, "GET", "/latest/meta-data/", false, &known),
	    &routes[4]);
	assert_null(http_route_find(&rt, "POST", "/latest/x", false, &known));
	assert_true(known);
	assert_ptr_equal(http_route_find(&rt, "PATCH", "/any", false, &known), &routes[5]);
	assert_null(http_route_find(&rt, "GET", "/metrics", false, &known));
	assert_false(known); /* not for a guest */
	assert_ptr_equal(http_route_find(&rt, "GET", "/metrics", true, &known), &routes[0]);
	/* HEAD takes the GET route of its path; a path without one stays 405 */
	assert_ptr_equal(http_route_find(&rt, "HEAD", "/client/api", false, &known), &routes[1]);
	assert_null(http_route_find(&rt, "HEAD", "/v1/commands", false, &known));
	assert_true(known);
}

static void
test_err_set_and_logging_keep_errno(void **state)
{
	char err[32];

	(void)state;
	errno = EBUSY;
	assert_int_equal(err_set(err, sizeof(err), -ENOENT, "key: %s", "no such thing here"),
	    -ENOENT);
	assert_string_equal(err, "key: no such thing here");
	assert_int_equal(errno, EBUSY);
	assert_int_equal(err_set(NULL, 0, -EINVAL, "dropped"), -EINVAL);
	/* with stderr closed, writing the line fails (EBADF): errno stays */
	{
		int saved = dup(2);

		assert_true(saved >= 0);
		fflush(stderr);
		close(2);
		errno = EACCES;
		log_warn("test_lib: log_warn");
		log_warnx("test_lib: a warning");
		log_err(-ENOMEM, "test_lib: log_err");
		log_info("test_lib: info");
		log_debug("test_lib: debug");
		assert_int_equal(errno, EACCES);
		dup2(saved, 2);
		close(saved);
		clearerr(stderr);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_rfc4648_vectors),
		cmocka_unit_test(test_base64_round_trip_binary),
		cmocka_unit_test(test_base64_lenient_but_strict),
		cmocka_unit_test(test_ip4_parse_edges),
		cmocka_unit_test(test_cidr_parse_edges),
		cmocka_unit_test(test_mac_parse_edges),
		cmocka_unit_test(test_listen_parse_edges),
		cmocka_unit_test(test_token_equal),
		cmocka_unit_test(test_histogram_render),
		cmocka_unit_test(test_token_load),
		cmocka_unit_test(test_buf_grows_and_steals),
		cmocka_unit_test(test_array_reserve),
		cmocka_unit_test(test_http_conn_budget),
		cmocka_unit_test(test_http_route_find),
		cmocka_unit_test(test_err_set_and_logging_keep_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
