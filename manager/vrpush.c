/* vrpush.c: renders CloudStack's dhcpentry/vmpassword/vmdata payloads for
 * one VM and posts them to vrd as one all-or-nothing batch. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "vrconn.h"
#include "vrpush.h"

static bool
set(const char *s)
{
	return s && *s;
}

static int
push_meta(json_t *arr, const char *folder, const char *file, const char *content)
{
	if (!set(content))
		return 0;
	return json_array_append_new(arr, json_pack("[sss]", folder, file, content));
}

static json_t *
vmdata(const struct vr_vm *v)
{
	json_t *m = json_array(), *cmd;
	char cloud_id[96];
	int r = 0;

	if (!m)
		return NULL;
	snprintf(cloud_id, sizeof(cloud_id), "CloudStack-{%s}", v->uuid);
	r |= push_meta(m, "userdata", "user-data", v->userdata_b64);
	r |= push_meta(m, "metadata", "service-offering", v->offering_name);
	r |= push_meta(m, "metadata", "availability-zone", v->zone_name);
	r |= push_meta(m, "metadata", "local-ipv4", v->ip);
	r |= push_meta(m, "metadata", "local-hostname", v->hostname);
	r |= push_meta(m, "metadata", "public-ipv4", v->ip);
	r |= push_meta(m, "metadata", "public-hostname", v->hostname);
	r |= push_meta(m, "metadata", "instance-id", v->uuid);
	r |= push_meta(m, "metadata", "vm-id", v->uuid);
	r |= push_meta(m, "metadata", "public-keys", v->ssh_key);
	r |= push_meta(m, "metadata", "cloud-identifier", cloud_id);
	r |= push_meta(m, "metadata", "hypervisor-host-name", v->host_name);
	if (r) {
		json_decref(m);
		return NULL;
	}
	cmd = json_pack("{sssoss}", "vm_ip_address", v->ip, "vm_metadata", m, "type", "vmdata");
	return cmd;
}

int
vr_batch_render(const struct vr_vm *v, bool remove, struct buf *out)
{
	json_t *batch = NULL, *cmd;
	char *s = NULL;
	int r = -ENOMEM;

	if (!set(v->hostname) || !set(v->ip) || !set(v->mac) || !set(v->uuid))
		return -EINVAL;
	if (!remove && (!set(v->gateway) || !set(v->dns)))
		return -EINVAL;
	if (!(batch = json_array()))
		goto out;
	cmd = json_pack("{sssssssbsbss}", "host_name", v->hostname, "mac_address", v->mac,
	    "ipv4_address", v->ip, "default_entry", 1, "remove", remove, "type", "dhcpentry");
	if (!cmd || json_array_append_new(batch, cmd) < 0)
		goto out;
	if (!remove) {
		if (json_object_set_new(cmd, "dns_addresses", json_string(v->dns)) < 0 ||
		    json_object_set_new(cmd, "default_gateway", json_string(v->gateway)) < 0)
			goto out;
		if (set(v->password) &&
		    json_array_append_new(batch, json_pack("{ssssss}", "ip_address", v->ip,
		    "password", v->password, "type", "vmpassword")) < 0)
			goto out;
		if (json_array_append_new(batch, vmdata(v)) < 0)
			goto out;
	}
	if (!(s = json_dumps(batch, JSON_COMPACT)))
		goto out;
	buf_adds(out, s);
	r = out->oom ? -ENOMEM : 0;
out:
	free(s);
	json_decref(batch);
	return r;
}

int
vr_push(struct vrconn_pool *pool, const char *url, const char *token, const struct buf *batch,
    int timeout_s, char *err, size_t errlen)
{
	struct buf resp;
	char cerr[256];
	int status = 0, r;

	buf_init(&resp);
	r = vrconn_post(pool, url, "/v1/commands", token, batch->p, batch->len, timeout_s,
	    VR_SETTLE_S, &status, &resp, cerr, sizeof(cerr));
	if (r == -EINVAL) {
		snprintf(err, errlen, "bad VR URL \"%s\"", url);
	} else if (r == -ETIME) {
		snprintf(err, errlen, "VR %s did not answer in %d s (%s later)", url, timeout_s,
		    status == 200 ? "it applied the batch" : status ? "it refused the batch" :
		    "it closed the connection");
		r = -EHOSTUNREACH;
	} else if (r == -ETIMEDOUT) {
		snprintf(err, errlen, "VR %s did not answer in %d s, nor in %d s more: it may "
		    "still apply the batch", url, timeout_s, VR_SETTLE_S);
	} else if (r < 0) {
		snprintf(err, errlen, "VR %s unreachable: %s", url, cerr[0] ? cerr : strerror(-r));
		r = -EHOSTUNREACH;
	} else if (status != 200) {
		snprintf(err, errlen, "VR %s answered %d: %.200s", url, status,
		    resp.p ? resp.p : "");
		r = -EIO;
	}
	buf_free(&resp);
	return r;
}
