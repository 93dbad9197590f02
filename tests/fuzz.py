"""A bounded fuzzer over every reader: raw BTF, split BTF, ELF objects, .BTF.ext, C headers,
key-value metadata blobs.

``python -m tests.fuzz READER COUNT SEED`` mutates a real seed input COUNT times and runs
the commands that read it in-process, each under a time bound (SIGALRM) and the whole
run under a memory bound (RLIMIT_AS).  It prints one JSON line: the outcome counts and
every failure -- an internal error (exit 70 or an escaped exception), a hang, a
malformed error message, or a partial or temporary file left after a refusal.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import resource
import signal
import struct
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
READERS = ("raw", "split", "elf", "btfext", "c", "kv", "distilled")
TIME_BOUND_S = 10
MEMORY_BOUND = 3 << 30
EXTREMES = [0, 1, 3, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000, 0xFFFFFF, 24, 32]


def mutate(data: bytes, rng: random.Random, lo: int = 0, hi: int | None = None) -> bytes:
    """One to three byte-level edits inside ``data[lo:hi]``: truncation, bit flips, a word
    pushed to an extreme, a BTF info word changed, random bytes, bytes inserted or removed."""
    buf = bytearray(data)
    whole = hi is None
    for _ in range(rng.randint(1, 3)):
        hi = len(buf) if whole else hi
        if hi - lo < 8:
            break
        how = rng.randrange(6)
        i = rng.randrange(lo, hi - 4)
        if how == 0 and lo == 0:
            return bytes(buf[: rng.randrange(len(buf))])
        if how == 1:
            buf[i] ^= 1 << rng.randrange(8)
        elif how == 2:
            i -= (i - lo) % 4
            buf[i:i + 4] = struct.pack("<I", rng.choice([*EXTREMES, hi - lo, rng.getrandbits(32)]))
        elif how == 3:
            i -= (i - lo) % 4
            buf[i:i + 4] = struct.pack("<I", rng.getrandbits(32) & rng.choice([0x1F000000, 0xFFFF, 0x9FFFFFFF,
                                                                               0xFFFFFFFF]))
        elif how == 4:
            n = rng.randint(1, 16)
            buf[i:i + n] = rng.randbytes(n)
        elif lo == 0:
            if rng.random() < 0.5:
                del buf[i:i + rng.randint(1, 12)]
            else:
                buf[i:i] = rng.randbytes(rng.randint(1, 12))
    return bytes(buf)


C_FRAGMENTS = ["struct", "union", "enum", "typedef", "{", "}", ";", ",", "(", ")", "[", "]", "*", ":", "=",
               "int", "char", "unsigned", "long", "__u8", "__u32", "__attribute__((packed))", "__aligned(8)",
               "0x7fffffff", "-1", "4294967296", "#define X X X\n", "#if 1\n", "#endif\n", "#include \"x.h\"\n",
               "\\\n", "/*", "*/", "\"", "'", "sizeof", "_Static_assert(1, \"\");", "#pragma pack(1)\n", "\0",
               "\u00e9", "\r\n", "[0x100000000]", "::", "...", "a", "b0", "1 << 63", "1 / 0"]


CHAIN_KINDS = ("const", "volatile", "typedef", "ptr", "array")
CHAIN_EVERY = 1000  # one raw input in this many is a long type chain instead of a mutation


def chain_btf(kind: str, n: int) -> bytes:
    """A struct whose member's type is a chain of ``n`` links of one kind over an int: the
    walks over type chains must be iterative and linear (issue 21 item 6)."""
    from btfmeta import Spec
    from btfmeta.btf import types as T

    spec = Spec()
    tid = spec.add(T.Int(name="int", size=4, encoding=1, nr_bits=32))
    for i in range(n):
        if kind == "ptr":
            tid = spec.add(T.Ptr(type=tid))
        elif kind == "array":
            tid = spec.add(T.Array(type=tid, index_type=1, nelems=1))
        elif kind == "typedef":
            tid = spec.add(T.Typedef(name=f"t{i}", type=tid))
        else:
            tid = spec.add((T.Const if kind == "const" else T.Volatile)(type=tid))
    spec.add(T.Struct(name="s", size=4, members=[T.Member(name="m", type=tid, bits_offset=0)]))
    return spec.to_bytes()


def mutate_c(text: str, rng: random.Random) -> str:
    """Token-level edits of C: fragments inserted, spans deleted, duplicated or swapped."""
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(text) + 1)
        how = rng.randrange(4)
        if how == 0:
            text = text[:i] + rng.choice(C_FRAGMENTS) + text[i:]
        elif how == 1:
            text = text[:i] + text[i + rng.randint(1, 40):]
        elif how == 2:
            j = min(len(text), i + rng.randint(1, 80))
            text = text[:j] + text[i:j] + text[j:]
        else:
            j = rng.randrange(len(text) + 1)
            a, b = sorted((i, j))
            text = text[b:] + text[a:b] + text[:a]
    return text


def _sections(data: bytes) -> dict[str, tuple[int, int]]:
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(data))
    return {s.name: (s["sh_offset"], s["sh_offset"] + s["sh_size"]) for s in elf.iter_sections()}


class Hang(BaseException):
    """The per-input time bound ran out (a BaseException: nothing in btfmeta catches it)."""


def _alarm(signum, frame):
    raise Hang()


def _run(argv: list[str]) -> tuple[int, str]:
    from btfmeta.cli import main

    out, err = io.BytesIO(), io.StringIO()
    text_out = io.TextIOWrapper(out, encoding="utf-8")
    with contextlib.redirect_stdout(text_out), contextlib.redirect_stderr(err):
        signal.setitimer(signal.ITIMER_REAL, TIME_BOUND_S)
        try:
            code = main(argv)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        with contextlib.suppress(ValueError):
            text_out.flush()
    return code, err.getvalue()


def _well_formed(stderr: str, c_source: bool) -> bool:
    if c_source and ": error: " in stderr.split("\n", 1)[0]:
        return True  # compiler style: file:line:col: error: ..., the line, a caret
    return stderr.startswith("btfmeta: error: ") and stderr.count("\n") == 1


def _cases(reader: str, work: Path):
    """(seed bytes, mutation window, command lines using {in} and {out}) per reader."""
    from btfmeta import Spec
    from btfmeta.btf.load import btf_bytes

    obj = (SAMPLES / "xdp_mynic.bpf.o").read_bytes()
    target = work / "target.btf"
    target.write_bytes(Spec.parse(btf_bytes((SAMPLES / "btf_objects.bpf.o").read_bytes(), "t")).to_bytes())
    if reader == "raw":
        seed = btf_bytes((FIXTURES / "kinds.bpf.o").read_bytes(), "kinds.bpf.o")
        return seed, (0, None), [["btf", "dump", "{in}"], ["btf", "dump", "{in}", "--format", "c"],
                                 ["btf", "dump", "{in}", "--format", "json"], ["layout", "{in}"],
                                 ["layout", "{in}", "--format", "json"], ["btf", "copy", "{in}", "-o", "{out}"]]
    if reader == "distilled":
        from .fuzz_distill import cases

        return cases(work, target)
    if reader == "split":
        base = work / "base.btf"
        base.write_bytes(target.read_bytes())
        from btfmeta.compile import compile_headers

        seed = compile_headers([str(SAMPLES / "mynic_metadata_v2.h")], base=Spec.parse(base.read_bytes())).to_bytes()
        b = ["--base", str(base)]
        return seed, (0, None), [["btf", "dump", "{in}", *b], ["btf", "dump", "{in}", *b, "--format", "c"],
                                 ["layout", "{in}", *b], ["diff", str(base), "{in}"],
                                 ["resolve", "mynic_metadata.rx.ipv4.saddr", "--btf", "{in}", *b]]
    commands = [["obj", "show", "{in}"], ["relocate", "{in}", "--btf", str(target), "-o", "{out}"],
                ["check", "{in}", "--btf", str(target)], ["btf", "dump", "{in}"]]
    if reader == "elf":
        return obj, (0, None), commands
    if reader == "btfext":
        return obj, _sections(obj)[".BTF.ext"], commands
    if reader == "kv":
        from btfmeta.kv import load

        registry = work / "registry.toml"
        registry.write_text(KV_REGISTRY)
        seed = load(registry).encode({"rx_hash": 0x12345678, "vlan": 5, "flagged": True, "ts": -3})
        return seed, (0, None), [["kv", "decode", str(registry), "{in}"],
                                 ["kv", "decode", str(registry), "{in}", "--format", "text"]]
    return None, None, [["compile", "{in}", "-I", str(SAMPLES), "-o", "{out}"]]


KV_REGISTRY = """[store]
format = "rfc-v2"
capacity = 64
[keys.rx_hash]
number = 0
type = "u32"
[keys.vlan]
number = 3
type = "u32"
[keys.flagged]
number = 7
type = "flag"
[keys.ts]
number = 40
type = "s64"
"""


def fuzz(reader: str, count: int, seed: int) -> dict:
    rng = random.Random(f"btfmeta-fuzz-{reader}-{seed}")
    failures: list[dict] = []
    outcomes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, window, commands = _cases(reader, work)
        headers = [p.read_text() for p in sorted(SAMPLES.glob("*.h"))]
        inp, out = work / "input", work / "out.bin"
        for i in range(count):
            if reader == "c":
                inp.write_bytes(mutate_c(rng.choice(headers), rng).encode("utf-8", "surrogateescape"))
            elif reader == "raw" and i % CHAIN_EVERY == CHAIN_EVERY - 1:  # 10^3 to 10^5 links
                inp.write_bytes(chain_btf(rng.choice(CHAIN_KINDS), int(10 ** rng.uniform(3, 5))))
            else:
                inp.write_bytes(mutate(data, rng, *window))
            for cmd in commands:
                argv = [str(inp) if a == "{in}" else str(out) if a == "{out}" else a for a in cmd]
                try:
                    code, err = _run(argv)
                except Hang:
                    code, err = -1, f"no answer within {TIME_BOUND_S} s"
                outcomes[str(code)] = outcomes.get(str(code), 0) + 1
                problem = None
                if code not in (0, 1, 2):
                    problem = "internal error" if code == 70 else "hang" if code == -1 else f"exit {code}"
                elif code == 2 and not _well_formed(err, reader == "c"):
                    problem = "malformed error message"
                elif code != 0 and out.exists():
                    problem = "partial output"
                leftovers = [p.name for p in work.iterdir() if p.name.startswith(".")]
                if leftovers:
                    problem = f"temporary files left: {leftovers}"
                if problem:
                    failures.append({"input": i, "argv": cmd, "problem": problem, "stderr": err[:300],
                                     "data": inp.read_bytes().hex() if len(failures) < 20 else None})
                if out.exists():
                    out.unlink()
    return {"reader": reader, "inputs": count, "runs": sum(outcomes.values()), "exits": outcomes,
            "failures": failures}


def main() -> None:
    reader, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))
    signal.signal(signal.SIGALRM, _alarm)
    print(json.dumps(fuzz(reader, count, seed)))


if __name__ == "__main__":
    main()
