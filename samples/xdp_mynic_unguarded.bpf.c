/* Reads an optional field without checking that the NIC has it: relocated against a
 * layout without csum_level, the access is poisoned and the verifier refuses the program.
 * Rebuild: clang-19 -g -O2 -target bpf -I/usr/include/x86_64-linux-gnu -c xdp_mynic_unguarded.bpf.c -o xdp_mynic_unguarded.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct mynic_metadata {
	__u32 hash;
	__u8 csum_level : 2;
} __attribute__((preserve_access_index));

SEC("xdp")
int read_csum_level_unguarded(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct mynic_metadata *m = (void *)(long)ctx->data_meta;

	if ((void *)m + bpf_core_type_size(struct mynic_metadata) > data)
		return XDP_PASS;
	return BPF_CORE_READ_BITFIELD(m, csum_level);
}

char _license[] SEC("license") = "GPL";
