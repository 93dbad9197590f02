#!/usr/bin/env bash
# btfmeta's main job on the shipped samples (README: first command).
# Outputs go to samples/out/. A vmlinux BTF base is taken from ../shared (as in CI)
# or from the running kernel; without one the split steps are skipped.
set -euo pipefail
cd "$(dirname "$0")"
out=${OUT:-out}
mkdir -p "$out"
base=""
for b in ../../shared/btf/debian-6.1.0-56/vmlinux.btf /sys/kernel/btf/vmlinux; do
	if [ -r "$b" ]; then base=$b; break; fi
done
set -x
# 1. compile the NIC metadata layouts to BTF, as clang-19 -g -target bpf would lay them out
btfmeta compile mynic_metadata.h -o "$out/mynic_v1.btf"
btfmeta compile mynic_metadata_v2.h -o "$out/mynic_v2.btf"
btfmeta compile xdp_rx_meta.h -o "$out/xdp_rx_meta.btf" --target bpfeb
btfmeta btf dump "$out/mynic_v2.btf" --type 'struct mynic_metadata___v2'
# 2. the same as split BTF on the kernel's vmlinux, as a module's BTF is: shared types come from the base
if [ -n "$base" ]; then
	btfmeta compile mynic_metadata.h --base "$base" -o "$out/mynic_v1.split.btf"
	btfmeta compile mynic_metadata_v2.h --base "$base" -o "$out/mynic_v2.split.btf"
	btfmeta btf dump "$out/mynic_v1.split.btf" --base "$base"
fi
# 3. read, dump and copy BTF byte for byte: here the .BTF clang-19 wrote for the same layouts
btfmeta btf dump btf_objects.bpf.o --type 'struct xdp_rx_meta' --format json
btfmeta btf copy btf_objects.bpf.o -o "$out/btf_objects.btf"
# 4. relocate the sample XDP program (compiled against its own view of the metadata) against
#    the v1 and v2 layouts; the patched objects load with plain libbpf, no target BTF needed
if [ -n "$base" ]; then
	btfmeta relocate xdp_mynic.bpf.o --btf "$out/mynic_v1.split.btf" --base "$base" -o "$out/xdp_mynic.v1.o"
	btfmeta relocate xdp_mynic.bpf.o --btf "$out/mynic_v2.split.btf" --base "$base" -o "$out/xdp_mynic.v2.o" \
		--report "$out/xdp_mynic.v2.json"
else
	btfmeta relocate xdp_mynic.bpf.o --btf "$out/mynic_v1.btf" -o "$out/xdp_mynic.v1.o"
	btfmeta relocate xdp_mynic.bpf.o --btf "$out/mynic_v2.btf" -o "$out/xdp_mynic.v2.o" --report "$out/xdp_mynic.v2.json"
fi
# a program that reads a field v2 dropped without checking: relocated, its access poisoned (see the report)
btfmeta relocate xdp_mynic_unguarded.bpf.o --btf "$out/mynic_v2.btf" -o "$out/unguarded.v2.o" --report - |
	grep -E '"(local_spec|result|reason)"' | sort | uniq -c
# 5. will the programs run on each layout? (exit 1: some program would be refused)
btfmeta compile mynic_metadata_minimal.h -o "$out/mynic_minimal.btf"
btfmeta check xdp_mynic.bpf.o --btf "$out/mynic_v1.btf" --btf "$out/mynic_v2.btf" --btf "$out/mynic_minimal.btf"
btfmeta check xdp_mynic_unguarded.bpf.o --btf "$out/mynic_v1.btf" --btf "$out/mynic_v2.btf" || true
# 6. what changed from v1 to v2, where the fields are, and the layouts as C
btfmeta diff "$out/mynic_v1.btf" "$out/mynic_v2.btf" mynic_metadata || true
btfmeta resolve mynic_metadata.hash mynic_metadata.vlan_tci mynic_metadata.rx.ipv4.saddr \
	--btf "$out/mynic_v2.btf" --format c
btfmeta btf dump "$out/mynic_v2.btf" --format c > "$out/mynic_v2.h"
# 7. the layouts as pahole shows them, and as JSON for tools
btfmeta layout btf_objects.bpf.o mynic_metadata xdp_rx_meta
btfmeta layout "$out/mynic_v2.btf" mynic_metadata___v2 --format json > "$out/mynic_v2.layout.json"
