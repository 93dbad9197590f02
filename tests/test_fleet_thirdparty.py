"""Real CO-RE objects nobody on this project wrote: the BPF objects that each toolchain's
libbpf-tools (execsnoop, biolatency, tcpconnect, ...: Debian 12's 0.26, trixie's 0.31,
sid's 0.37) carry inside their binaries (libbpf skeletons).  Against a spread of the
fleet's kernels, btfmeta's relocation decisions -- refusal or not, and which instructions
are poisoned -- are that toolchain's libbpf's (1.1.2, 1.5.0, 1.7.0), with the matching
--libbpf profile."""

from __future__ import annotations

import random
import struct
from pathlib import Path

from btfmeta.btf.elfsection import read_elf
from btfmeta.btf.spec import Spec
from btfmeta.fleet.check import check_fleet
from btfmeta.fleet.inputs import Kernel, discover, read_btf

from . import judges
from .conftest import need
from .test_fleet_check import FLEET, SPREAD, relocates_as_libbpf

EM_BPF = 247


def embedded_objects(binary: Path) -> list[bytes]:
    """The BPF ELF objects a libbpf skeleton embeds in a program (found by their headers)."""
    data = binary.read_bytes()
    out = []
    pos = data.find(b"\x7fELF", 1)
    while pos >= 0:
        head = data[pos:pos + 64]
        if len(head) == 64 and head[4] == 2 and head[5] == 1 and struct.unpack_from("<H", head, 18)[0] == EM_BPF:
            (shoff,) = struct.unpack_from("<Q", head, 40)
            shentsize, shnum = struct.unpack_from("<HH", head, 58)
            obj = data[pos:pos + shoff + shentsize * shnum]
            if read_elf(obj).by_name(".BTF.ext") is not None:
                out.append(obj)
        pos = data.find(b"\x7fELF", pos + 1)
    return out


def thirdparty(judge: judges.Judge) -> dict[str, bytes]:
    """The first CO-RE object of each program of the toolchain's libbpf-tools, by name."""
    tools = sorted(judge.root / p.lstrip("/") for p in judge.package_files("libbpf-tools") if "/sbin/" in p)
    found = {p.name: o for p in tools if p.is_file() and p.stat().st_size < 8 << 20 for o in embedded_objects(p)[:1]}
    need(len(found) >= 40, f"{judge}: Debian's libbpf-tools (apt-get install libbpf-tools)")
    return found


def test_thirdparty_objects_relocate_as_libbpf_does(libbpf_judge):
    need((FLEET / "MANIFEST.tsv").is_file(), f"the fleet fixture at {FLEET}")
    objects = thirdparty(libbpf_judge.judge)
    rng = random.Random("thirdparty")
    kernels = discover(FLEET)
    chosen = sorted(rng.sample(sorted(objects), 14))
    picked = [kernels[i] for i in SPREAD]
    for kernel in picked:
        raw = read_btf(kernel.path)
        btf = Spec.parse(raw, index_cache=False)
        for name in chosen:
            assert relocates_as_libbpf(libbpf_judge, objects[name], btf, raw), (kernel.release, name)
    results = check_fleet([Kernel(k.release, k.path) for k in picked], {n: objects[n] for n in chosen},
                          libbpf=libbpf_judge.profile)
    verdicts = {v for r in results for progs in r.verdicts.values() for v in progs.values()}
    assert not any(r.error for r in results) and "ok" in verdicts
