"""Distilled module BTF on every fleet kernel (issue 20): the samples' metadata headers and
generated ones (tests/distill_judge.py: cgen's types with vmlinux types by value, through
typedefs, const, arrays and anonymous unions, pointers to vmlinux structs, duplicate vmlinux
names, ENUM64), compiled split on Debian's 6.1.0-56 vmlinux, distilled, then relocated onto
each of the 48 fleet kernels: same bytes and id map as libbpf 1.5's and 1.7's btf__relocate,
or the same refusal.  CI takes BTFMETA_DISTILL_HEADERS generated headers (default 16);
benchmarks/bench_distill_fleet.py the full 200 (and says how long it takes)."""

from __future__ import annotations

import os

import pytest

from btfmeta.btf.load import load_spec

from . import distill_judge as J

HEADERS = int(os.environ.get("BTFMETA_DISTILL_HEADERS", "16"))


@pytest.fixture(scope="module")
def splits(shared_btf):
    return J.generated_splits(HEADERS, load_spec(shared_btf / "vmlinux.btf"))


@pytest.fixture(scope="module")
def kernels():
    return J.fleet_kernels()


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    J.cleanup()


@pytest.mark.parametrize("libbpf", ["1.5", "1.7"])
def test_fleet_relocations_as_libbpf(libbpf, splits, kernels, shared_btf):
    tally = J.judge_fleet(splits, (shared_btf / "vmlinux.btf").read_bytes(), kernels, libbpf)
    assert tally.distilled == len(splits)
    assert tally.relocated + tally.refused == len(splits) * len(kernels)
    assert tally.relocated and tally.refused  # both outcomes are exercised
