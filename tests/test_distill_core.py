"""CO-RE against a module built out of tree (issue 20): the sample program, relocated by
btfmeta against the sample NIC's metadata as a module distilled once on Debian's 6.1.0-56
and placed on each fleet kernel, has the instructions libbpf 1.5 (trixie) gives it against
the same module file on the same kernel.

libbpf reads the module the way it reads one from disk (btf__parse_split: relocated onto the
kernel by its own btf__relocate); its CO-RE then takes the kernel and the relocated module as
one target BTF (btf_custom_path: the two, ids and strings continuing, in one file).  The
programs are loaded and the instructions compared after libbpf's own processing, as
tests/test_relocate_differential.py does.  BTFMETA_DISTILL_KERNELS sets how many fleet
kernels to take (default 0: all 48)."""

from __future__ import annotations

import os
import struct

import pytest

from btfmeta.btf.distill import distilled_object
from btfmeta.btf.load import load_spec
from btfmeta.cfront.compile import compile_headers

from . import distill_judge as J
from .conftest import REPO, run_cli

KERNELS = int(os.environ.get("BTFMETA_DISTILL_KERNELS", "0")) or None
OBJS = ["xdp_mynic.bpf.o", "xdp_mynic_unguarded.bpf.o"]


def _joined(base: bytes, split: bytes) -> bytes:
    """Raw ``base`` and raw ``split`` (on it) as one standalone BTF with the same ids and
    string offsets: types after types, strings after strings."""
    def parts(raw: bytes) -> tuple[bytes, bytes]:
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<5I", raw, 4)
        body = raw[hdr_len:]
        return body[type_off:type_off + type_len], body[str_off:str_off + str_len]

    (bt, bs), (st, ss) = parts(base), parts(split)
    types, strings = bt + st, bs + ss
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings)) + types + strings


def _insns(c: J.Chroot, loader: str, obj: str, target: str) -> tuple[dict[str, list[str]], bool]:
    out = c.run(loader, obj, target, check=False).stdout.decode()
    insns: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("prog "):
            current = insns.setdefault(line[5:], [])
        elif line.startswith("insn "):
            current.append(line[5:])
    return insns, "load OK" in out


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    J.cleanup()


def test_out_of_tree_module_on_every_kernel(shared_btf, tmp_path):
    c = J.chroot("1.5")
    loader = c.inside(c.work / "core_loader")
    c.put("core_loader.c", (REPO / "tests/helpers/core_loader.c").read_bytes())
    c.run("gcc", "-O1", "-Wall", "-o", loader, c.inside(c.work / "core_loader.c"), "-lbpf")
    split = compile_headers([str(REPO / "samples/mynic_metadata_v2.h")], base=load_spec(shared_btf / "vmlinux.btf"))
    module = tmp_path / "mynic.ko.btf"
    module.write_bytes(distilled_object(split))
    module_in = c.put("mynic.o", module.read_bytes())
    objs = {name: c.put(name, (REPO / "samples" / name).read_bytes()) for name in OBJS}
    compared = 0
    kernels = J.fleet_kernels(KERNELS)
    for release, raw in kernels:
        kernel = tmp_path / "kernel.btf"
        kernel.write_bytes(raw)
        kernel_in = c.put("kernel.btf", raw)
        assert c.harness([f"parse {module_in} {kernel_in} {c.inside(c.work / 'relocated')}"]) == ["ok"]
        target = c.put("target.btf", _joined(raw, (c.work / "relocated").read_bytes()))
        for name, obj_in in objs.items():
            theirs, loaded = _insns(c, loader, obj_in, target)
            res = run_cli("relocate", str(REPO / "samples" / name), "--btf", str(module), "--base", str(kernel),
                          "-o", str(tmp_path / "out.o"))
            assert res.code == 0, (release, name, res.stderr)
            ours, ours_loaded = _insns(c, loader, c.put("out.o", (tmp_path / "out.o").read_bytes()), "-")
            assert ours == theirs and theirs and ours_loaded == loaded, (release, name)
            compared += 1
    assert compared == len(OBJS) * len(kernels)
