"""check on programs whose instructions the verifier refuses whatever the layout (issue 21):
each kind is built as raw instructions (a naked function of `.byte` directives, clang-19),
loaded with libbpf into this machine's kernel, and check must say `error` with the
verifier's own words for the same instruction."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from btfmeta import Kind, load_spec
from btfmeta.check import ERROR, OK, check

from .conftest import REPO, compile_bpf, need, run_cli, run_loader
from .test_fleet_thirdparty import thirdparty

VMLINUX = Path("/sys/kernel/btf/vmlinux")
LAYOUT = "struct mynic_metadata { unsigned int hash; };\n"


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, src << 4 | dst, off, imm)


R0_2, EXIT = insn(0xB7, imm=2), insn(0x95)


def helpers() -> int:
    """The running kernel's __BPF_FUNC_MAX_ID: the first helper id it does not know."""
    spec = load_spec(VMLINUX)
    (values,) = [spec.type_by_id(t).values for t in spec.find_by_name("bpf_func_id", Kind.ENUM)]
    return {v.name: v.value for v in values}["__BPF_FUNC_MAX_ID"]


# kind -> (instructions, the index the verifier names, its message); None: `call helpers()`, {H}: its id
CASES = {
    "dst register r15": ([insn(0xB7, dst=15, imm=1), R0_2, EXIT], 0, "R15 is invalid"),
    "src register r12": ([insn(0xBF, dst=0, src=12), EXIT], 0, "R12 is invalid"),
    "register r11 in a conditional jump": ([R0_2, insn(0x1D, dst=11, src=1, off=0), EXIT], 1, "R11 is invalid"),
    "unknown opcode": ([insn(0xFF), R0_2, EXIT], 0, "unknown opcode ff"),
    "unknown opcode behind a constant guard": (
        [insn(0xB7, dst=1), insn(0x15, dst=1, off=1), insn(0x8E), R0_2, EXIT], 2, "unknown opcode 8e"),
    "reserved LDX field": ([insn(0x61, dst=0, src=1, imm=5), R0_2, EXIT], 0, "BPF_LDX uses reserved fields"),
    "ld_imm64 without its second half": ([insn(0x18, imm=1), R0_2, EXIT], 0, "invalid bpf_ld_imm64 insn"),
    # check_subprogs runs before resolve_pseudo_ldimm64
    "ld_imm64 as the last instruction": ([R0_2, EXIT, insn(0x18, imm=1)], 2, "last insn is not an exit or jmp"),
    "jump past the end": ([insn(0x05, off=4096), R0_2, EXIT], 0, "jump out of range from insn 0 to 4097"),
    "jump before the start": ([R0_2, insn(0x15, dst=0, off=-3), EXIT], 1, "jump out of range from insn 1 to -1"),
    "gotol past the end": ([insn(0x06, imm=7), R0_2, EXIT], 0, "jump out of range from insn 0 to 8"),
    "falls off the end": ([R0_2], 0, "last insn is not an exit or jmp"),
    "code no branch reaches": ([insn(0x05, off=1), insn(0xB7, dst=15, imm=1), R0_2, EXIT], 1, "unreachable insn 1"),
    "gotol over code no branch reaches": ([insn(0x06, imm=1), R0_2, R0_2, EXIT], 1, "unreachable insn 1"),
    "jump into an ld_imm64": ([R0_2, insn(0x15, dst=0, off=1), insn(0x18, imm=1), insn(0), EXIT], 2,
                              "jump into the middle of ldimm64 insn 2"),
    "helper id beyond the kernel's enum": ([None, R0_2, EXIT], 0, "invalid func unknown#{H}"),
    "negative helper id": ([insn(0x85, imm=-7), R0_2, EXIT], 0, "invalid func unknown#-7"),
}
# accepted by the verifier: the bad instruction is on no path (once r1's value is known; a
# gotol, whose offset is its imm, jumps over it)
ON_NO_PATH = {"behind a constant guard": [insn(0xB7, dst=1), insn(0x15, dst=1, off=1), insn(0xB7, dst=15, imm=1),
                                          R0_2, EXIT],
              "jumped over by gotol": [insn(0xB7, dst=1), insn(0x55, dst=1, off=1), insn(0x06, imm=1),
                                       insn(0xB7, dst=15, imm=1), R0_2, EXIT]}


def build(clang: str, insns: list[bytes], out: Path) -> Path:
    """A one-program XDP object whose function is exactly ``insns``."""
    body = ", ".join(str(b) for b in b"".join(insns))
    source = ('#define SEC(n) __attribute__((section(n), used))\n'
              'SEC("xdp") __attribute__((naked)) int prog(void *ctx)\n'
              f'{{ asm volatile(".byte {body}"); }}\n'
              'char _license[] SEC("license") = "GPL";\n')
    return compile_bpf(clang, source, out)


@pytest.fixture(scope="module")
def kernel_btf():
    need(VMLINUX.is_file(), f"{VMLINUX} not found: the kernel has no BTF")
    return load_spec(VMLINUX)


@pytest.mark.parametrize("kind", list(CASES))
def test_invalid_instructions_are_errors_as_the_verifier_says(kind, tmp_path, clang, core_loader, kernel_btf):
    h = helpers()
    insns, index, message = CASES[kind]
    insns = [insn(0x85, imm=h) if b is None else b for b in insns]
    message = message.replace("{H}", str(h))
    obj = build(clang, insns, tmp_path / "prog.o")
    theirs = run_loader(core_loader, obj, None)
    assert not theirs.loaded and message in theirs.stderr, theirs.stderr
    (result,) = check(obj.read_bytes(), [("vmlinux", kernel_btf)])
    assert result.programs == {"prog": ERROR}
    bad = result.invalid["prog"]
    assert (bad.insn, bad.message) == (index, message)
    print(f"| {kind} | {message} (verifier) | insn {bad.insn}: {bad.message} (check) |")


@pytest.mark.parametrize("kind", list(ON_NO_PATH))
def test_an_invalid_instruction_on_no_path_loads(kind, tmp_path, clang, core_loader, kernel_btf):
    obj = build(clang, ON_NO_PATH[kind], tmp_path / "prog.o")
    assert run_loader(core_loader, obj, None).loaded
    (result,) = check(obj.read_bytes(), [("vmlinux", kernel_btf)])
    assert result.programs == {"prog": OK} and not result.invalid


def test_helper_ids_are_checked_only_against_a_kernel(tmp_path, clang, kernel_btf):
    """A NIC layout on its own has no `enum bpf_func_id`: which helpers exist is the
    kernel's to say, so the id is not judged there (on its vmlinux base, it is)."""
    obj = build(clang, [insn(0x85, imm=helpers()), R0_2, EXIT], tmp_path / "prog.o")
    layout = tmp_path / "layout.h"
    layout.write_text(LAYOUT)
    assert run_cli("compile", str(layout), "-o", str(tmp_path / "layout.btf")).code == 0
    alone = run_cli("check", str(obj), "--btf", str(tmp_path / "layout.btf"), "--format", "json")
    assert alone.code == 0 and json.loads(alone.stdout)["targets"][0]["programs"] == {"prog": OK}
    split = tmp_path / "split.btf"
    assert run_cli("compile", str(layout), "-o", str(split), "--base", str(VMLINUX)).code == 0
    res = run_cli("check", str(obj), "--btf", str(split), "--base", str(VMLINUX))
    assert res.code == 1
    assert f"prog: insn 0: invalid func unknown#{helpers()}" in res.stdout.decode()


def test_the_fleet_and_loaders_refuse_it_too(tmp_path, clang, kernel_btf):
    """`check --fleet` and `Target.load` judge through the same verdicts."""
    from btfmeta import Target
    obj = build(clang, [insn(0xB7, dst=15, imm=1), R0_2, EXIT], tmp_path / "prog.o")
    outcome = Target(kernel_btf, "vmlinux").load(obj.read_bytes())
    assert outcome.refused and outcome.reasons == ["prog: insn 0: R15 is invalid"]
    fleet = tmp_path / "kernels.txt"
    fleet.write_text(f"{VMLINUX}\n")
    res = run_cli("check", str(obj), "--fleet", str(fleet), "--format", "json")
    assert res.code == 1
    (row,) = json.loads(res.stdout)["kernels"][0]["results"]
    assert (row["verdict"], row["reasons"]) == (ERROR, ["prog: insn 0: R15 is invalid"])


def test_real_objects_have_no_invalid_instruction(toolchain, kernel_btf):
    """The samples and each toolchain's libbpf-tools objects (Debian 12's, trixie's, sid's),
    which load: check finds nothing the verifier would refuse in their instructions."""
    objects = {**thirdparty(toolchain), **{p.name: p.read_bytes() for p in (REPO / "samples").rglob("*.bpf.o")}}
    found = {}
    for name, data in objects.items():
        (result,) = check(data, [("vmlinux", kernel_btf)])
        found.update({f"{name}:{p}": bad for p, bad in result.invalid.items()})
    assert len(objects) > 40 and not found, found
