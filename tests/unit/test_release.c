/* test_release.c: the DHCPRELEASE packet vrd sends dnsmasq for a removed lease. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "release.h"

static void
test_release_packet_layout(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x4c, 0x5f, 0x00, 0x01 };
	static const uint8_t opts[] = { 53, 1, 7, 54, 4, 10, 1, 1, 1, 255 };
	uint8_t pkt[400];
	size_t n;

	(void)state;
	memset(pkt, 0xee, sizeof(pkt));
	n = dhcp_release_packet(pkt, sizeof(pkt), 0x0a010101, 0x0a010165, mac, 0x01020304);
	assert_int_equal(n, 300);
	assert_int_equal(pkt[0], 1);  /* BOOTREQUEST */
	assert_int_equal(pkt[1], 1);  /* Ethernet */
	assert_int_equal(pkt[2], 6);
	assert_memory_equal(pkt + 4, "\x01\x02\x03\x04", 4);           /* xid */
	assert_memory_equal(pkt + 12, "\x0a\x01\x01\x65", 4);          /* ciaddr 10.1.1.101 */
	assert_memory_equal(pkt + 16, "\0\0\0\0\0\0\0\0\0\0\0\0", 12); /* yiaddr, siaddr, giaddr */
	assert_memory_equal(pkt + 28, mac, 6);                          /* chaddr */
	assert_memory_equal(pkt + 236, "\x63\x82\x53\x63", 4);         /* magic cookie */
	assert_memory_equal(pkt + 240, opts, sizeof(opts));
	for (size_t i = 240 + sizeof(opts); i < n; i++)
		assert_int_equal(pkt[i], 0);
	assert_int_equal(pkt[300], 0xee); /* nothing written past the packet */
}

static void
test_release_packet_needs_room(void **state)
{
	static const uint8_t mac[6] = { 0 };
	uint8_t pkt[299];

	(void)state;
	assert_int_equal(dhcp_release_packet(pkt, sizeof(pkt), 1, 2, mac, 3), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_packet_layout),
		cmocka_unit_test(test_release_packet_needs_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
