/* release.c: a BOOTP/DHCP DHCPRELEASE (RFC 2131 section 4.4.6) for one
 * lease, sent to dnsmasq on the guest network's device. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "release.h"

#define BOOTP_MIN 300          /* RFC 951's minimum BOOTP message */
#define DHCP_COOKIE 0x63825363u
#define OFF_OPTIONS 240

size_t
dhcp_release_packet(uint8_t *pkt, size_t len, uint32_t server, uint32_t ip,
    const uint8_t mac[6], uint32_t xid)
{
	uint32_t be;
	uint8_t *o = pkt + OFF_OPTIONS;

	if (len < BOOTP_MIN)
		return 0;
	memset(pkt, 0, BOOTP_MIN);
	pkt[0] = 1;                    /* op: BOOTREQUEST */
	pkt[1] = 1;                    /* htype: Ethernet */
	pkt[2] = 6;                    /* hlen */
	be = htonl(xid);
	memcpy(pkt + 4, &be, 4);
	be = htonl(ip);
	memcpy(pkt + 12, &be, 4);      /* ciaddr: the address released */
	memcpy(pkt + 28, mac, 6);      /* chaddr */
	be = htonl(DHCP_COOKIE);
	memcpy(pkt + 236, &be, 4);
	*o++ = 53;                     /* message type */
	*o++ = 1;
	*o++ = 7;                      /* DHCPRELEASE */
	*o++ = 54;                     /* server identifier */
	*o++ = 4;
	be = htonl(server);
	memcpy(o, &be, 4);
	o += 4;
	*o = 255;                      /* end */
	return BOOTP_MIN;
}

int
dhcp_release_send(const char *dev, uint32_t server, uint32_t ip, const uint8_t mac[6])
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(67) };
	uint8_t pkt[BOOTP_MIN];
	size_t n = dhcp_release_packet(pkt, sizeof(pkt), server, ip, mac,
	    ip ^ (uint32_t)getpid());
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strnlen(dev, IFNAMSIZ)) < 0) {
		r = -errno;
		goto out;
	}
	to.sin_addr.s_addr = htonl(server);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		r = -errno;
out:
	close(fd);
	return r;
}
