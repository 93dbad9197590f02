"""Real CO-RE objects nobody on this project wrote: the BPF objects that Debian's
libbpf-tools (execsnoop, biolatency, tcpconnect, ...) carry inside their binaries (libbpf
skeletons).  Against a spread of the fleet's kernels, btfmeta's relocation decisions --
refusal or not, and which instructions are poisoned -- are libbpf 1.1.2's."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from btfmeta.btf.elfsection import read_elf
from btfmeta.btf.spec import Spec
from btfmeta.fleet.check import check_fleet
from btfmeta.fleet.inputs import Kernel, discover, read_btf

from .conftest import need
from .test_fleet_check import FLEET, relocates_as_libbpf

TOOLS = Path("/usr/sbin")
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


@pytest.fixture(scope="module")
def thirdparty() -> dict[str, bytes]:
    tools = sorted(p for p in TOOLS.glob("*") if p.is_file())
    found = {p.name: o for p in tools if p.stat().st_size < 8 << 20 for o in embedded_objects(p)[:1]}
    need(len(found) >= 40, "Debian's libbpf-tools (apt-get install libbpf-tools)")
    return found


def test_thirdparty_objects_relocate_as_libbpf_does(thirdparty, core_loader, tmp_path):
    need((FLEET / "MANIFEST.tsv").is_file(), f"the fleet fixture at {FLEET}")
    rng = random.Random("thirdparty")
    kernels = discover(FLEET)
    chosen = sorted(rng.sample(sorted(thirdparty), 14))
    picked = [kernels[i] for i in (0, 2, 10, 23, 31, 35, 44, 47)]  # 6.1 and 6.12; generic, cloud, rt
    for kernel in picked:
        raw = read_btf(kernel.path)
        btf = Spec.parse(raw, index_cache=False)
        for name in chosen:
            assert relocates_as_libbpf(core_loader, thirdparty[name], btf, tmp_path, raw), (kernel.release, name)
    results = check_fleet([Kernel(k.release, k.path) for k in picked], {n: thirdparty[n] for n in chosen})
    verdicts = {v for r in results for progs in r.verdicts.values() for v in progs.values()}
    assert not any(r.error for r in results) and "ok" in verdicts
