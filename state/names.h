/* names.h: the validators of the names in the state directory's documents,
 * shared by their writer (vrd) and readers (vr-metadata, vr-manager). */
#ifndef STATE_NAMES_H
#define STATE_NAMES_H

#include <stdbool.h>

#include "model.h"

/* A label dnsmasq reads as a name (at most HOST_MAX, not a number, lease time,
 * keyword or hardware address). */
bool host_label_valid(const char *s);
/* A name the router, DNS or cloud-init give a meaning of their own
 * (data-server, localhost, ...), compared without case. */
bool host_name_reserved(const char *s);
bool domain_valid(const char *s);
bool md_key_valid(const char *s);
bool dev_name_valid(const char *s);

#endif
