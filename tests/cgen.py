"""A seeded generator of C metadata headers covering what `btfmeta compile` accepts.

Each header is valid C for clang-19 -target bpf; `use_source` forces clang to emit
BTF for every named type (clang only emits types a used symbol reaches).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

INT_TYPES = ["char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
             "long", "unsigned long", "long long", "unsigned long long", "_Bool", "short int",
             "long unsigned int", "unsigned", "signed", "long long unsigned int"]
BITFIELD_TYPES = {"char": 8, "signed char": 8, "unsigned char": 8, "short": 16, "unsigned short": 16,
                  "int": 32, "unsigned int": 32, "long": 64, "unsigned long": 64, "long long": 64,
                  "unsigned long long": 64, "_Bool": 1}
OTHER_TYPES = ["float", "double", "unsigned __int128", "__int128", "long double"]
ENUM_VALUES = ["-1", "-100", "0x7fffffff", "0x80000000", "1U << 31", "0xffffffff", "0x100000000ULL",
               "-0x80000000LL", "5", "SZ_1 * 3", "0x7fffffffffffffffLL"]
UAPI_TYPEDEFS = [("__u8", "unsigned char", 8), ("__u16", "unsigned short", 16), ("__u32", "unsigned int", 32),
                 ("__u64", "unsigned long long", 64), ("__s8", "signed char", 8), ("__s16", "short", 16),
                 ("__s32", "int", 32), ("__s64", "long long", 64), ("__be16", "__u16", 16),
                 ("__be32", "__u32", 32), ("__le64", "__u64", 64)]


@dataclass
class Header:
    text: str
    names: list[str] = field(default_factory=list)  # 'struct x', 'union y', 'enum z', 'typedef_t'


class Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.seed = seed
        self.out: list[str] = []
        self.names: list[str] = []
        self.scalars: list[tuple[str, int | None]] = []  # (spelling, bitfield width limit)
        self.records: list[str] = []
        self.n = 0
        self.uapi = False

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def emit(self, line: str) -> None:
        self.out.append(line)

    def attr(self, *names: str) -> str:
        return f"__attribute__(({', '.join(names)}))"

    # -- types ---------------------------------------------------------------------

    def scalar(self) -> tuple[str, int | None]:
        r = self.r
        roll = r.random()
        if roll < 0.45:
            t = r.choice(list(BITFIELD_TYPES))
            return t, BITFIELD_TYPES[t]
        if roll < 0.7 and self.scalars:
            return r.choice(self.scalars)
        if roll < 0.8:
            t = r.choice(INT_TYPES)
            return t, BITFIELD_TYPES.get(t, 32 if t in ("unsigned", "signed", "short int") else 64)
        return r.choice(OTHER_TYPES), None

    def field_type(self, depth: int) -> tuple[str, str, int | None]:
        """(prefix, suffix, bitfield limit) so a member reads `prefix name suffix;`."""
        r = self.r
        roll = r.random()
        if roll < 0.08 and self.records:
            return f"struct {r.choice(self.records)} *", "", None
        if roll < 0.12:
            return r.choice(["const ", "volatile ", "const volatile ", ""]) + self.scalar()[0] + " *", "", None
        if roll < 0.15:
            return "void *", "", None
        if roll < 0.18:
            return self.scalar()[0] + " *" + r.choice(["const ", "restrict ", ""]), "", None
        if roll < 0.21:
            ret = self.scalar()[0]
            return f"{ret} (*", f")({self.scalar()[0]}, {r.choice(['void *', 'int', 'char *'])})", None
        if roll < 0.30:
            dims = "".join(f"[{self.array_size()}]" for _ in range(r.randint(1, 3)))
            return self.scalar()[0], dims, None
        if roll < 0.36 and depth < 3:
            return self.record_inline(depth + 1), "", None
        if roll < 0.40 and self.records:
            return f"struct {r.choice(self.records)}", "", None
        t, limit = self.scalar()
        if r.random() < 0.08:
            t = "const " + t
        if r.random() < 0.05:
            tag = self.attr('btf_type_tag("user")')
            return f"{t} {tag} *", "", None
        return t, "", limit

    def array_size(self) -> str:
        r = self.r
        n = r.randint(1, 9)
        return r.choice([str(n), f"{n} + 1", f"sizeof(int) * {n}", f"(int)({n}U << 1)", f"SZ_{self.seed % 3}",
                         f"({n} > 3 ? {n} : 2)", "sizeof(struct fixed16) / 4", f"0x{n:x}"])

    def members(self, depth: int, union: bool) -> list[str]:
        r = self.r
        lines = []
        count = r.randint(1, 7)
        base = self.fresh("f")
        for i in range(count):
            name = f"{base}_{i}"
            roll = r.random()
            if roll < 0.25:
                t, limit = r.choice([(k, v) for k, v in BITFIELD_TYPES.items()] +
                                    [(n, w) for n, _, w in UAPI_TYPEDEFS[:8] if self.uapi])
                if r.random() < 0.1 and not union:
                    lines.append(f"{t} :0;")
                if r.random() < 0.1:
                    lines.append(f"{t} :{r.randint(1, limit)};")
                w = r.randint(1, limit)
                lines.append(f"{t} {name} : {w};")
                continue
            prefix, suffix, _ = self.field_type(depth)
            attr = ""
            if r.random() < 0.08:
                attr = " " + self.attr(f"aligned({r.choice([1, 2, 4, 8, 16])})")
            elif r.random() < 0.05 and not union:
                attr = " " + self.attr("packed")
            elif r.random() < 0.05:
                attr = " " + self.attr(f'btf_decl_tag("tag_{name}")')
            lines.append(f"{prefix} {name}{suffix}{attr};")
        if not union and r.random() < 0.1:
            lines.append(f"{self.scalar()[0]} {base}_flex[];")
        return lines

    def record_inline(self, depth: int) -> str:
        """An anonymous struct/union type spelled inline."""
        kind = self.r.choice(["struct", "union"])
        body = " ".join(self.members(depth, kind == "union"))
        return f"{kind} {{ {body} }}"

    def record(self) -> None:
        r = self.r
        kind = r.choice(["struct", "struct", "union"])
        name = self.fresh("rec")
        if r.random() < 0.1:
            name += "___v2"
        pre = ""
        post = ""
        roll = r.random()
        if roll < 0.12:
            post = " " + self.attr("packed")
        elif roll < 0.18:
            pre = self.attr("packed") + " "
        elif roll < 0.25:
            post = " " + self.attr(f"aligned({r.choice([4, 8, 16, 32])})")
        elif roll < 0.3:
            post = " " + self.attr("packed", f"aligned({r.choice([2, 4])})")
        elif roll < 0.33:
            post = " " + self.attr("preserve_access_index")
        body = self.members(1, kind == "union")
        if r.random() < 0.15:
            last = len(body) - (1 if body[-1].endswith("flex[];") else 0)
            body.insert(r.randint(0, last), self.record_inline(2) + ";")  # anonymous member
        pack = r.random() < 0.1
        if pack:
            self.emit(f"#pragma pack(push, {r.choice([1, 2, 4])})")
        self.emit(f"{kind} {pre}{name} {{")
        for line in body:
            self.emit("\t" + line)
        self.emit(f"}}{post};")
        if pack:
            self.emit("#pragma pack(pop)")
        self.names.append(f"{kind} {name}")
        if kind == "struct" and "flex" not in " ".join(body):
            self.records.append(name)
        if r.random() < 0.2:
            self.emit(f"_Static_assert(sizeof({kind} {name}) > 0, \"{name} has a size\");")

    def enum(self) -> None:
        r = self.r
        name = self.fresh("en")
        packed = r.random() < 0.15
        vals = []
        for i in range(r.randint(1, 6)):
            roll = r.random()
            v = "" if roll < 0.4 else " = " + r.choice(ENUM_VALUES)
            vals.append(f"{name.upper()}_{i}{v}")
        vals_text = ", ".join(vals)
        attr = " " + self.attr("packed") if packed else ""
        self.emit(f"enum {name} {{ {vals_text} }}{attr};")
        self.names.append(f"enum {name}")

    def typedef(self) -> None:
        r = self.r
        name = self.fresh("td") + "_t"
        roll = r.random()
        if roll < 0.4:
            target, limit = self.scalar()
            self.emit(f"typedef {target} {name};")
            if limit:
                self.scalars.append((name, limit))
        elif roll < 0.6 and self.records:
            self.emit(f"typedef struct {r.choice(self.records)} {name};")
        elif roll < 0.75:
            self.emit(f"typedef {self.record_inline(2)} {name};")
        elif roll < 0.85:
            self.emit(f"typedef int (*{name})({self.scalar()[0]} a, void *b);")
        elif roll < 0.92:
            self.emit(f"typedef {self.scalar()[0]} {name}[{self.array_size()}];")
        else:
            self.emit(f"typedef {self.scalar()[0]} {name} {self.attr('aligned(8)')};")
        self.names.append(name)

    def header(self) -> Header:
        r = self.r
        self.emit(f"/* generated by tests/cgen.py, seed {self.seed} */")
        self.emit("#pragma once")
        self.emit("#define SZ_0 4\n#define SZ_1 (2 + 2)\n#define SZ_2 sizeof(long)")
        self.emit("#define PAIR(t, a, b) t a; t b")
        self.emit("struct fixed16 { unsigned int a, b, c, d; };")
        self.names.append("struct fixed16")
        self.records.append("fixed16")
        if r.random() < 0.5:
            self.uapi = True
            for name, target, width in UAPI_TYPEDEFS:
                self.emit(f"typedef {target} {name};")
                self.names.append(name)
                self.scalars.append((name, width))
        if r.random() < 0.3:
            self.emit("#if SZ_0 > 2 && defined(SZ_1)\nstruct cond_yes { int y; };\n"
                      "#else\nstruct cond_no { int n; };\n#endif")
            self.names.append("struct cond_yes")
        if r.random() < 0.3:
            self.emit("struct fwd_only;")
            self.emit("struct with_fwd { struct fwd_only *p; PAIR(int, x, y); };")
            self.names.append("struct with_fwd")
        for _ in range(r.randint(2, 8)):
            r.choice([self.record, self.record, self.enum, self.typedef])()
        return Header("\n".join(self.out) + "\n", self.names)


def generate(seed: int) -> Header:
    return Gen(seed).header()


def use_source(header_name: str, names: list[str]) -> str:
    """A C file that makes clang emit BTF for each named type (through a pointer)."""
    lines = [f'#include "{header_name}"']
    for i, n in enumerate(names):
        lines.append(f"{n} *__btfmeta_use_{i};")
    return "\n".join(lines) + "\n"
