/* The generated kv helpers in the kernel: an XDP program applying the struct kv_op records
 * in the packet to data_meta (results written back into the packet), and a TC program
 * doing the same to skb->data_meta, for the verifier. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kvt_kv.h"
#include "kv_ops.h"

#ifndef KV_MAX_OPS
#define KV_MAX_OPS 8
#endif

static __always_inline void kv_run(void *meta, void *data, void *end)
{
	for (int i = 0; i < KV_MAX_OPS; i++) {
		unsigned char *rec = (unsigned char *)data + i * sizeof(struct kv_op);
		if ((void *)(rec + sizeof(struct kv_op)) > end)
			break;
		struct kv_op o;
		__builtin_memcpy(&o, rec, sizeof(o));
		if (o.op == KV_OP_END)
			break;
		kv_apply(meta, data, &o);
		__builtin_memcpy(rec, &o, sizeof(o));
	}
}

SEC("xdp")
int kv_ops_xdp(struct xdp_md *ctx)
{
	kv_run((void *)(long)ctx->data_meta, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

SEC("tc")
int kv_ops_tc(struct __sk_buff *skb)
{
	kv_run((void *)(long)skb->data_meta, (void *)(long)skb->data, (void *)(long)skb->data_end);
	return 0;
}

char _license[] SEC("license") = "GPL";
