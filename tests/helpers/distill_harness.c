// SPDX-License-Identifier: MIT
/* The judge of btfmeta's distilled base BTF: libbpf's own btf__distill_base, btf__relocate
 * and ELF reading (.BTF with .BTF.base), built against the libbpf of a judge chroot.
 *
 * Commands come one per line on standard input (many per run, so a fleet of kernels costs
 * one process per kernel, each base read once); one result line per command on standard
 * output: "ok" or "err <errno> <libbpf's warnings, '|'-separated>".
 *
 * A BASE is a file of raw BTF or an ELF, or UNDER+SPLIT for split BTF on UNDER.
 *
 *   distill BASE SPLIT OUT_BASE OUT_SPLIT  btf__distill_base of SPLIT (raw, on BASE)
 *   relocate DIST SPLIT BASE OUT MAP       SPLIT (raw, on DIST) relocated onto BASE; MAP gets
 *                                          libbpf's id map (u32 per old id)
 *   parse FILE BASE|- OUT                  btf__parse_split(FILE, BASE): an ELF with .BTF.base
 *                                          is relocated onto BASE by libbpf itself
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* libbpf's internal relocation (btf_relocate.c), which also hands out the id map the kernel
 * uses for .BTF_ids; linked from libbpf.a. */
int btf_relocate(struct btf *btf, const struct btf *base_btf, __u32 **id_map);

static char warnings[1 << 16];

static int collect(enum libbpf_print_level level, const char *fmt, va_list args)
{
	size_t used = strlen(warnings);
	char line[4096];

	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, args);
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = '|';
	snprintf(warnings + used, sizeof(warnings) - used, "%s", line);
	return 0;
}

static int write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	if (fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}

static int write_btf(const char *path, const struct btf *btf)
{
	__u32 size;
	const void *data = btf__raw_data(btf, &size);

	return data ? write_file(path, data, size) : -errno;
}

static char cached_path[4096];
static struct btf *cached_base, *cached_under;

/* The base named by path ("UNDER+SPLIT": split BTF on UNDER), read once for as long as the
 * following commands name it too. */
static struct btf *base_of(const char *path)
{
	char under[4096], *plus;

	if (cached_base && !strcmp(path, cached_path))
		return cached_base;
	btf__free(cached_base);
	btf__free(cached_under);
	cached_base = cached_under = NULL;
	cached_path[0] = 0;
	snprintf(under, sizeof(under), "%s", path);
	plus = strchr(under, '+');
	if (plus) {
		*plus = 0;
		cached_under = btf__parse(under, NULL);
		if (!cached_under)
			return NULL;
		cached_base = btf__parse_split(plus + 1, cached_under);
	} else {
		cached_base = btf__parse(path, NULL);
	}
	if (cached_base)
		snprintf(cached_path, sizeof(cached_path), "%s", path);
	return cached_base;
}

static int distill(char **arg)
{
	struct btf *base = base_of(arg[0]), *split, *new_base = NULL, *new_split = NULL;
	int err;

	if (!base)
		return -errno;
	split = btf__parse_split(arg[1], base);
	if (!split)
		return -errno;
	err = btf__distill_base(split, &new_base, &new_split);
	if (!err)
		err = write_btf(arg[2], new_base);
	if (!err)
		err = write_btf(arg[3], new_split);
	btf__free(new_split);
	btf__free(new_base);
	btf__free(split);
	return err;
}

static int relocate(char **arg)
{
	struct btf *dist = btf__parse(arg[0], NULL), *split = NULL, *base;
	__u32 *id_map = NULL;
	int err = -errno;

	if (!dist)
		return err;
	split = btf__parse_split(arg[1], dist);
	base = base_of(arg[2]);
	if (!split || !base) {
		err = -errno;
		goto out;
	}
	err = btf_relocate(split, base, &id_map);
	if (!err)
		err = write_btf(arg[3], split);
	if (!err)
		err = write_file(arg[4], id_map, sizeof(*id_map) * (btf__type_cnt(dist) + btf__type_cnt(split) -
								   btf__type_cnt(base)));
out:
	free(id_map);
	btf__free(split);
	btf__free(dist);
	return err;
}

static int parse(char **arg)
{
	struct btf *base = strcmp(arg[1], "-") ? base_of(arg[1]) : NULL, *btf;
	int err;

	if (strcmp(arg[1], "-") && !base)
		return -errno;
	btf = btf__parse_split(arg[0], base);
	if (!btf)
		return -errno;
	err = write_btf(arg[2], btf);
	btf__free(btf);
	return err;
}

int main(void)
{
	char line[5 * 4096];

	libbpf_set_print(collect);
	while (fgets(line, sizeof(line), stdin)) {
		char *arg[6] = {0}, *cmd = strtok(line, " \n");
		int n = 0, err;

		while (n < 6 && (arg[n] = strtok(NULL, " \n")))
			n++;
		warnings[0] = 0;
		if (cmd && !strcmp(cmd, "distill") && n == 4)
			err = distill(arg);
		else if (cmd && !strcmp(cmd, "relocate") && n == 5)
			err = relocate(arg);
		else if (cmd && !strcmp(cmd, "parse") && n == 3)
			err = parse(arg);
		else
			err = -EINVAL;
		if (err)
			printf("err %d %s\n", -err, warnings);
		else
			printf("ok\n");
		fflush(stdout);
	}
	btf__free(cached_base);
	btf__free(cached_under);
	return 0;
}
