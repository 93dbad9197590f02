/* One operation on the kv store, as the tests encode it (16 bytes, in the packet for the
 * kernel's test runs, on stdin for the native driver): the result and a get's value are
 * written back into it.  Built on a generated kvt_kv.h (registry prefix "kvt"). */
#ifndef KV_OPS_H
#define KV_OPS_H

enum { KV_OP_END, KV_OP_SET, KV_OP_GET, KV_OP_DELETE, KV_OP_IS_SET };

struct kv_op {
	unsigned char op, key, size, pad; /* size: a set's value length, a get's buffer size */
	int ret;
	unsigned char value[8];
};

static __always_inline void kv_apply(void *meta, void *end, struct kv_op *o)
{
	switch (o->op) {
	case KV_OP_SET:
		o->ret = kvt_kv_set(meta, end, o->key, o->value, o->size);
		break;
	case KV_OP_GET:
		o->ret = kvt_kv_get(meta, end, o->key, o->value, o->size);
		break;
	case KV_OP_DELETE:
		o->ret = kvt_kv_delete(meta, end, o->key);
		break;
	case KV_OP_IS_SET:
		o->ret = kvt_kv_is_set(meta, end, o->key);
		break;
	}
}

#endif
