/* fuzz_cmd.c: libFuzzer target over the control payload parser and the batch
 * application: any body either fails cleanly or applies, and a failed batch
 * leaves the state exactly as it was. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "doc.h"
#include "render.h"
#include "txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
snapshot(const struct state *st)
{
	struct buf b;

	buf_init(&b);
	dhcp_hosts_render(st, &b);
	dhcp_opts_render(st, &b);
	hosts_render(st, &b);
	for (size_t i = 0; i < st->nvm; i++)
		vm_doc_render(st->by_ip[i], &b);
	return buf_steal(&b, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char seed[] =
	    "[{\"type\":\"guestnetwork\",\"device\":\"eth1\",\"router_guest_ip\":\"10.1.1.1\","
	    "\"cidr\":\"10.1.1.0/24\"},{\"type\":\"dhcpentry\",\"mac_address\":\"02:00:00:00:00:01\","
	    "\"ipv4_address\":\"10.1.1.5\",\"host_name\":\"a\"}]";
	struct cmd_batch seedb, b;
	struct cmd_error err;
	struct state st;
	struct txn t;
	char *before, *after;
	int r = 0;

	state_init(&st);
	if (cmd_batch_parse(seed, sizeof(seed) - 1, &seedb, &err) == 0) {
		txn_begin(&t, &st);
		for (size_t i = 0; i < seedb.n; i++)
			txn_apply(&t, &seedb.v[i], (long)i, &err);
		txn_end(&t);
		cmd_batch_free(&seedb);
	}
	if (cmd_batch_parse((const char *)data, size, &b, &err) < 0)
		goto out;
	before = snapshot(&st);
	txn_begin(&t, &st);
	for (size_t i = 0; i < b.n && r == 0; i++)
		r = txn_apply(&t, &b.v[i], (long)i, &err);
	if (r < 0) {
		txn_rollback(&t);
		after = snapshot(&st);
		if (!before || !after || strcmp(before, after) != 0)
			abort(); /* a failed batch changed the state */
		free(after);
	}
	txn_end(&t);
	free(before);
	cmd_batch_free(&b);
out:
	state_free(&st);
	return 0;
}
