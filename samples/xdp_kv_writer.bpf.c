/* An XDP program that puts what it learned about a frame into the metadata key-value
 * store for the programs after it (TC, AF_XDP).  The key numbers are not compiled in:
 * mymeta_kv.h takes them with bpf_core_enum_value(), so `btfmeta relocate` against a
 * deployment's registry BTF (kv/deploy_*.toml -> mymeta.btf) patches in that deployment's.
 * The tenant key is one not every deployment has: it is set only if MYMETA_HAS_KEY says
 * so (compiled with -DUNGUARDED it is set unconditionally, and `check` refuses the program
 * where the key is missing).  The frame's first bytes stand in for what the NIC told it.
 * It grows data_meta by the store with bpf_xdp_adjust_meta; -DSUPPLIED_META builds the twin
 * that writes into a metadata area someone else made (a test run's, on a kernel that says
 * "program of this type cannot use helper bpf_xdp_adjust_meta#54", as the 6.18.44 this
 * was tested on does).
 *   clang-19 -g -O2 -target bpf -Iinclude/kv -I/usr/include/$(uname -m)-linux-gnu \
 *       -c xdp_kv_writer.bpf.c -o xdp_kv_writer.bpf.o   (and -DUNGUARDED ... -o xdp_kv_writer_unguarded.bpf.o)
 * (include/kv: `btfmeta kv compile kv/deploy_a.toml -o include/kv`, the program's own view) */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mymeta_kv.h"

struct frame_facts {
	unsigned int hash;
	int mark;
	unsigned long long timestamp;
	unsigned int tenant;
	unsigned int vlan;
};

SEC("xdp")
int kv_writer(struct xdp_md *ctx)
{
#ifndef SUPPLIED_META
	if (bpf_xdp_adjust_meta(ctx, -MYMETA_KV_CAPACITY))
		return XDP_ABORTED;
#endif
	unsigned char *meta = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct frame_facts *in = data;
	if ((void *)(meta + MYMETA_KV_CAPACITY) > data || (void *)(in + 1) > end)
		return XDP_ABORTED;
	__builtin_memset(meta, 0, MYMETA_KV_CAPACITY); /* an empty store */
	int err = mymeta_set_rx_hash(meta, data, in->hash);
	if (!err)
		err = mymeta_set_rx_timestamp(meta, data, in->timestamp);
	if (!err)
		err = mymeta_set_mark(meta, data, in->mark);
	if (!err && in->vlan)
		err = mymeta_set_vlan_present(meta, data);
#ifndef UNGUARDED
	if (MYMETA_HAS_KEY(TENANT))
#endif
		if (!err)
			err = mymeta_set_tenant(meta, data, in->tenant);
	return err ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
