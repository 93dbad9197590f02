"""``kv compile``: a registry as the files a deployment builds with — the C helpers and key
enum for BPF programs (and the host), a Python module of constants, and BTF holding the key
enum and the value types, which `relocate` hands to programs as CO-RE enum values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..btf.spec import Spec
from ..cfront.compile import compile_source
from ..fileio import write_output
from ..kv.codec import HEADER, SIZES
from ..kv.registry import Key, Registry
from ..render.templates import render

CTYPES = {"u16": "unsigned short", "s16": "short", "u32": "unsigned int", "s32": "int",
          "u64": "unsigned long long", "s64": "long long", "flag": "_Bool"}


@dataclass(frozen=True)
class _KeyView:
    """A key as the templates spell it."""

    key: Key
    prefix: str

    def __getattr__(self, name: str):
        return getattr(self.key, name)

    @property
    def upper(self) -> str:
        return self.key.name.upper()

    @property
    def enumerator(self) -> str:
        return f"{self.prefix.upper()}_{self.upper}"

    @property
    def ctype(self) -> str:
        return CTYPES[self.key.type]

    @property
    def utype(self) -> str:
        return CTYPES["u" + self.key.type[1:]]


def generate(reg: Registry, base: Spec | None = None) -> dict[str, bytes]:
    """File name -> contents: ``PREFIX_keys.h``, ``PREFIX_kv.h``, ``PREFIX_keys.py``, ``PREFIX.btf``
    (split on ``base`` when given, like a module's BTF)."""
    p = reg.prefix
    sizes = sorted(SIZES[reg.format].items())
    codes_text = ", ".join(f"{code:02b}: {size} bytes" for code, size in sizes)
    context = {"prefix": p, "P": p.upper(), "fmt": reg.format, "capacity": reg.capacity,
               "byte_order": reg.byte_order, "big": reg.byte_order == "big", "registry": reg.path,
               "keys": [_KeyView(k, p) for k in reg.keys], "sizes": sizes, "codes_text": codes_text,
               "chunks": (reg.capacity - HEADER) // 32, "pieces": (2, 4, 8, 16) if reg.format == "seed" else (4, 8, 16)}
    keys_h = render("kv_keys.h.j2", **context)
    btf = compile_source(keys_h, path=f"{p}_keys.h", base=base, system_includes=False)
    return {f"{p}_keys.h": keys_h.encode(), f"{p}_kv.h": render("kv.h.j2", **context).encode(),
            f"{p}_keys.py": render("kv_keys.py.j2", **context).encode(), f"{p}.btf": btf.to_bytes()}


def write(files: dict[str, bytes], directory: str) -> list[str]:
    """Writes every file (all were made before the first is written); their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        paths.append(str(out / name))
        write_output(paths[-1], data)
    return paths
