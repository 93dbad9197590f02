/* The other side of xdp_kv_writer: a TC program (and its XDP twin) reading the metadata
 * store by key name, key numbers from the deployment's registry BTF as in the writer.
 * What it read goes into the frame's first bytes (struct what_was_read) so that a test
 * run shows it; a real reader would act on it.
 *   clang-19 -g -O2 -target bpf -Iinclude/kv -I/usr/include/$(uname -m)-linux-gnu \
 *       -c kv_reader.bpf.c -o kv_reader.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mymeta_kv.h"

struct what_was_read {
	int hash_err;
	unsigned int hash;
	int timestamp_err;
	int mark_err;
	unsigned long long timestamp;
	int mark;
	int vlan; /* 1, 0, or an error */
	int tenant_err;
	unsigned int tenant;
};

static __always_inline void read_store(void *meta, void *data, void *end)
{
	struct what_was_read *out = data;
	if ((void *)(out + 1) > end)
		return;
	out->hash_err = mymeta_get_rx_hash(meta, data, &out->hash);
	out->timestamp_err = mymeta_get_rx_timestamp(meta, data, &out->timestamp);
	out->mark_err = mymeta_get_mark(meta, data, &out->mark);
	out->vlan = mymeta_is_set_vlan_present(meta, data);
	out->tenant_err = MYMETA_HAS_KEY(TENANT) ? mymeta_get_tenant(meta, data, &out->tenant) : -MYMETA_KV_ENOENT;
}

SEC("tc")
int kv_reader_tc(struct __sk_buff *skb)
{
	read_store((void *)(long)skb->data_meta, (void *)(long)skb->data, (void *)(long)skb->data_end);
	return 0; /* TC_ACT_OK */
}

SEC("xdp")
int kv_reader_xdp(struct xdp_md *ctx)
{
	read_store((void *)(long)ctx->data_meta, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
