/* doc.h: the JSON documents of the state directory, which vrd writes and
 * vr-metadata reads (pure).
 *
 * vms/<ip>.json, one per VM, is what vr-metadata serves from:
 *   {"ip", "mac", "hostname", "default_entry", "lease_time", "ipv6_address",
 *    "ipv6_duid", "dns_addresses", "default_gateway", "metadata": {key: value},
 *    "user_data": text | "user_data_base64": base64 when not UTF-8 text}
 * networks.json holds the guest networks as guestnetwork commands. */
#ifndef STATE_DOC_H
#define STATE_DOC_H

#include <jansson.h>

#include "buf.h"
#include "model.h"

/* Returns a new JSON object, or NULL on -ENOMEM. */
json_t *vm_doc(const struct vm *v, bool with_values);
/* Renders vms/<ip>.json.  Returns 0 or -ENOMEM. */
int vm_doc_render(const struct vm *v, struct buf *b);
/* Parses vms/<ip>.json into a new VM.  Returns 0 or -EINVAL/-ENOMEM with
 * the reason in err. */
int vm_doc_parse(const char *buf, size_t len, struct vm **out, char *err, size_t errlen);

json_t *net_doc(const struct net *n);
int nets_doc_render(const struct state *st, struct buf *b);
/* networks.json is parsed by its one reader, vrd: nets_doc_parse (vrd/cmd.h). */

#endif
