/* model.h: what the VR knows, in memory: guest networks and VMs, with the
 * limits every input is checked against. */
#ifndef STATE_MODEL_H
#define STATE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_MAX 63                 /* one RFC 1123 label */
#define DOMAIN_MAX 253
#define DEV_MAX 15                  /* IFNAMSIZ - 1 */
#define DNS_MAX 8                   /* servers per network or entry */
#define NET_MAX 64                  /* guest networks per VR */
#define MD_KEY_MAX 255
#define MD_KEYS_MAX 256             /* metadata keys per VM */
#define MD_VALUE_MAX (256 * 1024)
#define USERDATA_MAX (1024 * 1024)  /* decoded */
#define PASSWORD_MAX 255
#define OPT_STR_MAX 512             /* ipv6, duid and other passthrough strings */
#define BATCH_MAX 200000            /* commands per request */
/* What the state directory's readers read at most: the writer refuses (413)
 * a batch whose files would be larger, so whatever it acknowledged loads. */
#define VM_DOC_MAX (8 * 1024 * 1024)        /* one vms/<ip>.json */
#define JOURNAL_MAX (1024UL * 1024 * 1024)  /* the redo journal of one batch */
#define LEASE_MIN 120               /* dnsmasq's own minimum */
#define LEASE_INFINITE (-1)

struct md_kv {
	char *key;
	char *val;
	size_t len;
};

struct vm {
	uint32_t ip;                /* host order */
	bool has_dhcp;              /* a dhcpentry exists for it */
	uint8_t mac[6];
	char host[HOST_MAX + 1];    /* "" when the entry has no name */
	bool default_entry;
	int64_t lease;              /* seconds, or LEASE_INFINITE */
	char *ipv6, *duid, *dns, *gw; /* as given, validated; NULL if absent */
	struct md_kv *md;           /* metadata, sorted by key */
	size_t nmd;
	bool has_ud;
	char *ud;                   /* decoded user data */
	size_t udlen;
	uint64_t saved_in;          /* serial of the batch whose undo log holds it */
};

struct net {
	char dev[DEV_MAX + 1];
	bool has_mac;
	uint8_t mac[6];
	uint32_t router, net;
	uint32_t gw;                /* the guests' default gateway, 0: the router */
	int prefix;
	uint32_t dns[DNS_MAX];
	int ndns;
	char domain[DOMAIN_MAX + 1];
	bool has6;                  /* dual stack: DHCPv6 and router advertisements */
	uint8_t router6[16], net6[16];
	int prefix6;
	bool has_gw6;               /* the network's IPv6 gateway is another router */
	uint8_t gw6[16];
	uint8_t dns6[DNS_MAX][16];  /* IPv6 DNS servers after the router's own */
	int ndns6;
};

struct state {
	struct vm **by_ip;          /* sorted by ip */
	size_t nvm, capvm;
	struct vm **by_mac;         /* VMs with has_dhcp, sorted by mac */
	size_t nmac, capmac;
	struct vm **by_host;        /* VMs with has_dhcp and a name, by name (no case), ip */
	size_t nhost, caphost;
	struct net nets[NET_MAX];
	size_t nnet;
	uint64_t generation;
	char router_name[HOST_MAX + 1]; /* the router's own host name ("" if unknown) */
};

void state_init(struct state *st);
void state_free(struct state *st);
struct vm *state_vm(const struct state *st, uint32_t ip);
struct vm *state_vm_by_mac(const struct state *st, const uint8_t mac[6]);
/* Inserts v (which must not be present).  Returns 0 or -ENOMEM. */
int state_insert(struct state *st, struct vm *v);
/* Unlinks the VM at ip and returns it (NULL if none); the caller frees it. */
struct vm *state_unlink(struct state *st, uint32_t ip);
/* Unindexes v before its has_dhcp, mac or host changes; state_reindex puts it
 * back.  Between the two, v must not be looked up by MAC or name. */
void state_unindex(struct state *st, struct vm *v);
int state_reindex(struct state *st, struct vm *v);
/* Another VM than the one at ip, in the same guest network as ip (or, like
 * ip, in none), whose name is host (compared without case); NULL if none. */
const struct vm *state_host_holder(const struct state *st, const char *host, uint32_t ip);
/* Whether host is the router's own name (compared without case). */
bool host_is_router(const struct state *st, const char *host);
const struct net *state_net_for(const struct state *st, uint32_t ip);
bool net_equal(const struct net *a, const struct net *b);

struct vm *vm_new(uint32_t ip);
struct vm *vm_clone(const struct vm *v);
void vm_free(struct vm *v);
bool vm_equal(const struct vm *a, const struct vm *b);
bool vm_dhcp_equal(const struct vm *a, const struct vm *b);
bool vm_is_empty(const struct vm *v);
/* Sets or deletes (val NULL) a metadata key; takes ownership of val. */
int vm_md_set(struct vm *v, const char *key, char *val, size_t len);
const struct md_kv *vm_md_get(const struct vm *v, const char *key);

#endif
