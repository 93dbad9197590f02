"""HTML reports (``report``, ``--format html``): the values ``check --fleet``, ``check``,
``layout`` and ``diff`` compute, shaped for ``render/html.py``.  Nothing is judged again
here: the matrix is ``fleet.check``'s verdicts in its groups, the reasons its reasons.

The matrix model (also the page's JSON): ``columns`` (a kernel group or a layout: label,
kernels, error, ``kinds``: each kernel's series and flavor), ``rows`` (object, target -- vmlinux or a
module --, program, ``cells``: one verdict letter per column, ``o``/``g``/``r``/``e``, or
``-`` where that program was not checked), ``why[row["ot"]][column]``: an index into
``reasons`` (lists of lines; 0 is none).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..btf.holes import gaps
from ..btf.spec import Spec
from ..render import html
from . import diff as diffcmd
from . import layout as layoutcmd
from .check import TargetResult

CODES = {"ok": "o", "guarded": "g", "refused": "r", "error": "e"}
VMLINUX = "vmlinux"
# A release's series (major.minor) and flavor (what follows the version and the ABI or
# package numbers): 6.1.0-47-rt-amd64 -> 6.1, rt-amd64; 6.12.100+deb12-cloud-amd64 -> 6.12, cloud-amd64.
_RELEASE = re.compile(r"(\d+\.\d+)[\d.]*(?:[-.]\d[^-]*|\+[^-]*)*-?(.*)")


def series_flavor(release: str) -> tuple[str, str]:
    m = _RELEASE.match(release)
    return (m.group(1), m.group(2)) if m else ("", "")


class _Reasons:
    """Each distinct list of reason lines once; 0 is the empty list."""

    def __init__(self) -> None:
        self.lists: list[list[str]] = [[]]
        self._ids: dict[tuple[str, ...], int] = {(): 0}

    def id(self, lines: Sequence[str]) -> int:
        key = tuple(lines)
        if key not in self._ids:
            self._ids[key] = len(self.lists)
            self.lists.append(list(lines))
        return self._ids[key]


def _model(title: str, subtitle: str, columns: list[dict[str, Any]],
           outcomes: list[tuple[dict[tuple[str, str], dict[str, str]], dict[tuple[str, str], list[str]]]],
           objects: Sequence[str]) -> dict[str, Any]:
    """The matrix of ``outcomes`` (per column: (object, target) -> program -> verdict, and
    (object, target) -> reasons), rows in the objects' order, vmlinux before modules."""
    order: dict[tuple[str, str], dict[str, None]] = {}
    for verdicts, _ in outcomes:
        for key, progs in verdicts.items():
            order.setdefault(key, {}).update(dict.fromkeys(progs))
    for (o, _), progs in order.items():  # a module that could not be read: its error under each program
        if not progs:
            progs.update(dict.fromkeys([p for (o2, _), ps in order.items() if o2 == o for p in ps]))
    rank = {o: i for i, o in enumerate(objects)}
    ots = sorted(order, key=lambda k: (rank.get(k[0], len(rank)), k[0], k[1] != VMLINUX, k[1]))
    reasons = _Reasons()
    why = [[reasons.id(why_by.get(ot, [])) for _, why_by in outcomes] for ot in ots]
    rows = [{"object": o, "target": t, "program": p, "ot": i,
             "cells": "".join(CODES.get(verdicts.get((o, t), {}).get(p, ""), "-") for verdicts, _ in outcomes)}
            for i, (o, t) in enumerate(ots) for p in order[(o, t)]]
    return {"title": title, "subtitle": subtitle, "columns": columns, "rows": rows, "why": why,
            "reasons": reasons.lists, "targets": sorted({t for _, t in ots}, key=lambda t: (t != VMLINUX, t)),
            "series": sorted({s for c in columns for s, _ in c["kinds"] if s}),
            "flavors": sorted({f for c in columns for _, f in c["kinds"] if f})}


def fleet_model(grouped: Sequence[tuple[list[str], Any]], objects: Sequence[str], fleet: str = "") -> dict[str, Any]:
    """``check --fleet``'s results as the matrix: a column per group of kernels with identical
    outcomes (``fleet.check.groups``: the releases and one ``KernelResult``)."""
    columns, outcomes = [], []
    for releases, r in grouped:
        label = releases[0] + (f" +{len(releases) - 1}" if len(releases) > 1 else "")
        columns.append({"label": label, "kernels": releases, "error": r.error,
                        "kinds": [list(series_flavor(k)) for k in releases]})
        outcomes.append((r.verdicts, r.reasons))
    n = sum(len(releases) for releases, _ in grouped)
    subtitle = f"{n} kernel{'s' * (n != 1)} in {len(columns)} group{'s' * (len(columns) != 1)}" + \
        (f" from {fleet}" if fleet else "")
    return _model("check --fleet", subtitle, columns, outcomes, objects)


def fleet_html(grouped: Sequence[tuple[list[str], Any]], objects: Sequence[str], fleet: str = "") -> str:
    return html.matrix_page(fleet_model(grouped, objects, fleet))


def check_html(results: list[TargetResult], obj: str) -> str:
    """``check OBJ --btf ...``: a column per layout; a cell's reasons are the program's
    poisoned relocations (reachable ones make it refused) and libbpf's refusal."""
    columns, outcomes = [], []
    for r in results:
        columns.append({"label": r.target, "kernels": [r.target], "error": r.error, "kinds": [["", ""]]})
        lines = [r.error] if r.error else []
        lines += [f"{c.record.program}: insn {c.record.insn}: {c.record.reason}"
                  + ("" if c.reachable else " (unreachable: guarded)")
                  for c in r.relocations if c.record.result != "patched"]
        outcomes.append(({(obj, ""): r.programs}, {(obj, ""): lines}))
    return html.matrix_page(_model("check", f"{obj} on {len(results)} layout{'s' * (len(results) != 1)}",
                                   columns, outcomes, [obj]))


def layout_html(btf: Spec, names: list[str] | None, *, cacheline: int = 64) -> str:
    """``layout --format html``: the JSON document's types as byte maps."""
    doc = layoutcmd.layout(btf, names, cacheline=cacheline)
    return html.layout_page(doc, f"layout: {btf.path or 'BTF'}")


def _side(btf: Spec, tid: int) -> list[dict[str, Any]]:
    """A struct/union's fields as ``diff`` names them, with its holes and padding."""
    t = btf.type_by_id(tid)
    rows = [{"kind": "field", "name": f.name, "bit_offset": f.bit_offset, "bit_size": f.bit_size, "size": f.size,
             "type": f.type} for f in diffcmd._fields(btf, t)]
    g = gaps(t, btf)
    rows += [{"kind": "hole", "name": "", "bit_offset": h["offset"] * 8, "bit_size": 0, "size": h["size"], "type": ""}
             for h in g["holes"]]
    if g["padding"]:
        rows.append({"kind": "padding", "name": "", "bit_offset": (t.size - g["padding"]) * 8, "bit_size": 0,
                     "size": g["padding"], "type": ""})
    return sorted(rows, key=lambda r: r["bit_offset"])


def diff_html(old: Spec, new: Spec, diffs: list[diffcmd.TypeDiff], old_path: str, new_path: str) -> str:
    """``diff --format html`` of ``diffs`` (``diff.diff(old, new)``): the JSON document, and each
    changed struct/union's two layouts side by side."""
    doc = diffcmd.to_json(diffs, old_path, new_path)
    ids = [{(kind, name): tid for (kind, _), named in diffcmd._named(btf, None).items() for tid, name in named}
           for btf in (old, new)]
    sides = {}
    for i, d in enumerate(diffs):
        if d.kind != "enum" and d.old is not None and d.new is not None:
            sides[i] = (_side(old, ids[0][(d.kind, d.old)]), _side(new, ids[1][(d.kind, d.new)]))
    return html.diff_page(doc, sides, f"diff: {old_path} \u2192 {new_path}")
