/* fuzz_render.c: libFuzzer target over the dnsmasq line renderer: whatever
 * dhcpentry the parser accepts renders as exactly one dhcp-host line of the
 * documented shape, in dhcphosts for a default NIC and in dnsmasq.conf for a
 * non-default one, and no dnsmasq keyword in the name field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "render.h"
#include "txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
count_char(const char *s, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmd_batch b;
	struct cmd_error err;
	struct state st;
	struct txn t;
	struct buf out;

	if (cmd_batch_parse((const char *)data, size, &b, &err) < 0)
		return 0;
	state_init(&st);
	buf_init(&out);
	for (size_t i = 0; i < b.n; i++) {
		const struct cmd *c = &b.v[i];
		size_t commas;

		if (c->type != CMD_DHCPENTRY || c->u.dhcp.remove)
			continue;
		txn_begin(&t, &st);
		if (txn_apply(&t, c, 0, &err) < 0) {
			txn_rollback(&t);
			txn_end(&t);
			continue;
		}
		txn_end(&t);
		buf_reset(&out);
		dhcp_host_line(state_vm(&st, c->ip), &out);
		if (out.oom || count_char(out.p, out.len, '\n') != 1 || out.p[out.len - 1] != '\n')
			abort();
		/* MAC,[set:TAG,]IP,[HOST,]LEASE */
		commas = count_char(out.p, out.len, ',');
		if (commas < 2 || commas > 4 || strchr(out.p, '#') || strchr(out.p, ' '))
			abort();
		if (c->u.dhcp.host[0] && !host_label_valid(c->u.dhcp.host))
			abort();
	}
	{
		static const struct dnsmasq_paths paths = { "/h", "/o", "/a", "/l" };
		size_t ndefault = 0, nother = 0;
		const char *p;

		for (size_t i = 0; i < st.nvm; i++)
			if (st.by_ip[i]->has_dhcp)
				*(st.by_ip[i]->default_entry ? &ndefault : &nother) += 1;
		/* dhcphosts: one line per default NIC, never two */
		buf_reset(&out);
		dhcp_hosts_render(&st, &out);
		if (count_char(out.p ? out.p : "", out.len, '\n') != ndefault ||
		    (out.p && strstr(out.p, "set:")))
			abort();
		/* dnsmasq.conf: one dhcp-host= line per non-default NIC */
		buf_reset(&out);
		dnsmasq_conf_render(&st, &paths, &out);
		for (p = out.p; p && (p = strstr(p, "\ndhcp-host=")); p++)
			nother--;
		if (nother != 0)
			abort();
	}
	buf_free(&out);
	state_free(&st);
	cmd_batch_free(&b);
	return 0;
}
