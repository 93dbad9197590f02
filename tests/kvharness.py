"""The kv store's three implementations side by side (issue 14): the Python codec, the
generated C compiled for the host (tests/helpers/kv_native.c), and the generated BPF
helpers in the kernel's test runs (tests/helpers/kv_prog.bpf.c through kv_runner.c).
Operations travel as 16-byte ``struct kv_op`` records (tests/helpers/kv_ops.h); used by
tests/test_kv_c.py and benchmarks/bench_kv.py."""

from __future__ import annotations

import platform
import random
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from btfmeta.commands import kvgen
from btfmeta.kv import KVError, Store, load
from btfmeta.kv.codec import SIZES

HELPERS = Path(__file__).resolve().parent / "helpers"
SET, GET, DELETE, IS_SET = 1, 2, 3, 4
OP = struct.Struct("<BBBxi8s")
ASM_INCLUDE = f"/usr/include/{platform.machine()}-linux-gnu"  # asm/types.h for linux/bpf.h


def registry_text(fmt: str, capacity: int, byte_order: str, prefix: str = "kvt",
                  keys: dict[str, tuple[int, str]] | None = None) -> str:
    keys = keys or {"rx_hash": (3, "u32"), "rx_timestamp": (7, "u64")}
    lines = ["[store]", f'format = "{fmt}"', f"capacity = {capacity}", f'byte_order = "{byte_order}"',
             f'prefix = "{prefix}"']
    for name, (number, typ) in keys.items():
        lines += ["", f"[keys.{name}]", f"number = {number}", f'type = "{typ}"']
    return "\n".join(lines) + "\n"


def generate(directory: Path, text: str) -> Path:
    """The registry ``text`` compiled by ``kv compile`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "registry.toml").write_text(text)
    kvgen.write(kvgen.generate(load(directory / "registry.toml")), str(directory))
    return directory


def build_native(compiler: str, include: Path, out: Path, extra: tuple[str, ...] = ()) -> Path:
    subprocess.run([compiler, "-O2", "-Wall", "-Werror", f"-I{include}", f"-I{HELPERS}", *extra,
                    str(HELPERS / "kv_native.c"), "-o", str(out)], check=True, capture_output=True)
    return out


def build_bpf(clang: str, include: Path, out: Path, *, cpu: str = "v3", max_ops: int = 8,
              source: Path = HELPERS / "kv_prog.bpf.c", extra: tuple[str, ...] = ()) -> Path:
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", f"-mcpu={cpu}", f"-I{ASM_INCLUDE}", f"-I{include}",
                    f"-I{HELPERS}", f"-DKV_MAX_OPS={max_ops}", *extra, "-c", str(source), "-o", str(out)],
                   check=True, capture_output=True)
    return out


@dataclass
class Op:
    kind: int
    key: int
    size: int  # a set's value length, a get's buffer size
    value: bytes = bytes(8)
    ret: int = 0

    def pack(self) -> bytes:
        return OP.pack(self.kind, self.key, self.size, self.ret, self.value.ljust(8, b"\0"))

    @classmethod
    def unpack(cls, data: bytes) -> Op:
        kind, key, size, ret, value = OP.unpack(data)
        return cls(kind, key, size, value, ret)


def random_ops(rng: random.Random, fmt: str, capacity: int) -> list[Op]:
    """A sequence mixing valid and invalid operations over a few keys, long enough to fill
    small stores (so -ENOSPC, -EBUSY and -ENOENT all happen)."""
    sizes = sorted(SIZES[fmt].values())
    pool = {key: rng.choice(sizes) for key in rng.sample(range(64), rng.randint(1, 40))}  # each key's usual size
    ops = []
    for _ in range(rng.randint(1, 8 + capacity // 2)):
        kind = rng.choices((SET, GET, DELETE, IS_SET), (8, 3, 2, 1))[0]
        key = rng.randrange(64, 256) if rng.random() < 0.04 else rng.choice(list(pool))
        if kind == SET:
            size = pool.get(key, 8) if rng.random() < 0.85 else rng.choice(sizes) if rng.random() < 0.6 \
                else rng.randrange(9)
            ops.append(Op(kind, key, size, rng.randbytes(size).ljust(8, b"\0")))
        elif kind == GET:
            ops.append(Op(kind, key, rng.choice((8, 8, 8, 4, 2, 0, rng.randrange(9)))))
        else:
            ops.append(Op(kind, key, 0))
    return ops


def apply_python(store: Store, op: Op) -> Op:
    """What the codec does with ``op``: its result as the C helpers return it."""
    value, ret = op.value, 0
    try:
        if op.kind == SET:
            store.set(op.key, op.value[:op.size])
        elif op.kind == GET:
            got = store.get(op.key, op.size)
            value, ret = got + op.value[len(got):], len(got)
        elif op.kind == DELETE:
            store.delete(op.key)
        else:
            ret = int(store.is_set(op.key))
    except KVError as exc:
        ret = exc.errno
    return Op(op.kind, op.key, op.size, value, ret)


def line(meta: bytes, ops: list[Op]) -> str:
    return f"{meta.hex()} {b''.join(o.pack() for o in ops).hex()}\n"


def run_raw(cmd: list[str], lines: list[str]) -> list[tuple[bytes, bytes]]:
    """(store, packet) after a driver ran each line."""
    proc = subprocess.run(cmd, input="".join(lines), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (cmd, proc.stdout[-500:], proc.stderr[-2000:])
    out = [text.split(" ") for text in proc.stdout.splitlines()]
    assert len(out) == len(lines), (cmd, proc.stdout[-500:], proc.stderr[-2000:])
    return [(bytes.fromhex(meta), bytes.fromhex(packet)) for meta, packet in out]


def run_lines(cmd: list[str], lines: list[str]) -> list[tuple[bytes, list[Op]]]:
    """(store, operations with their results) after a driver ran each line."""
    return [(meta, [Op.unpack(data[i:i + 16]) for i in range(0, len(data), 16)]) for meta, data in run_raw(cmd, lines)]
