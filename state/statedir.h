/* statedir.h: the file names of vrd's state directory (docs/state-dir.md),
 * which vrd writes and vr-metadata and dnsmasq read. */
#ifndef STATE_STATEDIR_H
#define STATE_STATEDIR_H

#define STATE_VMS "vms"                  /* vms/<ip>.json: one VM each (doc.h) */
#define STATE_PASSWORDS "passwords"      /* passwords/<ip>: a password not yet fetched */
#define STATE_NETWORKS "networks.json"   /* the guest networks (doc.h) */
#define STATE_GENERATION "generation"    /* the last committed batch's number */
#define STATE_JOURNAL "journal"          /* the redo journal of a batch in flight */
#define STATE_QUARANTINE "quarantine"    /* files that could not be loaded, moved aside */
/* The files dnsmasq reads, rendered from the rest (dhcp/render.h). */
#define STATE_DHCPHOSTS "dhcphosts"      /* --dhcp-hostsfile */
#define STATE_DHCPOPTS "dhcpopts"        /* --dhcp-optsfile */
#define STATE_HOSTS "hosts"              /* --addn-hosts */
#define STATE_DNSMASQ_CONF "dnsmasq.conf"
/* Entries added since the files above were last written whole, one file
 * per batch that only adds, which dnsmasq reads through inotify. */
#define STATE_DHCPHOSTS_D "dhcphosts.d"  /* --dhcp-hostsdir */
#define STATE_HOSTS_D "hosts.d"          /* --hostsdir */

#endif
