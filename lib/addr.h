/* addr.h: parsing and printing of IPv4 addresses, MACs and listen addresses
 * (pure, strict: no leading zeros, no trailing garbage). */
#ifndef VR_ADDR_H
#define VR_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define IP4_STRLEN 16
#define MAC_STRLEN 18

/* Dotted quad to host-order integer.  Returns 0 or -EINVAL. */
int ip4_parse(const char *s, uint32_t *out);
void ip4_format(uint32_t ip, char out[IP4_STRLEN]);
/* "a.b.c.d/n" with 0 <= n <= 32; the address is masked.  Returns 0 or -EINVAL. */
int cidr_parse(const char *s, uint32_t *net, int *prefix);
uint32_t prefix_mask(int prefix);
/* The value of a hex digit (either case), or -1. */
int hex_digit(int c);
/* Six hex octets separated by ':' (or '-').  Returns 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t out[6]);
void mac_format(const uint8_t mac[6], char out[MAC_STRLEN]);

/* "host:port", "[v6]:port" or ":port".  Returns 0 or -EINVAL. */
int listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
