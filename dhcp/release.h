/* release.h: dropping a lease from the running dnsmasq with a DHCPRELEASE,
 * as dnsmasq's own dhcp_release tool does.  Without it dnsmasq keeps a
 * removed VM's lease (and its DNS name) and refuses the IP to a new MAC. */
#ifndef DHCP_RELEASE_H
#define DHCP_RELEASE_H

#include <stddef.h>
#include <stdint.h>

/* Builds the DHCPRELEASE for (ip, mac) addressed to server (pure).
 * Returns the packet length (at most len). */
size_t dhcp_release_packet(uint8_t *pkt, size_t len, uint32_t server, uint32_t ip,
    const uint8_t mac[6], uint32_t xid);

/* Sends it from a socket bound to dev to server:67, so that dnsmasq sees it
 * arrive on dev.  Returns 0 or a negative errno. */
int dhcp_release_send(const char *dev, uint32_t server, uint32_t ip, const uint8_t mac[6]);

#endif
