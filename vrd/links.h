/* links.h: the guest-facing interfaces, through libnl-route-3: the router's
 * address and 169.254.169.254/32 on the device, and the link up. */
#ifndef VRD_LINKS_H
#define VRD_LINKS_H

#include "model.h"

#define METADATA_IP 0xa9fea9feu /* 169.254.169.254 */

/* libnl's error code (negative or positive) as a negative errno: the one
 * place libnl's codes are translated (also for guard.c). */
int links_errno(int nlerr);
/* 0 if the device exists, -ENODEV if not, another negative errno on error. */
int links_check(const char *dev);
/* Adds the addresses (existing ones are fine) and sets the link up. */
int links_net_up(const struct net *n);
/* Removes the addresses (missing ones are fine). */
int links_net_down(const struct net *n);

#endif
