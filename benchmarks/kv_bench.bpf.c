/* Programs timed by bench_kv.py: each does 8 operations on the kv store in data_meta (key
 * numbers 0-7 set by the caller: u32 at even keys, u64 at odd ones) or 8 reads of a fixed
 * struct in data_meta; bench_empty is the test run's own cost, subtracted. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define KVT_FIXED_KEYS
#include "kvt_kv.h"

#define PROG(name) SEC("xdp") int name(struct xdp_md *ctx)
#define META void *meta = (void *)(long)ctx->data_meta, *data = (void *)(long)ctx->data

struct fixed {
	unsigned int k0;
	unsigned long long k1;
	unsigned int k2;
	unsigned long long k3;
	unsigned int k4;
	unsigned long long k5;
	unsigned int k6;
	unsigned long long k7;
} __attribute__((packed));

PROG(bench_empty)
{
	return XDP_PASS;
}

PROG(bench_fixed)
{
	META;
	volatile struct fixed *f = meta;
	if ((void *)(f + 1) > data)
		return XDP_ABORTED;
	unsigned long long sum = f->k0 + f->k1 + f->k2 + f->k3 + f->k4 + f->k5 + f->k6 + f->k7;
	return sum == 1 ? XDP_DROP : XDP_PASS;
}

PROG(bench_get)
{
	META;
	unsigned long long v, sum = 0;
#pragma unroll
	for (unsigned int k = 0; k < 8; k++) {
		v = 0;
		if (kvt_kv_get(meta, data, k, &v, 8) < 0)
			return XDP_ABORTED;
		sum += v;
	}
	return sum == 1 ? XDP_DROP : XDP_PASS;
}

PROG(bench_is_set)
{
	META;
	int n = 0;
#pragma unroll
	for (unsigned int k = 0; k < 8; k++)
		n += kvt_kv_is_set(meta, data, k);
	return n == 8 ? XDP_PASS : XDP_ABORTED;
}

PROG(bench_set)
{
	META;
	unsigned long long v = 0x0123456789abcdefULL;
#pragma unroll
	for (unsigned int k = 0; k < 8; k++)
		if (kvt_kv_set(meta, data, k, &v, k & 1 ? 8 : 4)) /* in place: the key is set */
			return XDP_ABORTED;
	return XDP_PASS;
}

PROG(bench_delete_insert)
{
	META;
	unsigned int v = 7;
#pragma unroll
	for (unsigned int i = 0; i < 4; i++) /* key 0: every other value moves down, then up */
		if (kvt_kv_delete(meta, data, 0) || kvt_kv_set(meta, data, 0, &v, 4))
			return XDP_ABORTED;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
