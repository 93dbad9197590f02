#!/usr/bin/env bash
# btfmeta's main job on the shipped samples (README: first command).
set -euo pipefail
cd "$(dirname "$0")"
out=${OUT:-out}
mkdir -p "$out"
set -x
# The NIC metadata layouts, as clang-19 compiled them (btf_objects.c):
btfmeta btf dump btf_objects.bpf.o --type 'struct mynic_metadata'
btfmeta btf dump btf_objects.bpf.o --type 'struct xdp_rx_meta'
# Their BTF as a raw file, byte for byte as in the object:
btfmeta btf copy btf_objects.bpf.o -o "$out/btf_objects.btf"
btfmeta btf dump --format json "$out/btf_objects.btf" --type 'struct xdp_rx_meta'
