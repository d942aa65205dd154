/* addr.c: strict parsers for IPv4, CIDR, MAC and listen addresses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int
ip4_parse(const char *s, uint32_t *out)
{
	uint32_t ip = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		if (part > 0) {
			if (*s != '.')
				return -EINVAL;
			s++;
		}
		while (isdigit((unsigned char)*s)) {
			if (digits > 0 && v == 0)
				return -EINVAL; /* leading zero: octal ambiguity */
			v = v * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || v > 255)
				return -EINVAL;
			s++;
		}
		if (digits == 0)
			return -EINVAL;
		ip = ip << 8 | v;
	}
	if (*s)
		return -EINVAL;
	*out = ip;
	return 0;
}

/* printf-free: the renderers format every VM's address on each change. */
void
ip4_format(uint32_t ip, char out[IP4_STRLEN])
{
	char *p = out;

	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned v = (ip >> shift) & 0xff;

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = shift ? '.' : '\0';
	}
}

uint32_t
prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int
cidr_parse(const char *s, uint32_t *net, int *prefix)
{
	char ip[IP4_STRLEN];
	const char *slash = strchr(s, '/');
	char *end;
	long p;
	uint32_t a;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (ip4_parse(ip, &a) < 0 || !isdigit((unsigned char)slash[1]))
		return -EINVAL;
	p = strtol(slash + 1, &end, 10);
	if (*end || p < 0 || p > 32 || (slash[1] == '0' && slash[2]))
		return -EINVAL;
	*net = a & prefix_mask((int)p);
	*prefix = (int)p;
	return 0;
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
mac_parse(const char *s, uint8_t out[6])
{
	uint8_t mac[6];
	char sep = 0;

	for (int i = 0; i < 6; i++) {
		int hi, lo;

		if (i > 0) {
			if (*s != ':' && *s != '-')
				return -EINVAL;
			if (sep && *s != sep)
				return -EINVAL;
			sep = *s++;
		}
		if ((hi = hex_digit(s[0])) < 0 || (lo = hex_digit(s[1])) < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (*s)
		return -EINVAL;
	memcpy(out, mac, 6);
	return 0;
}

void
mac_format(const uint8_t mac[6], char out[MAC_STRLEN])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 6; i++) {
		out[3 * i] = hex[mac[i] >> 4];
		out[3 * i + 1] = hex[mac[i] & 15];
		out[3 * i + 2] = i < 5 ? ':' : '\0';
	}
}

int
listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon, *hs = s, *he;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		he = strchr(s, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		hs = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		he = colon;
	}
	if ((size_t)(he - hs) >= sizeof(host))
		return -EINVAL;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (!isdigit((unsigned char)colon[1]))
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -EINVAL;
	if (*s == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		uint32_t ip = 0;

		if (host[0] && ip4_parse(host, &ip) < 0)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(ip);
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	}
	return 0;
}
