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

from .conftest import bpftool_dump, run_cli


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
    (('number = 5\ntype = "flag"', 'number = 0\ntype = "flag"'), ":12:10: keys.vlan_present: number 0 is also"),
    (('number = 9', 'number = 64'), ":16:10: keys.timestamp: number must be 0-63"),
    (('type = "s64"', 'type = "s16"'), ":17:8: keys.timestamp: type 's16' is not one a rfc-v2 store holds"),
    (('capacity = 64', 'capacity = 20'), ":17:8: keys.timestamp: a s64 does not fit a 20-byte store"),
    (('format = "rfc-v2"', 'format = "v3"'), ":2:10: format must be"),
    (('[keys.timestamp]', '[keys.rx_hash]'), ":15:14: "),  # a name declared twice: TOML's own error
    (('prefix = "mymeta"', 'prefix = "my meta"'), ":5:10: prefix must be a C identifier"),
])
def test_registry_refusals_name_the_line(tmp_path, edit, message):
    reg = tmp_path / "reg.toml"
    reg.write_text(REGISTRY.replace(*edit))
    with pytest.raises(RegistryError) as exc:
        load(reg)
    assert message in str(exc.value) and str(reg) in str(exc.value)
    r = run_cli("kv", "layout", str(reg))
    assert r.code == 2 and r.stderr.count("\n") == 3


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


def test_kv_compile_outputs(tmp_path, bpftool):
    """Four files, the same bytes every time; the BTF is what bpftool reads, holding the key
    enum and the value struct that layout shows."""
    reg = tmp_path / "reg.toml"
    reg.write_text(REGISTRY)
    for d in ("one", "two"):
        r = run_cli("kv", "compile", str(reg), "-o", str(tmp_path / d))
        assert r.code == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == ["mymeta.btf", "mymeta_keys.h", "mymeta_keys.py", "mymeta_kv.h"]
    assert all((tmp_path / "one" / n).read_bytes() == (tmp_path / "two" / n).read_bytes() for n in names)
    dump = bpftool_dump(bpftool, tmp_path / "one" / "mymeta.btf").decode()
    assert "ENUM 'mymeta_key' encoding=UNSIGNED size=4 vlen=3" in dump and "'MYMETA_TIMESTAMP' val=9" in dump
    layout = run_cli("layout", str(tmp_path / "one" / "mymeta.btf"), "mymeta_values").stdout.decode()
    assert "\tlong long                  timestamp;            /*     8     8 */" in layout, layout
    consts: dict = {}
    exec(compile((tmp_path / "one" / "mymeta_keys.py").read_text(), "mymeta_keys.py", "exec"), consts)  # our own output
    assert consts["KEYS"] == {"rx_hash": (0, "u32", 4), "vlan_present": (5, "flag", 0), "timestamp": (9, "s64", 8)}
    assert consts["MYMETA_TIMESTAMP"] == 9 and consts["CAPACITY"] == 64


@pytest.mark.parametrize(("text", "message"), [
    ("[store\nformat = 1\n", ":1:7: error: "),  # malformed TOML
    (REGISTRY.replace("number = 9", "number = 5"), ":16:10: error: keys.timestamp: number 5 is also vlan_present's"),
    (REGISTRY.replace("[keys.timestamp]", "[keys.Rx_Hash]"), "are one C enumerator (MYMETA_RX_HASH)"),
    (REGISTRY.replace("[keys.timestamp]", "[keys.int]"), "'int' is taken"),
    (REGISTRY.replace("[keys.timestamp]", "[keys.kv_header]"), "'kv_header' is taken"),
])
def test_bad_registries_write_nothing(tmp_path, text, message):
    reg = tmp_path / "reg.toml"
    reg.write_text(text)
    out = tmp_path / "out"
    for argv in (["kv", "compile", str(reg), "-o", str(out)], ["kv", "encode", str(reg), "rx_hash=1", "-o",
                                                               str(out / "blob")]):
        r = run_cli(*argv)
        assert r.code == 2 and r.stderr.count("\n") == 3 and message in r.stderr and str(reg) in r.stderr, r
        assert not out.exists()


def test_encode_refusals_write_nothing(tmp_path):
    reg = tmp_path / "reg.toml"
    reg.write_text(REGISTRY)
    blob = tmp_path / "blob"
    for values in (["nosuch=1"], ["rx_hash=0x100000000"], ["vlan_present=2"]):
        r = run_cli("kv", "encode", str(reg), *values, "-o", str(blob))
        assert r.code == 2 and r.stderr.count("\n") == 1, r
        assert not blob.exists()


@settings(max_examples=300, deadline=None)
@given(cut=st.integers(0, len(REGISTRY)), junk=st.text(max_size=12))
def test_mangled_registries_are_refused_cleanly(tmp_path_factory, cut, junk):
    """A registry with text spliced in anywhere loads or is refused with its file and a line."""
    reg = tmp_path_factory.mktemp("mangled") / "reg.toml"
    reg.write_text(REGISTRY[:cut] + junk + REGISTRY[cut:])
    try:
        load(reg)
    except RegistryError as exc:
        assert str(exc).startswith(f"{reg}:") and exc.pos and "\n" not in str(exc)


def test_descriptions_and_paths_stay_in_their_comments(tmp_path):
    """A description or a registry path with */ or a newline cannot end a comment in the
    generated C or Python."""
    import subprocess

    from .conftest import tool

    d = tmp_path / "evil *" / " int x; /*"  # the path reads "evil */ int x; /*"
    d.mkdir(parents=True)
    reg = d / "reg.toml"
    reg.write_text(REGISTRY.replace('type = "u32"', 'type = "u32"\ndescription = "a */ int evil; /*\\n#error x"'))
    out = tmp_path / "out"
    assert run_cli("kv", "compile", str(reg), "-o", str(out)).code == 0
    src = tmp_path / "use.c"
    src.write_text('#include "mymeta_kv.h"\nint main(void) { return MYMETA_RX_HASH; }\n')
    r = subprocess.run([tool("gcc"), "-Wall", "-Werror", "-fsyntax-only", f"-I{out}", str(src)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    consts: dict = {}
    exec(compile((out / "mymeta_keys.py").read_text(), "mymeta_keys.py", "exec"), consts)
    assert consts["MYMETA_RX_HASH"] == 0
