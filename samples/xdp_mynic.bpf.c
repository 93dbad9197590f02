/* An XDP program that reads the mynic metadata in front of each packet (data_meta)
 * through CO-RE. It is compiled against its own view of the layout (below); btfmeta
 * relocates it against whatever layout the NIC publishes (v1, v2, ...).
 * Each program returns one field so a test can check what it read.
 * Rebuild: clang-19 -g -O2 -target bpf -I/usr/include/x86_64-linux-gnu -c xdp_mynic.bpf.c -o xdp_mynic.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define ABSENT 0xffff

/* The program's view: the fields it knows, in its own order. */
struct mynic_metadata {
	__u32 hash;
	__u16 vlan_tci;
	__u16 vlan_proto;
	__u8 l3_proto;
	__u8 csum_level : 2;		/* optional: dropped in v2 */
	__u32 flow_mark;		/* optional: added in v2 */
	union {
		struct {
			__u32 saddr;
			__u32 daddr;
		} ipv4;
	} rx;
} __attribute__((preserve_access_index));

static __always_inline struct mynic_metadata *meta_of(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct mynic_metadata *m = (void *)(long)ctx->data_meta;

	if ((void *)m + bpf_core_type_size(struct mynic_metadata) > data)
		return 0;
	return m;
}

SEC("xdp")
int read_hash(struct xdp_md *ctx)
{
	struct mynic_metadata *m = meta_of(ctx);
	return m ? m->hash : ABSENT;
}

SEC("xdp")
int read_vlan(struct xdp_md *ctx)
{
	struct mynic_metadata *m = meta_of(ctx);
	return m ? m->vlan_tci : ABSENT;
}

SEC("xdp")
int read_proto(struct xdp_md *ctx)
{
	struct mynic_metadata *m = meta_of(ctx);
	return m ? m->vlan_proto : ABSENT;
}

SEC("xdp")
int read_saddr(struct xdp_md *ctx)
{
	struct mynic_metadata *m = meta_of(ctx);
	return m ? m->rx.ipv4.saddr : ABSENT;
}

SEC("xdp")
int read_csum_level(struct xdp_md *ctx)
{
	struct mynic_metadata *m = meta_of(ctx);
	if (!m || !bpf_core_field_exists(m->csum_level))
		return ABSENT;
	return BPF_CORE_READ_BITFIELD(m, csum_level);
}

SEC("xdp")
int read_flow_mark(struct xdp_md *ctx)
{
	struct mynic_metadata *m = meta_of(ctx);
	if (!m || !bpf_core_field_exists(m->flow_mark))
		return ABSENT;
	return m->flow_mark;
}

char _license[] SEC("license") = "GPL";
