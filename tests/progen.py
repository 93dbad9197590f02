"""A seeded generator of CO-RE XDP programs and of target layouts that differ from
the program's own view (reordered, widened, narrowed, renamed, removed and added
fields, nested and anonymous members, arrays, bitfields, enums, pointers, flavors).

Every access folds its value into a hash the program returns, so a relocation that
is wrong or missing changes the result (tests compare it with libbpf's).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SCALARS = ["__u8", "__u16", "__u32", "__u64", "__s8", "__s16", "__s32", "__s64"]
WIDER = {"__u8": "__u16", "__u16": "__u32", "__u32": "__u64", "__s8": "__s16", "__s16": "__s32", "__s32": "__s64"}
NARROWER = {v: k for k, v in WIDER.items()}
PRELUDE = """#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
"""
OTHER = "struct other { int x; char y; } __attribute__((preserve_access_index));\n"
TYPES = """typedef unsigned char __u8; typedef unsigned short __u16; typedef unsigned int __u32;
typedef unsigned long long __u64; typedef signed char __s8; typedef short __s16; typedef int __s32;
typedef long long __s64;
"""


@dataclass
class Field:
    name: str
    kind: str  # scalar, bitfield, array, nested, union, enum, enum64, ptr
    type: str = "__u32"
    bits: int = 0
    count: int = 0

    def decl(self) -> str:
        if self.kind == "bitfield":
            return f"{self.type} {self.name} : {self.bits};"
        if self.kind == "array":
            return f"{self.type} {self.name}[{self.count}];"
        if self.kind == "nested":
            return f"struct {{ {self.type} a; __u16 b; }} {self.name};"
        if self.kind == "union":
            return f"union {{ {self.type} {self.name}_x; __u16 {self.name}_y; }};"
        if self.kind == "enum":
            return f"enum mode {self.name};"
        if self.kind == "enum64":
            return f"enum big {self.name};"
        if self.kind == "ptr":
            return f"void *{self.name};"
        return f"{self.type} {self.name};"


@dataclass
class Case:
    seed: int
    program: str  # C source of the BPF program
    target: str  # C source whose BTF is the target layout
    cpu: str
    meta: list[bytes] = field(default_factory=list)  # metadata buffers to run with


class ProgGen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.seed = seed

    def local_fields(self) -> list[Field]:
        r = self.r
        out = []
        for i in range(r.randint(2, 7)):
            roll = r.random()
            name = f"f{i}"
            if roll < 0.45:
                out.append(Field(name, "scalar", r.choice(SCALARS)))
            elif roll < 0.6:
                t = r.choice(["__u8", "__u16", "__u32", "__u64"])
                width = {"__u8": 8, "__u16": 16, "__u32": 32, "__u64": 64}[t]
                out.append(Field(name, "bitfield", t, bits=r.randint(1, min(width, 20))))
            elif roll < 0.68:
                out.append(Field(name, "array", r.choice(["__u8", "__u16", "__u32"]), count=r.randint(2, 6)))
            elif roll < 0.76:
                out.append(Field(name, "nested", r.choice(["__u32", "__u64", "__u16"])))
            elif roll < 0.82:
                out.append(Field(name, "union", r.choice(["__u32", "__u64"])))
            elif roll < 0.9:
                out.append(Field(name, "enum"))
            elif roll < 0.94:
                out.append(Field(name, "enum64"))
            else:
                out.append(Field(name, "ptr"))
        return out

    def edit(self, fields: list[Field]) -> list[Field]:
        """The target's version of the layout: each kind of edit, at random."""
        r = self.r
        out = []
        for f in fields:
            g = Field(f.name, f.kind, f.type, f.bits, f.count)
            roll = r.random()
            if roll < 0.12:
                continue  # removed
            if roll < 0.2:
                g.name = f.name + "_renamed"
            elif roll < 0.32 and g.kind in ("scalar", "array", "nested") and g.type in WIDER:
                g.type = WIDER[g.type]
            elif roll < 0.4 and g.kind in ("scalar", "array", "nested") and g.type in NARROWER:
                g.type = NARROWER[g.type]
            elif roll < 0.46 and g.kind == "bitfield":
                limit = {"__u8": 8, "__u16": 16, "__u32": 32, "__u64": 64}[g.type]
                g.bits = r.randint(1, limit)
            elif roll < 0.5 and g.kind == "array":
                g.count = max(1, g.count + r.choice([-2, -1, 1, 3]))
            elif roll < 0.54 and g.kind == "scalar":
                g.type = g.type.replace("u", "s") if "u" in g.type else g.type.replace("s", "u")
            out.append(g)
        for i in range(r.randint(0, 2)):
            out.insert(r.randint(0, len(out)), Field(f"added{i}", "scalar", r.choice(SCALARS)))
        if r.random() < 0.4:
            r.shuffle(out)
        return out

    def struct(self, name: str, fields: list[Field], pai: bool) -> str:
        body = "\n".join("\t" + f.decl() for f in fields)
        attr = " __attribute__((preserve_access_index))" if pai else ""
        return f"struct {name} {{\n{body}\n}}{attr};\n"

    def enums(self, local: bool) -> str:
        r = self.r
        if local:
            return "enum mode { M_A = 1, M_B = 2, M_C = 4 };\nenum big { BIG_A = 0x100000000ULL, BIG_B = 3 };\n"
        vals = [("M_A", r.choice([1, 7])), ("M_B", 2), ("M_C", r.choice([4, 9]))]
        if r.random() < 0.3:
            vals.pop(r.randrange(len(vals)))
        text = ", ".join(f"{n} = {v}" for n, v in vals)
        return f"enum mode {{ {text} }};\nenum big {{ BIG_A = 0x{r.choice([1, 2]):x}00000000ULL, BIG_B = 3 }};\n"

    def access(self, f: Field) -> list[str]:
        r = self.r
        lines = []
        guard = r.random() < 0.5
        if f.kind == "scalar":
            expr = f"m->{f.name}"
        elif f.kind == "bitfield":
            expr = f"BPF_CORE_READ_BITFIELD(m, {f.name})"
        elif f.kind == "array":
            expr = f"m->{f.name}[{r.randrange(f.count)}]"
        elif f.kind == "nested":
            expr = f"m->{f.name}.{r.choice(['a', 'b'])}"
        elif f.kind == "union":
            expr = f"m->{f.name}_{r.choice(['x', 'y'])}"
        elif f.kind in ("enum", "enum64"):
            expr = f"m->{f.name}"
        else:
            expr = f"(__u64)m->{f.name}"
        check = f"m->{f.name}" if f.kind not in ("nested", "union", "array") else expr
        if f.kind == "bitfield":
            check = f"m->{f.name}"
        if guard:
            lines.append(f"if (bpf_core_field_exists({check})) h = h * 31 + {expr};")
        else:
            lines.append(f"h = h * 31 + {expr};")
        if r.random() < 0.25 and f.kind not in ("bitfield",):
            lines.append(f"h = h * 31 + bpf_core_field_size({check});")
        if r.random() < 0.2:
            lines.append(f"h = h * 31 + bpf_core_field_exists({check});")
        return lines

    def case(self) -> Case:
        r = self.r
        local = self.local_fields()
        target_fields = self.edit(local)
        flavor = r.choice(["", "", "___v2", "___nic"])
        ambiguous = r.random() < 0.08
        body = []
        for f in local:
            body.extend(self.access(f))
        extras = r.sample([
            "h = h * 31 + bpf_core_type_size(struct meta);",
            "h = h * 31 + bpf_core_type_exists(struct other);",
            "h = h * 31 + bpf_core_type_matches(struct other);",
            "if (bpf_core_enum_value_exists(enum mode, M_C)) h = h * 31 + bpf_core_enum_value(enum mode, M_C);",
            "h = h * 31 + bpf_core_enum_value_exists(enum mode, M_A);",
            "h = h * 31 + bpf_core_enum_value(enum big, BIG_A);",
            "h = h * 31 + bpf_core_type_id_kernel(struct other);",
        ], k=r.randint(0, 3))
        body.extend(extras)
        use_sub = r.random() < 0.3
        sub = ""
        if use_sub:
            f = r.choice(local)
            sub_body = "\n\t".join(self.access(f))
            sub = (f"static __attribute__((noinline)) __u64 sub(struct meta *m)\n{{\n\t__u64 h = 0;\n\t{sub_body}\n"
                   "\treturn h;\n}\n")
            body.append("h = h * 31 + sub(m);")
        program = (PRELUDE + self.enums(True) + OTHER + self.struct("meta", local, True) + sub
                   + "SEC(\"xdp\")\nint prog(struct xdp_md *ctx)\n{\n"
                   "\tvoid *data = (void *)(long)ctx->data;\n"
                   "\tstruct meta *m = (void *)(long)ctx->data_meta;\n"
                   "\t__u64 h = 1;\n"
                   "\tif ((void *)m + bpf_core_type_size(struct meta) > data)\n\t\treturn 1;\n\t"
                   + "\n\t".join(body) + "\n\treturn (__u32)(h ^ (h >> 32)) & 0x7fffffff;\n}\n"
                   + "char _license[] SEC(\"license\") = \"GPL\";\n")
        other = r.choice(["struct other { int x; char y; };", "struct other { long x; };", ""])
        target = TYPES + self.enums(False) + other + "\n" + self.struct("meta" + flavor, target_fields, False)
        uses = [f"struct meta{flavor} *use_meta;", "enum mode use_mode;", "enum big use_big;"]
        if other:
            uses.append("struct other *use_other;")
        if ambiguous:
            twin = self.edit(local) if r.random() < 0.5 else target_fields
            target += self.struct("meta___twin", twin, False)
            uses.append("struct meta___twin *use_twin;")
        target += "\n".join(uses) + "\n"
        meta = [bytes(r.getrandbits(8) for _ in range(96)) for _ in range(2)]
        return Case(self.seed, program, target, r.choice(["v1", "v2", "v3", "v4"]), meta)


def generate_case(seed: int) -> Case:
    return ProgGen(seed).case()
