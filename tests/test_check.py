"""check: the will-it-run matrix, from the relocator's own decisions plus reachability of
poisoned instructions; it agrees with what libbpf (each toolchain's, with the matching
--libbpf profile) and the kernel verifier do."""

from __future__ import annotations

import json
import subprocess

from btfmeta import load_spec
from btfmeta.check import ERROR, GUARDED, OK, REFUSED, check

from .conftest import REPO, run_cli
from .progen import generate_case
from .test_relocate_differential import INCLUDES

SAMPLES = REPO / "samples"
MINIMAL = ("struct mynic_metadata { unsigned int hash; unsigned short vlan_tci, vlan_proto;\n"
           "  union { struct { unsigned int saddr, daddr; } ipv4; } rx; };\n")


def layouts(tmp_path):
    out = []
    for name, header in [("v1", SAMPLES / "mynic_metadata.h"), ("v2", SAMPLES / "mynic_metadata_v2.h")]:
        path = tmp_path / f"{name}.btf"
        assert run_cli("compile", str(header), "-o", str(path)).code == 0
        out.append(path)
    minimal = tmp_path / "minimal.h"
    minimal.write_text(MINIMAL)
    path = tmp_path / "minimal.btf"
    assert run_cli("compile", str(minimal), "-o", str(path)).code == 0
    return out + [path]


def test_sample_matrix(tmp_path):
    btfs = layouts(tmp_path)
    args = [a for b in btfs for a in ("--btf", str(b))]
    res = run_cli("check", str(SAMPLES / "xdp_mynic.bpf.o"), *args, "--format", "json")
    assert res.code == 0, res.stderr
    doc = json.loads(res.stdout)
    matrix = {t["target"].rsplit("/", 1)[1]: t["programs"] for t in doc["targets"]}
    assert matrix["v1.btf"] == {"read_hash": OK, "read_vlan": OK, "read_proto": OK, "read_saddr": OK,
                                "read_csum_level": OK, "read_flow_mark": GUARDED}
    assert matrix["v2.btf"]["read_csum_level"] == GUARDED and matrix["v2.btf"]["read_flow_mark"] == OK
    assert matrix["minimal.btf"]["read_csum_level"] == GUARDED == matrix["minimal.btf"]["read_flow_mark"]
    text = run_cli("check", str(SAMPLES / "xdp_mynic_unguarded.bpf.o"), *args)
    assert text.code == 1
    lines = text.stdout.decode().splitlines()
    assert lines[1].split() == ["read_csum_level_unguarded", OK, REFUSED, REFUSED]
    assert any("v2.btf: read_csum_level_unguarded: insn" in line and "csum_level" in line for line in lines)


def test_check_agrees_with_libbpf_and_the_verifier(tmp_path, clang, libbpf_judge):
    agree = {"loaded": 0, "refused": 0, "error": 0}
    for seed in range(160 if not libbpf_judge.judge.chroot else 60):  # CI time: fewer in each chroot
        case = generate_case(seed)
        d = tmp_path / str(seed)
        d.mkdir()
        (d / "prog.c").write_text(case.program)
        (d / "target.c").write_text(case.target)
        proc = subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, f"-mcpu={case.cpu}", "-c",
                               str(d / "prog.c"), "-o", str(d / "prog.o")], capture_output=True)
        if proc.returncode:
            continue  # clang-19 cannot relocate some straddling bit-fields
        subprocess.run([clang, "-g", "-target", "bpf", *INCLUDES, "-c", str(d / "target.c"), "-o",
                        str(d / "target.o")], check=True)
        theirs = libbpf_judge.run(d / "prog.o", d / "target.o")
        (result,) = check((d / "prog.o").read_bytes(), [("target", load_spec(d / "target.o"))],
                          libbpf=libbpf_judge.profile)
        statuses = set(result.programs.values())
        if any("failed to perform CO-RE relocations" in line for line in theirs.log):
            assert statuses == {ERROR}, seed
            agree["error"] += 1
        elif theirs.loaded:
            assert statuses <= {OK, GUARDED}, (seed, result.programs)
            agree["loaded"] += 1
        else:
            assert REFUSED in statuses, (seed, result.programs)
            # libbpf rewrites the verifier's "invalid func unknown#195896080" for CO-RE poison
            assert "failed to resolve CO-RE relocation" in theirs.stderr, seed
            agree["refused"] += 1
    assert min(agree.values()) > 0, agree
