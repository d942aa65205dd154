/* cmd.h: the control payloads (CloudStack's own JSON) parsed and validated
 * into commands, with no I/O: one command object or an array of them. */
#ifndef VRD_CMD_H
#define VRD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "names.h"

enum cmd_type { CMD_DHCPENTRY, CMD_VMPASSWORD, CMD_VMDATA, CMD_GUESTNETWORK, CMD_NTYPES };

struct md_op {
	bool userdata;  /* userdata/user-data, else metadata/<key> */
	char *key;
	char *val;      /* NULL: delete the key */
	size_t len;
};

struct cmd_dhcp {
	uint8_t mac[6];
	char host[HOST_MAX + 1];
	bool default_entry;
	bool remove;
	int64_t lease;
	char *ipv6, *duid, *dns, *gw;
};

struct cmd {
	enum cmd_type type;
	uint32_t ip;    /* the VM's IPv4 (not used by guestnetwork) */
	union {
		struct cmd_dhcp dhcp;
		char *password;
		struct {
			struct md_op *ops;
			size_t n;
			char **skipped;  /* why each refused triple was left out */
			size_t nskipped;
		} data;
		struct {
			struct net net;
			bool add;
		} gn;
	} u;
};

struct cmd_batch {
	struct cmd *v;
	size_t n;
};

/* What went wrong and where: the HTTP status (400 or 409), the command's
 * index in the batch (-1 for the body as a whole) and the JSON key. */
struct cmd_error {
	int status;
	long index;
	char field[64];
	char msg[256];
};

/* Parses a request body.  Returns 0, or -EINVAL/-ENOMEM/-E2BIG with err set;
 * on failure out is empty. */
int cmd_batch_parse(const char *buf, size_t len, struct cmd_batch *out, struct cmd_error *err);
void cmd_batch_free(struct cmd_batch *b);
const char *cmd_type_name(enum cmd_type t);

/* Parses networks.json (state/doc.h renders it) as a batch of guestnetwork
 * commands.  Returns 0 or -EINVAL/-ENOMEM/-E2BIG with err set. */
int nets_doc_parse(const char *buf, size_t len, struct cmd_batch *out, struct cmd_error *err);

void cmd_error_set(struct cmd_error *e, int status, long index, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
