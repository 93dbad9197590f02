"""The key-value store codec and registry (issue 14, first part): every operation checked
against an independent model of the format (a dict of key -> value, laid out from scratch
after each step) on seeded and hypothesis-generated operation sequences, both formats and
byte orders; registry refusals with their lines; blobs that lie about their size."""

from __future__ import annotations

import errno
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btfmeta.kv import KVError, RegistryError, Store, load
from btfmeta.kv.codec import SIZES

from .conftest import run_cli


def model_bytes(values: dict[int, bytes], fmt: str, capacity: int, order: str) -> bytes:
    """The store the format says these values make: header bits, then values in key order."""
    code = {size: c for c, size in SIZES[fmt].items()}
    high = sum((code[len(v)] >> 1) << k for k, v in values.items())
    low = sum((code[len(v)] & 1) << k for k, v in values.items())
    body = b"".join(values[k] for k in sorted(values))
    out = high.to_bytes(8, order) + low.to_bytes(8, order) + body
    return out + bytes(capacity - len(out))


def model_step(values: dict[int, bytes], op: tuple, fmt: str, capacity: int) -> tuple[int, bytes | None]:
    """(return code, value got) of one operation on the model, updating it."""
    kind, key = op[0], op[1]
    if not 0 <= key < 64:
        return -errno.EINVAL, None
    if kind == "set":
        value = op[2]
        if len(value) not in SIZES[fmt].values():
            return -errno.EINVAL, None
        if key in values:
            if len(values[key]) != len(value):
                return -errno.EBUSY, None
            values[key] = value
            return 0, None
        if 16 + sum(map(len, values.values())) + len(value) > capacity:
            return -errno.ENOSPC, None
        values[key] = value
        return 0, None
    if key not in values:
        return -errno.ENOENT, None
    if kind == "get":
        if len(values[key]) > op[2]:
            return -errno.EFBIG, None
        return 0, values[key]
    del values[key]
    return 0, None


def run_store(store: Store, op: tuple) -> tuple[int, bytes | None]:
    try:
        if op[0] == "set":
            store.set(op[1], op[2])
            return 0, None
        if op[0] == "get":
            return 0, store.get(op[1], op[2])
        store.delete(op[1])
        return 0, None
    except KVError as exc:
        return exc.errno, None


def random_ops(rng: random.Random, n: int) -> list[tuple]:
    ops = []
    for _ in range(n):
        key = rng.choice([rng.randrange(64), rng.randrange(8), rng.choice([-1, 64, 200])])
        kind = rng.choice(["set", "set", "set", "get", "delete"])
        if kind == "set":
            ops.append(("set", key, rng.randbytes(rng.choice([0, 2, 4, 8, 1, 3, 16]))))
        elif kind == "get":
            ops.append(("get", key, rng.choice([8, 4, 2, 0])))
        else:
            ops.append(("delete", key))
    return ops


@pytest.mark.parametrize("fmt", ["seed", "rfc-v2"])
def test_seeded_operation_sequences_match_the_model(fmt):
    for seed in range(2000):
        rng = random.Random(f"{fmt}-{seed}")
        order = rng.choice(["little", "big"])
        capacity = rng.choice([16, 20, 24, 48, 144, 216])
        store, values = Store(fmt, capacity, order), {}
        for op in random_ops(rng, rng.randint(1, 40)):
            assert run_store(store, op) == model_step(values, op, fmt, capacity), (seed, op)
            assert bytes(store) == model_bytes(values, fmt, capacity, order), (seed, op)


OPS = st.lists(st.tuples(st.sampled_from(["set", "get", "delete"]), st.integers(-2, 66),
                         st.sampled_from([b"", b"ab", b"abcd", b"abcdefgh", b"x", b"abc"]), st.sampled_from([0, 2, 8])),
               max_size=60)


@settings(max_examples=300, deadline=None)
@given(fmt=st.sampled_from(["seed", "rfc-v2"]), order=st.sampled_from(["little", "big"]),
       capacity=st.integers(16, 216), ops=OPS)
def test_hypothesis_sequences_match_the_model(fmt, order, capacity, ops):
    store, values = Store(fmt, capacity, order), {}
    for kind, key, value, bufsize in ops:
        op = ("set", key, value) if kind == "set" else ("get", key, bufsize) if kind == "get" else ("delete", key)
        assert run_store(store, op) == model_step(values, op, fmt, capacity)
        assert bytes(store) == model_bytes(values, fmt, capacity, order)


REGISTRY = """[store]
format = "rfc-v2"
capacity = 64
byte_order = "little"
prefix = "mymeta"

[keys.rx_hash]
number = 0
type = "u32"

[keys.vlan_present]
number = 5
type = "flag"

[keys.timestamp]
number = 9
type = "s64"
"""


def test_registry_round_trip_through_the_commands(tmp_path):
    reg = tmp_path / "reg.toml"
    reg.write_text(REGISTRY)
    blob = tmp_path / "blob.bin"
    r = run_cli("kv", "encode", str(reg), "rx_hash=0xdeadbeef", "vlan_present=1", "timestamp=-5", "-o", str(blob))
    assert r.code == 0, r.stderr
    assert len(blob.read_bytes()) == 64
    assert load(reg).decode(blob.read_bytes()) == {"rx_hash": 0xDEADBEEF, "vlan_present": True, "timestamp": -5}
    hexfile = tmp_path / "blob.hex"
    hexfile.write_text(blob.read_bytes().hex() + "\n")
    text = run_cli("kv", "decode", str(reg), str(hexfile), "--format", "text")
    assert text.stdout.decode().splitlines() == ["rx_hash = 3735928559", "vlan_present = True", "timestamp = -5"]
    layout = run_cli("kv", "layout", str(reg)).stdout.decode()
    assert "worst case 28 bytes of 64: every key fits at once" in layout


@pytest.mark.parametrize(("edit", "message"), [
    (('number = 5\ntype = "flag"', 'number = 0\ntype = "flag"'), "line 12: keys.vlan_present: number 0 is also"),
    (('number = 9', 'number = 64'), "line 16: keys.timestamp: number must be 0-63"),
    (('type = "s64"', 'type = "s16"'), "line 17: keys.timestamp: type 's16' is not one a rfc-v2 store holds"),
    (('capacity = 64', 'capacity = 20'), "line 17: keys.timestamp: a s64 does not fit a 20-byte store"),
    (('format = "rfc-v2"', 'format = "v3"'), "line 2: format must be"),
    (('[keys.timestamp]', '[keys.rx_hash]'), "line 15"),  # a name declared twice: TOML's own error
    (('prefix = "mymeta"', 'prefix = "my meta"'), "line 5: prefix must be a C identifier"),
])
def test_registry_refusals_name_the_line(tmp_path, edit, message):
    reg = tmp_path / "reg.toml"
    reg.write_text(REGISTRY.replace(*edit))
    with pytest.raises(RegistryError) as exc:
        load(reg)
    assert message in str(exc.value) and str(reg) in str(exc.value)
    r = run_cli("kv", "layout", str(reg))
    assert r.code == 2 and r.stderr.count("\n") == 1


def test_corrupt_blobs_are_refused(tmp_path):
    reg = tmp_path / "reg.toml"
    reg.write_text(REGISTRY)
    good = load(reg).encode({"rx_hash": 7, "timestamp": 9})
    cases = {
        "truncated": good[:10],
        "claims too much": (0xFFFF).to_bytes(8, "little") + (0xFFFF).to_bytes(8, "little") + bytes(16),
        "wrong byte order": good[:8][::-1] + good[8:16][::-1] + good[16:],
        "unregistered key": (1 << 40).to_bytes(8, "little") + bytes(8) + bytes(48),
    }
    for name, data in cases.items():
        blob = tmp_path / f"{name}.bin"
        blob.write_bytes(data)
        r = run_cli("kv", "decode", str(reg), str(blob))
        assert r.code == 2 and r.stderr.startswith("btfmeta: error: ") and r.stderr.count("\n") == 1, (name, r)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=120))
def test_random_blobs_never_crash_the_decoder(tmp_path_factory, data):
    reg = tmp_path_factory.getbasetemp() / "kvreg.toml"
    reg.write_text(REGISTRY)
    try:
        load(reg).decode(data)
    except Exception as exc:  # only the documented refusals
        assert type(exc).__name__ in ("BlobError",), exc
