/* names.c: the names the state directory holds, checked the same way by their
 * writer (vrd's control parser) and their readers (vr-metadata, vr-manager):
 * host labels, reserved host names, domains, metadata keys and devices. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "names.h"

/* A label dnsmasq reads as a name: letters, digits and inner hyphens, and not
 * something its dhcp-host parser takes for a lease time ("45", "5m"), a
 * keyword ("infinite", "ignore", "deprecated") or a hardware address (six dash-separated
 * octets, or twelve bare hex digits). */
bool
host_label_valid(const char *s)
{
	size_t n = strlen(s), digits = 0;
	bool hexdash = true;

	if (n == 0 || n > HOST_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '-')
			return false;
		if (isdigit(c))
			digits++;
		if (!isxdigit(c) && c != '-')
			hexdash = false;
	}
	if (digits == n)
		return false;
	if (n > 1 && digits == n - 1 && strchr("smhdwSMHDW", s[n - 1]))
		return false;
	if (!strcasecmp(s, "infinite") || !strcasecmp(s, "ignore") || !strcasecmp(s, "deleted") ||
	    !strcasecmp(s, "deprecated"))
		return false;
	if (hexdash && (n == 12 || (n == 17 && s[2] == '-' && s[5] == '-' && s[8] == '-' &&
	    s[11] == '-' && s[14] == '-')))
		return false;
	return true;
}

/* Names that guests, the router or cloud-init resolve for a purpose of their
 * own; a VM holding one would answer in that service's place.  data-server is
 * how cloud-init's CloudStack datasource finds the router (and through it
 * every VM's user data and password); the localhost and ip6- names are the
 * loopback and multicast names of /etc/hosts; instance-data and metadata
 * are the metadata service's names in EC2's and GCE's clouds; wpad and
 * isatap are looked up unqualified by proxy and tunnel auto-configuration;
 * broadcasthost is the broadcast address's name.  docs/vrd.md lists them. */
static const char *const reserved_hosts[] = {
	"data-server", "localhost", "localhost4", "localhost6", "localdomain",
	"ip6-localhost", "ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes",
	"ip6-allrouters", "ip6-allhosts", "broadcasthost", "instance-data", "metadata",
	"wpad", "isatap",
};

bool
host_name_reserved(const char *s)
{
	for (size_t i = 0; i < sizeof(reserved_hosts) / sizeof(reserved_hosts[0]); i++)
		if (!strcasecmp(s, reserved_hosts[i]))
			return true;
	return false;
}

bool
domain_valid(const char *s)
{
	size_t n = strlen(s);
	const char *p = s;

	if (n == 0 || n > DOMAIN_MAX)
		return false;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63 || p[0] == '-' || p[l - 1] == '-')
			return false;
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-')
				return false;
		p += l;
		if (*p == '.' && !*++p)
			return false;
	}
	return true;
}

/* A file name of letters, digits, '.', '_' and '-' of at most max bytes,
 * not "." or "..": a metadata key (a path segment) or a device name. */
static bool
file_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

bool
md_key_valid(const char *s)
{
	return file_name_valid(s, MD_KEY_MAX);
}

bool
dev_name_valid(const char *s)
{
	return file_name_valid(s, DEV_MAX);
}
