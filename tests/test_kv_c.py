"""The generated C helpers (issue 14, acceptance 1 and 2): the Python codec, the helpers
compiled for the host with gcc and clang, and the same helpers as BPF in the kernel's
XDP test runs give identical store bytes and identical results, errors included, over
seeded random operation sequences; the verifier accepts them for -mcpu=v2, v3 and v4 in
XDP and TC programs."""

from __future__ import annotations

import os
import random

import pytest

from btfmeta.kv import Store

from . import kvharness as kh
from .conftest import tool

# (capacity, byte order, sequences) per format: >= 2,000 sequences per format in all; the
# kernel takes at most 216 bytes of metadata in a test run.
CONFIGS = [(144, "little", 800), (32, "little", 300), (64, "big", 500), (216, "little", 400)]


@pytest.mark.parametrize("align", ["unaligned", "strict"])
@pytest.mark.parametrize("fmt", ["seed", "rfc-v2"])
def test_three_implementations_agree(fmt, align, tmp_path, clang, kv_runner, record_property, monkeypatch):
    """... and so does the byte-access build (-DKVT_STRICT_ALIGN), which the kernel loads with
    BPF_F_STRICT_ALIGNMENT: the verifier's alignment checks of an architecture without
    efficient unaligned access."""
    gcc = tool("gcc")
    strict = ("-DKVT_STRICT_ALIGN",) if align == "strict" else ()
    monkeypatch.setenv("KV_STRICT_ALIGN", "1" if strict else "0")
    total, codes = 0, set()
    for capacity, order, count in CONFIGS:
        d = kh.generate(tmp_path / f"{capacity}{order}", kh.registry_text(fmt, capacity, order))
        natives = [kh.build_native(cc, d, d / f"native-{os.path.basename(cc)}", strict) for cc in (gcc, clang)]
        max_ops = 8 if capacity <= 144 else 4
        prog = kh.build_bpf(clang, d, d / "prog.o", max_ops=max_ops, extra=strict)
        rng = random.Random(f"{fmt}/{capacity}/{order}")
        sequences = [kh.random_ops(rng, fmt, capacity) for _ in range(count)]
        expected = []
        for ops in sequences:
            store = Store(fmt, capacity, order)
            results = [kh.apply_python(store, op) for op in ops]
            expected.append((bytes(store), results))
        lines = [kh.line(bytes(capacity), ops) for ops in sequences]
        runs = {str(n): kh.run_lines([str(n)], lines) for n in natives}
        runs["kernel"] = kh.run_lines([kv_runner, str(prog), "kv_ops_xdp", "-", str(max_ops)], lines)
        for who, got in runs.items():
            for k, (want, have) in enumerate(zip(expected, got, strict=True)):
                assert have == want, (who, fmt, capacity, order, k, sequences[k])
        codes |= {op.ret for _, results in expected for op in results}
        total += count
    assert total >= 2000
    assert {-22, -16, -28, -2, -27} <= codes, codes  # every error happened
    record_property("kernel", os.uname().release)


@pytest.mark.parametrize("cpu", ["v2", "v3", "v4"])
def test_verifier_accepts_the_helpers(cpu, tmp_path, clang, kv_runner, record_property):
    """Both programs (XDP on data_meta, TC on skb->data_meta), both formats, both byte orders,
    the largest store a test run takes: libbpf loads the object, i.e. the verifier accepts
    every program in it."""
    kernel = os.uname().release
    for fmt in ("seed", "rfc-v2"):
        for order in ("little", "big"):
            d = kh.generate(tmp_path / f"{fmt}-{order}", kh.registry_text(fmt, 216, order))
            prog = kh.build_bpf(clang, d, d / f"prog-{cpu}.o", cpu=cpu, max_ops=4)
            got = kh.run_lines([kv_runner, str(prog), "kv_ops_tc", "-", "4"], [])
            assert got == [], f"kernel {kernel}"
    record_property("kernel", kernel)
    print(f"verifier of kernel {kernel} accepted -mcpu={cpu}")


TYPED = {"seed": ["u16", "s16", "u32", "s32", "u64", "s64"], "rfc-v2": ["flag", "u32", "s32", "u64", "s64"]}
TYPED_MAIN = """#include <stdio.h>
#include "kvt_kv.h"
int main(void)
{
	unsigned char m[144] = {0};
%s
	for (unsigned i = 0; i < sizeof(m); i++)
		printf("%%02x", m[i]);
	printf("\\n");
%s
	return 0;
}
"""


def _typed_calls(name: str, typ: str, value: int) -> tuple[str, str]:
    """C that sets key NAME to VALUE with its typed setter, and prints what its getter reads."""
    from btfmeta.kv.registry import TYPES

    if typ == "flag":
        return (f"\tif (kvt_set_{name}(m, m + sizeof(m))) return 1;",
                f'\tprintf("%d\\n", kvt_is_set_{name}(m, m + sizeof(m)));')
    ctype, signed = kh.kvgen.CTYPES[typ], TYPES[typ][1]
    literal = f"({ctype}){value & (1 << 64) - 1:#x}ULL"  # no negative literal can overflow
    wide, fmt = ("long long", "%lld") if signed else ("unsigned long long", "%llu")
    return (f"\tif (kvt_set_{name}(m, m + sizeof(m), {literal})) return 1;",
            f"\t{{ {ctype} v; if (kvt_get_{name}(m, m + sizeof(m), &v)) return 2; "
            f'printf("{fmt}\\n", ({wide})v); }}')


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("fmt", ["seed", "rfc-v2"])
def test_typed_wrappers_agree_with_the_registry(fmt, order, tmp_path):
    """Every type's PREFIX_set_NAME/PREFIX_get_NAME, built for the host, writes the bytes
    Registry.encode writes for the same values and reads back what Registry.decode reads;
    the extremes of each type (sign bits, all ones) included."""
    import subprocess

    from btfmeta.kv import load
    from btfmeta.kv.registry import TYPES

    gcc = tool("gcc")
    rng = random.Random(f"{fmt}{order}")
    keys = {f"k_{t}": (n * 7 % 64, t) for n, t in enumerate(TYPED[fmt])}
    d = kh.generate(tmp_path, kh.registry_text(fmt, 144, order, keys=keys))
    reg = load(d / "registry.toml")
    for trial in range(8):
        values: dict[str, int] = {}
        for name, (_, t) in keys.items():
            size, signed = TYPES[t]
            lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
            values[name] = 1 if t == "flag" else lo if not trial else \
                rng.choice([lo, hi, 0, -1 if signed else 1, rng.randint(lo, hi)])
        calls = [_typed_calls(name, t, values[name]) for name, (_, t) in keys.items()]
        src = tmp_path / f"typed{trial}.c"
        src.write_text(TYPED_MAIN % ("\n".join(c[0] for c in calls), "\n".join(c[1] for c in calls)))
        exe = tmp_path / f"typed{trial}"
        subprocess.run([gcc, "-O2", "-Wall", "-Werror", f"-I{d}", str(src), "-o", str(exe)], check=True)
        out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
        assert bytes.fromhex(out[0]) == reg.encode(values), (trial, values)
        assert [int(x) for x in out[1:]] == list(values.values()), (trial, values)
        decoded = {name: int(v) for name, v in reg.decode(bytes.fromhex(out[0])).items()}
        assert decoded == values
