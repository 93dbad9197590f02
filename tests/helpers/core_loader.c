/* Opens a BPF object with libbpf (built against each toolchain's: 1.1.2, 1.5.0, 1.7.0; see
 * conftest.libbpf_judge), CO-RE-relocates it against a custom target BTF
 * (or none: "-"), loads it, and prints what libbpf produced.
 *   core_loader OBJ TARGET_BTF|- [run META_HEX...]
 * stdout: "prog NAME" lines, each followed by "insn HEX16" lines (bpf_program__insns after
 * relocation), then "load OK" or "load ERR <errno>"; with "run", for each metadata buffer
 * and each program, "run NAME RETVAL" from BPF_PROG_TEST_RUN on a packet whose data_meta
 * holds the buffer. stderr: libbpf's debug log. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return vfprintf(stderr, fmt, args);
}

static void dump_insns(struct bpf_object *obj)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const struct bpf_insn *insns = bpf_program__insns(prog);
		size_t n = bpf_program__insn_cnt(prog);
		printf("prog %s\n", bpf_program__name(prog));
		for (size_t i = 0; insns && i < n; i++) {
			const unsigned char *b = (const unsigned char *)&insns[i];
			printf("insn ");
			for (int k = 0; k < 8; k++)
				printf("%02x", b[k]);
			printf("\n");
		}
	}
}

static int hexval(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OBJ TARGET_BTF|- [run]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_fn);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = strcmp(argv[2], "-") ? argv[2] : NULL);
	struct bpf_object *obj = bpf_object__open_file(argv[1], &opts);
	if (!obj) {
		printf("open ERR %d\n", -errno);
		return 1;
	}
	/* maps a tool sizes at run time (max_entries, key or value size 0) get a size, so that
	 * creating them does not stop libbpf before it relocates (libbpf-tools' skeletons) */
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		int ringbuf = bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF;
		if (!bpf_map__max_entries(map) || (ringbuf && bpf_map__max_entries(map) < 4096))
			bpf_map__set_max_entries(map, ringbuf ? 4096 : 1);
		if (!bpf_map__key_size(map) && bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
			bpf_map__set_key_size(map, 4);
		if (!bpf_map__value_size(map) && bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
			bpf_map__set_value_size(map, 8);
	}
	int err = bpf_object__load(obj);
	dump_insns(obj);
	if (err) {
		printf("load ERR %d\n", err);
		bpf_object__close(obj);
		return 0;
	}
	printf("load OK\n");
	for (int a = 4; argc > 3 && !strcmp(argv[3], "run") && a < argc; a++) {
		const char *hex = argv[a];
		unsigned char buf[512] = {0};
		size_t meta_len = strlen(hex) / 2;
		for (size_t i = 0; i < meta_len && i < 256; i++)
			buf[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
		struct bpf_program *prog;
		bpf_object__for_each_program(prog, obj) {
			/* packet = metadata followed by a 64-byte frame; data_meta precedes data */
			LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = buf, .data_size_in = meta_len + 64,
				    .repeat = 1);
			struct xdp_md ctx = {.data = meta_len, .data_end = meta_len + 64};
			topts.ctx_in = &ctx;
			topts.ctx_size_in = sizeof(ctx);
			int e = bpf_prog_test_run_opts(bpf_program__fd(prog), &topts);
			if (e)
				printf("run %s ERR %d\n", bpf_program__name(prog), -errno);
			else
				printf("run %s %u\n", bpf_program__name(prog), topts.retval);
		}
	}
	bpf_object__close(obj);
	return 0;
}
