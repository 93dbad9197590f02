/* The generated kv helpers compiled for the host: each stdin line "META_HEX OPS_HEX" (the
 * store, then 16-byte struct kv_op records) is applied and printed back the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kvt_kv.h"
#include "kv_ops.h"

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;
	for (; s[0] && s[1] && n < max; s += 2) {
		unsigned int b;
		if (sscanf(s, "%2x", &b) != 1)
			break;
		out[n++] = (unsigned char)b;
	}
	return n;
}

static void hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int main(void)
{
	static char line[1 << 20];
	static unsigned char meta[4096], ops[1 << 18];
	while (fgets(line, sizeof(line), stdin)) {
		char *space = strchr(line, ' ');
		if (!space)
			return 2;
		*space = 0;
		size_t m = unhex(line, meta, sizeof(meta)), n = unhex(space + 1, ops, sizeof(ops));
		for (size_t i = 0; i + sizeof(struct kv_op) <= n; i += sizeof(struct kv_op)) {
			struct kv_op o;
			memcpy(&o, ops + i, sizeof(o));
			kv_apply(meta, meta + m, &o);
			memcpy(ops + i, &o, sizeof(o));
		}
		hex(meta, m);
		printf(" ");
		hex(ops, n);
		printf("\n");
	}
	return 0;
}
