/* The generated kv helpers compiled for the host: each stdin line "META_HEX OPS_HEX" (the
 * store, then 16-byte struct kv_op records) is applied and printed back the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kvt_kv.h"
#include "kv_ops.h"
#include "kv_lines.h"

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
