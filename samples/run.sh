#!/usr/bin/env bash
# btfmeta's main job on the shipped samples (README: first command). Each step says what
# it does and what it wrote; the outputs go to samples/out/ (or $OUT). A vmlinux BTF base
# is taken from ../shared (as in CI), the fetch cache, or the running kernel; without one
# the split steps are skipped. btfmeta is the one .ci/install put in .venv, else the one
# on PATH.
set -euo pipefail
cd "$(dirname "$0")"
out=${OUT:-out}
mkdir -p "$out"
if [ -x ../.venv/bin/btfmeta ]; then
	btfmeta() { ../.venv/bin/btfmeta "$@"; }
fi
base=""
for b in ../../shared/btf/debian-6.1.0-56/vmlinux.btf \
	"${XDG_CACHE_HOME:-$HOME/.cache}/btfmeta/kernel-btf/debian-6.1.0-56/vmlinux.btf" /sys/kernel/btf/vmlinux; do
	if [ -r "$b" ]; then base=$b; break; fi
done

step() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
show() { printf '   $ btfmeta %s\n' "$*" >&2; btfmeta "$@"; }
wrote() { for f in "$@"; do printf '   -> %s (%s bytes)\n' "$f" "$(wc -c < "$f")"; done; }

step "1. Compile the NIC metadata layouts (C headers) to BTF, laid out as clang-19 -g -target bpf would"
show compile mynic_metadata.h -o "$out/mynic_v1.btf"
show compile mynic_metadata_v2.h -o "$out/mynic_v2.btf"
show compile xdp_rx_meta.h -o "$out/xdp_rx_meta.btf" --target bpfeb
wrote "$out/mynic_v1.btf" "$out/mynic_v2.btf" "$out/xdp_rx_meta.btf"
echo "   The v2 layout's metadata struct, as bpftool would dump it:"
show btf dump "$out/mynic_v2.btf" --type 'struct mynic_metadata___v2'

if [ -n "$base" ]; then
	step "2. The same layouts as split BTF on the kernel's vmlinux ($base), as a driver module's BTF is"
	show compile mynic_metadata.h --base "$base" -o "$out/mynic_v1.split.btf"
	show compile mynic_metadata_v2.h --base "$base" -o "$out/mynic_v2.split.btf"
	wrote "$out/mynic_v1.split.btf" "$out/mynic_v2.split.btf"
	echo "   Only the NIC's own types are new; everything shared points into vmlinux:"
	show btf dump "$out/mynic_v1.split.btf" --base "$base"
else
	step "2. (skipped: no vmlinux BTF found for split BTF)"
fi

step "3. Read, dump and copy BTF byte for byte: the .BTF clang-19 wrote for the same layouts"
show btf dump btf_objects.bpf.o --type 'struct xdp_rx_meta' --format json
show btf copy btf_objects.bpf.o -o "$out/btf_objects.btf"
wrote "$out/btf_objects.btf"

step "4. Relocate the sample XDP program (compiled against its own view of the metadata) against v1 and v2"
echo "   The patched objects carry no CO-RE records: plain libbpf, bpftool or ip load them as they are."
if [ -n "$base" ]; then
	show relocate xdp_mynic.bpf.o --btf "$out/mynic_v1.split.btf" --base "$base" -o "$out/xdp_mynic.v1.o"
	show relocate xdp_mynic.bpf.o --btf "$out/mynic_v2.split.btf" --base "$base" -o "$out/xdp_mynic.v2.o" \
		--report "$out/xdp_mynic.v2.json"
else
	show relocate xdp_mynic.bpf.o --btf "$out/mynic_v1.btf" -o "$out/xdp_mynic.v1.o"
	show relocate xdp_mynic.bpf.o --btf "$out/mynic_v2.btf" -o "$out/xdp_mynic.v2.o" --report "$out/xdp_mynic.v2.json"
fi
wrote "$out/xdp_mynic.v1.o" "$out/xdp_mynic.v2.o" "$out/xdp_mynic.v2.json"
echo "   A program that reads a field v2 dropped, without checking: relocated, that access poisoned."
echo "   What the report says about its relocations (count, field):"
show relocate xdp_mynic_unguarded.bpf.o --btf "$out/mynic_v2.btf" -o "$out/unguarded.v2.o" --report - |
	grep -E '"(local_spec|result|reason)"' | sort | uniq -c

step "5. Will the programs run on each layout? (ok / guarded / refused; exit 1 if any is refused)"
show compile mynic_metadata_minimal.h -o "$out/mynic_minimal.btf"
show check xdp_mynic.bpf.o --btf "$out/mynic_v1.btf" --btf "$out/mynic_v2.btf" --btf "$out/mynic_minimal.btf"
echo "   The unguarded program is refused on v2 (exit 1 is expected here):"
show check xdp_mynic_unguarded.bpf.o --btf "$out/mynic_v1.btf" --btf "$out/mynic_v2.btf" || true

step "6. What changed from v1 to v2 (exit 1: something did), where the fields are, the layout as C"
show diff "$out/mynic_v1.btf" "$out/mynic_v2.btf" mynic_metadata || true
show resolve mynic_metadata.hash mynic_metadata.vlan_tci mynic_metadata.rx.ipv4.saddr \
	--btf "$out/mynic_v2.btf" --format c
show btf dump "$out/mynic_v2.btf" --format c > "$out/mynic_v2.h"
wrote "$out/mynic_v2.h"

step "7. The layouts as pahole shows them, and as JSON for tools"
show layout btf_objects.bpf.o mynic_metadata xdp_rx_meta
show layout "$out/mynic_v2.btf" mynic_metadata___v2 --format json > "$out/mynic_v2.layout.json"
wrote "$out/mynic_v2.layout.json"

step "8. The metadata key-value store: two deployments number the same keys differently"
echo "   A deployment's registry: its keys, their sizes, what fits in the store:"
show kv layout kv/deploy_b.toml
echo "   Each registry compiled: C helpers and the key enum for programs, Python constants, BTF:"
show kv compile kv/deploy_a.toml -o "$out/kv/a"
show kv compile kv/deploy_b.toml -o "$out/kv/b"
wrote "$out"/kv/a/* "$out"/kv/b/*
echo "   The writer was compiled once, against A's header (include/kv); relocated to each deployment's numbers:"
show relocate xdp_kv_writer.bpf.o --btf "$out/kv/a/mymeta.btf" -o "$out/xdp_kv_writer.a.o"
show relocate xdp_kv_writer.bpf.o --btf "$out/kv/b/mymeta.btf" -o "$out/xdp_kv_writer.b.o" \
	--report "$out/xdp_kv_writer.b.json"
wrote "$out/xdp_kv_writer.a.o" "$out/xdp_kv_writer.b.o" "$out/xdp_kv_writer.b.json"
echo "   What B's relocations found (count; A's numbers in the program, B's in the target):"
grep -E '"(local_spec|target_spec|result)"' "$out/xdp_kv_writer.b.json" | sort | uniq -c
echo "   B has no tenant key: the writer sets it only if MYMETA_HAS_KEY(TENANT), so it runs on both;"
echo "   the unguarded build is refused on B (exit 1 is expected here):"
show check xdp_kv_writer.bpf.o --btf "$out/kv/a/mymeta.btf" --btf "$out/kv/b/mymeta.btf"
show check kv_reader.bpf.o --btf "$out/kv/a/mymeta.btf" --btf "$out/kv/b/mymeta.btf"
show check xdp_kv_writer_unguarded.bpf.o --btf "$out/kv/a/mymeta.btf" --btf "$out/kv/b/mymeta.btf" || true
echo "   The NIC's layout and the registry as one target BTF (the same decisions for the writer):"
show compile mynic_metadata_v2.h "$out/kv/b/mymeta_keys.h" -o "$out/kv/nic_v2+kv_b.btf"
show check xdp_mynic.bpf.o --btf "$out/kv/nic_v2+kv_b.btf"
show check xdp_kv_writer.bpf.o --btf "$out/kv/nic_v2+kv_b.btf"
echo "   A store as B's writer leaves it, read back by B's registry (what an AF_XDP reader does):"
show kv encode kv/deploy_b.toml rx_hash=0x9e3779b9 rx_timestamp=1700000000123456789 mark=-7 vlan_present=1 \
	-o "$out/kv/b/store.bin"
wrote "$out/kv/b/store.bin"
show kv decode kv/deploy_b.toml "$out/kv/b/store.bin" --format text
echo "   Read by A's registry it is refused, not misread (exit 2 is expected here):"
show kv decode kv/deploy_a.toml "$out/kv/b/store.bin" || true

printf '\nDone: every output is in %s/\n' "$(cd "$out" && pwd)"
