"""Self-contained HTML pages (issue 23): the fleet matrix, layout byte maps and layout diffs.

One file each, CSS, SVG and a little JavaScript inlined, nothing fetched, so that it opens
from ``file://`` and as a CI artifact.  The pages are drawn from the values the JSON
formats give (``layout --format json``, ``diff --format json``, the matrix model of
``commands/report.py``); this module only turns them into geometry and markup.  Every name
goes through jinja2's autoescaping (``*.html.j2``), and data for the script is JSON in a
``<script type="application/json">`` with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, so
a name holding ``</script>`` stays text.  Same input, same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from .templates import render

# Byte maps: pixels per byte, the left margin (row offsets), a leaf box's height, the label
# strip of an anonymous struct/union drawn around its members, the gap between rows.
BYTE_W, LEFT, TOP, LEAF_H, LABEL_H, ROW_GAP = 16, 64, 22, 32, 15, 10
CHAR_W = 6.7  # an 11px monospace character, to cut labels to their box
# Diff pictures: a member's row height, a column's width, the gap the connectors cross.
DIFF_ROW, DIFF_COL, DIFF_GAP, DIFF_TOP = 22, 430, 170, 26

_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: Any) -> Markup:
    """``value`` as JSON that is safe inside ``<script type="application/json">``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup("".join(_JS_ESCAPES.get(ch, ch) for ch in text))


def fit(text: str, width: float) -> str:
    """``text`` cut (with an ellipsis) to what fits in ``width`` pixels; '' if nothing does."""
    n = int((width - 4) // CHAR_W)
    if n >= len(text):
        return text
    return text[:n - 1] + "\u2026" if n >= 2 else ""


# --- the fleet matrix ---------------------------------------------------------------------

# verdict letter -> its glyph (a shape as well as a colour) and its word
VERDICTS = {"o": ("\u2713", "ok"), "g": ("\u25d0", "guarded"), "r": ("\u2715", "refused"), "e": ("!", "error"),
            "-": ("\u00b7", "not checked")}
_CELLS = {code: f"<td class=v{code}>" for code in VERDICTS}  # the end tag is optional


def cells(codes: str) -> Markup:
    """A matrix row's cells (tens of thousands of them: markup made here, not in the template).
    A cell's shape is its class's background image, not text: 84,000 cells of text take the
    browser three times as long to lay out; its word is in the legend, its tooltip and, once
    focused, its aria-label."""
    return Markup("".join(_CELLS[code] for code in codes))


def matrix_page(model: dict[str, Any]) -> str:
    """The programs x columns page of ``model`` (``commands.report``'s matrix model)."""
    return render("matrix.html.j2", m=model, data=script_json(model), cells=cells, verdicts=VERDICTS)


# --- layout byte maps ---------------------------------------------------------------------

@dataclass
class Box:
    """A member drawn as a box: bits [start, end) of the outermost type, ``y`` from the top
    of its row band, and the anonymous type's members drawn inside it."""

    member: dict[str, Any]
    start: int
    end: int
    height: int = LEAF_H
    y: int = 0
    children: list[Box] = field(default_factory=list)
    segments: list[dict[str, float]] = field(default_factory=list)
    label: dict[str, Any] | None = None
    more: list[dict[str, Any]] = field(default_factory=list)  # the name again on its other rows

    @property
    def bitfield(self) -> bool:
        return bool(self.member["bit_size"])


def _measure(members: list[dict[str, Any]]) -> tuple[list[Box], int]:
    """Boxes for ``members``, stacked in lanes where they overlap (a union's members), and
    the height they take."""
    boxes, lanes = [], []  # lanes: [end bit, height]
    for m in members:
        start = m["bit_offset"]
        box = Box(m, start, start + (m["bit_size"] or m["size"] * 8))
        if m["members"]:
            box.children, inner = _measure(m["members"])
            box.height = LABEL_H + inner + 3
        lane = next((i for i, (end, _) in enumerate(lanes) if end <= box.start), None)
        if lane is None:
            lanes.append([box.end, box.height])
            lane = len(lanes) - 1
        lanes[lane] = [max(lanes[lane][0], box.end), max(lanes[lane][1], box.height)]
        box.y = lane  # the lane index until the lanes' heights are known
        boxes.append(box)
    tops = [sum(h for _, h in lanes[:i]) for i in range(len(lanes))]
    for box in boxes:
        box.y = tops[box.y]
    return boxes, sum(h for _, h in lanes)


def _segments(start: int, end: int, row_bits: int, last_row: int) -> list[tuple[int, float, float]]:
    """(row, x, width) pieces of bits [start, end) on rows of ``row_bits`` bits; a zero-size
    member is a thin mark."""
    if end == start:
        row = min(start // row_bits, last_row)
        return [(row, LEFT + (start - row * row_bits) * BYTE_W / 8, 0)]
    out = []
    for row in range(start // row_bits, (end - 1) // row_bits + 1):
        lo, hi = max(start, row * row_bits), min(end, (row + 1) * row_bits)
        out.append((row, LEFT + (lo - row * row_bits) * BYTE_W / 8, (hi - lo) * BYTE_W / 8))
    return out


def _place(box: Box, y0: int, rows_y: list[int], row_bits: int, last_row: int) -> None:
    """Absolute geometry of ``box`` (``y0 + box.y`` below its rows' tops) and its label."""
    top = y0 + box.y
    box.segments = [{"x": x, "y": rows_y[row] + top, "w": w, "h": box.height}
                    for row, x, w in _segments(box.start, box.end, row_bits, last_row)]
    first = box.segments[0]  # labelled where the member starts, unless that piece is too narrow
    widest = first if first["w"] >= 8 * BYTE_W else max(box.segments, key=lambda s: s["w"])
    m = box.member
    name = m["name"] or m["type"]
    if box.children:
        text = fit(f"{name} @{m['offset']} ({m['size']})", widest["w"])
        box.label = {"x": widest["x"] + 3, "y": widest["y"] + 11, "lines": [text] if text else []}
    else:
        size = f":{m['bit_size']}" if box.bitfield else f"{m['size']}B"
        lines = [fit(name, widest["w"]), fit(f"@{m['offset']} {size}", widest["w"])]
        box.label = {"x": widest["x"] + 3, "y": widest["y"] + 13, "lines": [t for t in lines if t]}
    box.more = [{"x": seg["x"] + 3, "y": seg["y"] + 13, "text": text} for seg in box.segments
                if seg is not widest and not box.children and (text := fit("\u2026" + name, seg["w"]))]
    for child in box.children:
        _place(child, top + LABEL_H, rows_y, row_bits, last_row)


def byte_map(t: dict[str, Any], cacheline: int) -> dict[str, Any]:
    """The picture of one struct/union of ``layout --format json``: rows of ``cacheline``
    bytes (each as tall as its tallest box), boxes for members (bit-fields to the bit),
    holes and padding."""
    row_bits = cacheline * 8
    rows = max(1, -(-t["size"] // cacheline))
    boxes, _ = _measure(t["members"])
    heights = [LEAF_H] * rows
    for box in boxes:
        for row, _, _ in _segments(box.start, box.end, row_bits, rows - 1):
            heights[row] = max(heights[row], box.y + box.height)
    rows_y = [TOP + sum(heights[:r]) + r * ROW_GAP for r in range(rows)]
    for box in boxes:
        _place(box, 0, rows_y, row_bits, rows - 1)
    gaps = [("hole", h["offset"] * 8, (h["offset"] + h["size"]) * 8) for h in t["holes"]]
    gaps += [("hole bits", b["bit_offset"], b["bit_offset"] + b["bits"]) for b in t["bit_holes"]]
    if t["padding"]:
        gaps.append(("padding", (t["size"] - t["padding"]) * 8, t["size"] * 8))
    gap_rects = [{"kind": kind, "offset": lo // 8, "bit_offset": lo, "bits": hi - lo,
                  "segments": [{"x": x, "y": rows_y[row], "w": w, "h": heights[row]}
                               for row, x, w in _segments(lo, hi, row_bits, rows - 1)]}
                 for kind, lo, hi in gaps]
    row_rects = [{"y": rows_y[r], "h": heights[r], "offset": r * cacheline,
                  "w": min(cacheline, t["size"] - r * cacheline) * BYTE_W} for r in range(rows)]
    ticks = [{"x": LEFT + b * BYTE_W, "label": b} for b in range(0, cacheline, 8)]
    return {"type": t, "boxes": boxes, "gaps": gap_rects, "rows": row_rects, "ticks": ticks,
            "width": LEFT + cacheline * BYTE_W + 8, "height": rows_y[-1] + heights[-1] + 4}


def flat_members(members: list[dict[str, Any]], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    """(depth, member) in order, nested members after their parent: the table beside a map."""
    out = []
    for m in members:
        out.append((depth, m))
        out += flat_members(m["members"], depth + 1)
    return out


def layout_page(doc: dict[str, Any], title: str) -> str:
    """Every type of a ``layout --format json`` document as a byte map and a member table."""
    maps = [byte_map(t, doc["cacheline"]) for t in doc["types"]]
    return render("layout.html.j2", title=title, doc=doc, maps=maps, flat_members=flat_members, byte_w=BYTE_W,
                  left=LEFT)


# --- layout diffs -------------------------------------------------------------------------

def _column(fields: list[dict[str, Any]], changes: dict[str, list[str]], x: float) -> list[dict[str, Any]]:
    """One side of a diff picture: a row per field (and hole), its text cut to the column."""
    rows = []
    for i, f in enumerate(fields):
        where = f"@{f['bit_offset'] // 8}" + (f":{f['bit_offset'] % 8}" if f["bit_offset"] % 8 else "")
        size = f":{f['bit_size']}" if f.get("bit_size") else f"{f['size']}B"
        kinds = changes.get(f["name"], []) if f["kind"] == "field" else []
        right = f"{where} {size}"
        indent = f["name"].count(".") * 12 if f["kind"] == "field" else 0
        room = DIFF_COL - indent - (len(right) + 2) * CHAR_W - 8
        label = f["name"] if f["kind"] == "field" else f"{f['kind']} ({f['size']} bytes)"
        rows.append({**f, "x": x, "y": DIFF_TOP + i * DIFF_ROW, "changes": kinds, "right": right,
                     "text": fit(label + ("  " + f["type"] if f.get("type") else ""), room) or fit(label, room),
                     "indent": indent})
    return rows


def diff_page(doc: dict[str, Any], sides: dict[int, tuple[list[dict], list[dict]]], title: str) -> str:
    """``diff --format json``'s ``doc`` drawn: for each changed struct/union whose both sides
    ``sides`` holds (index in ``doc["types"]`` -> old and new fields, as ``diff`` names
    them, with holes), the two layouts side by side, each field joined to itself."""
    pictures = {}
    for i, (old, new) in sides.items():
        changes: dict[str, list[str]] = {}
        for c in doc["types"][i]["changes"]:
            if "field" in c:
                changes.setdefault(c["field"], []).append(c["change"])
            if c["change"] == "renamed":
                changes.setdefault(c["new_name"], []).append("renamed")
        renamed = {c["field"]: c["new_name"] for c in doc["types"][i]["changes"] if c["change"] == "renamed"}
        left, right = _column(old, changes, 0), _column(new, changes, DIFF_COL + DIFF_GAP)
        by_name = {r["name"]: r for r in right if r["kind"] == "field"}
        links = []
        for r in left:
            other = by_name.get(renamed.get(r["name"], r["name"])) if r["kind"] == "field" else None
            if other is not None:
                y1, y2 = r["y"] + DIFF_ROW / 2 - 1, other["y"] + DIFF_ROW / 2 - 1
                x1, x2 = DIFF_COL, DIFF_COL + DIFF_GAP
                mid = (x1 + x2) / 2
                links.append({"field": r["name"], "changes": sorted(set(r["changes"]) | set(other["changes"])),
                              "d": f"M{x1} {y1:g} C{mid:g} {y1:g} {mid:g} {y2:g} {x2} {y2:g}"})
        pictures[i] = {"left": left, "right": right, "links": links, "width": 2 * DIFF_COL + DIFF_GAP,
                       "height": DIFF_TOP + max(len(left), len(right), 1) * DIFF_ROW + 4}
    return render("diff.html.j2", title=title, doc=doc, pictures=pictures, col=DIFF_COL, gap=DIFF_GAP,
                  row=DIFF_ROW)
