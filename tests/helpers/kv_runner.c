/* Runs a kv test program in the kernel with BPF_PROG_TEST_RUN (libbpf 1.1.2 loads it,
 * CO-RE-relocating against TARGET_BTF unless "-").
 *   kv_runner OBJ PROG TARGET_BTF|- OPS_PER_RUN [REPEAT]
 * Each stdin line "META_HEX OPS_HEX" is the store (data_meta) and the struct kv_op records;
 * the records go OPS_PER_RUN to a packet (zero-padded to that size), the store each run
 * leaves is the next run's (a program may grow it: bpf_xdp_adjust_meta), and the line is
 * printed back as the store and records are after the last run.  With REPEAT,
 * each line runs once REPEAT times and prints "ns AVG RETVAL" (the kernel's average per run).
 * PROG "-" only loads the object and prints, per program, "verified NAME PROCESSED" (the
 * verifier's "processed N insns"), or "refused NAME" and the verifier's words; each
 * program is loaded alone (exit 1 if any was refused).
 * KV_STRICT_ALIGN=1 in the environment loads every program with BPF_F_STRICT_ALIGNMENT.
 * stderr: libbpf's log; exit 1 when the object does not load. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "kv_lines.h"

#define OP_SIZE 16

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, args);
}

/* OBJ opened, its programs flagged BPF_F_STRICT_ALIGNMENT if KV_STRICT_ALIGN=1. */
static struct bpf_object *open_object(const char *path, struct bpf_object_open_opts *opts)
{
	struct bpf_object *obj = bpf_object__open_file(path, opts);
	const char *strict = getenv("KV_STRICT_ALIGN");
	struct bpf_program *p;
	if (obj && strict && !strcmp(strict, "1"))
		bpf_object__for_each_program(p, obj)
			bpf_program__set_flags(p, bpf_program__flags(p) | BPF_F_STRICT_ALIGNMENT);
	return obj;
}

/* Loads each program of OBJ alone, with the verifier's statistics (log level 4), and
 * prints its cost or the verifier's words. */
static int verify(const char *path, struct bpf_object_open_opts *opts)
{
	static char log[1 << 16];
	int refused = 0;
	for (int i = 0;; i++) {
		struct bpf_object *obj = open_object(path, opts);
		struct bpf_program *p, *mine = NULL;
		int k = 0;
		if (!obj)
			return 2;
		bpf_object__for_each_program(p, obj) {
			bpf_program__set_autoload(p, k == i);
			if (k++ == i)
				mine = p;
		}
		if (!mine) {
			bpf_object__close(obj);
			return refused;
		}
		log[0] = 0;
		bpf_program__set_log_level(mine, 4);
		bpf_program__set_log_buf(mine, log, sizeof(log));
		const char *processed;
		if (!bpf_object__load(obj) && (processed = strstr(log, "processed "))) {
			printf("verified %s %lu\n", bpf_program__name(mine), strtoul(processed + 10, NULL, 10));
		} else {
			printf("refused %s\n%s\n", bpf_program__name(mine), log);
			refused = 1;
		}
		bpf_object__close(obj);
	}
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s OBJ PROG TARGET_BTF|- OPS_PER_RUN [REPEAT]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_fn);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = strcmp(argv[3], "-") ? argv[3] : NULL);
	if (!strcmp(argv[2], "-"))
		return verify(argv[1], &opts);
	struct bpf_object *obj = open_object(argv[1], &opts);
	if (!obj || bpf_object__load(obj)) {
		printf("load ERR %d\n", -errno);
		return 1;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog)
		return 2;
	size_t per_run = strtoul(argv[4], NULL, 10);
	unsigned int repeat = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
	static char line[1 << 20];
	static unsigned char meta[256], ops[1 << 18], in[4096], out[4096];
	while (fgets(line, sizeof(line), stdin)) {
		char *space = strchr(line, ' ');
		if (!space)
			return 2;
		*space = 0;
		size_t m = unhex(line, meta, sizeof(meta)), n = unhex(space + 1, ops, sizeof(ops));
		for (size_t at = 0; at < n || (repeat && at == 0); at += per_run * OP_SIZE) {
			size_t chunk = n - at < per_run * OP_SIZE ? n - at : per_run * OP_SIZE;
			size_t len = per_run * OP_SIZE; /* zero records after the chunk end the list */
			memset(in, 0, m + len);
			memcpy(in, meta, m);
			memcpy(in + m, ops + at, chunk);
			struct xdp_md ctx = {.data = m, .data_end = m + len};
			LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = in, .data_size_in = m + len, .data_out = out,
				    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
				    .repeat = repeat ? repeat : 1);
			if (bpf_prog_test_run_opts(bpf_program__fd(prog), &topts)) {
				printf("run ERR %d\n", -errno);
				return 1;
			}
			if (topts.data_size_out < len || topts.data_size_out - len > sizeof(meta)) {
				printf("run ERR size %u\n", topts.data_size_out);
				return 1;
			}
			if (repeat) {
				printf("ns %u %u\n", topts.duration, topts.retval);
				break;
			}
			m = topts.data_size_out - len;
			memcpy(meta, out, m);
			memcpy(ops + at, out + m, chunk);
		}
		if (!repeat) {
			hex(meta, m);
			printf(" ");
			hex(ops, n);
			printf("\n");
		}
		fflush(stdout);
	}
	bpf_object__close(obj);
	return 0;
}
