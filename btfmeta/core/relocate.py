"""The CO-RE driver (bpf_object__relocate_core + bpf_core_calc_relo_insn): every
relocation of every program against a target BTF, with libbpf's candidate cache and
pruning, its log lines, and one report entry per relocation."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import Any

from ..btf.spec import Spec
from ..elf.bpfobj import BpfObject
from ..elf.insn import INSN_SIZE
from ..errors import BtfmetaError, IncompatibleError
from .btfutil import KIND_STR, CoreError, core_compatible_kinds, essential_index, essential_len, get, kind, kind_str
from .calc import RelocResult, calc_relo
from .match import spec_match
from .patch import Patcher
from .spec import TYPE_ID_LOCAL, TYPE_MATCHES, CoreSpec, format_spec, kind_name, parse_spec


class RelocationError(IncompatibleError):
    """libbpf would refuse to load the object (exit code 1); ``log`` says why."""

    def __init__(self, message: str, log: list[str], report: list[dict]):
        super().__init__(message)
        self.log = log
        self.report = report


@dataclass
class Candidate:
    id: int
    spec: Spec


@dataclass
class Outcome:
    """The log and report of a relocation run; the object's code sections are patched in place."""

    log: list[str] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] | None = None

    def __call__(self, line: str, *, warn: bool = False) -> None:
        self.lines.append(line)
        if self.current is not None:
            self.current.append(("WARN " if warn else "") + line)


def _errname(err: int) -> str:
    return errno.errorcode.get(-err, str(err))


def find_candidates(local: Spec, local_id: int, target: Spec, log) -> list[Candidate]:
    """``bpf_core_find_cands``: same kind (ENUM and ENUM64 alike), same essential name,
    ids ascending; the base ("vmlinux") first and split BTF ("modules") only if it had none."""
    lt = get(local, local_id)
    lname = lt.name
    n = essential_len(lname)
    if n == 0:
        raise CoreError(-errno.EINVAL)
    lk = kind(lt)
    out: list[Candidate] = []
    for depth, space in enumerate(target.layers()):
        if depth and out:
            break
        where = "vmlinux" if depth == 0 else _module_name(space)
        for tid, tk, name in essential_index(space).get(lname[:n], []):
            if not core_compatible_kinds(tk, lk):
                continue
            log(f"CO-RE relocating [{local_id}] {KIND_STR[lk]} {lname}: found target candidate [{tid}] "
                f"{KIND_STR[tk]} {name} in [{where}]")
            out.append(Candidate(tid, target))
    return out


def _module_name(spec: Spec) -> str:
    if not spec.path:
        return "module"
    name = spec.path.rstrip("/").rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".btf") else name


def relocate(obj: BpfObject, target: Spec) -> Outcome:
    """Relocate every CO-RE record of ``obj`` against ``target``; patched object bytes."""
    log = _Log()
    report: list[dict[str, Any]] = []
    ext = obj.btf_ext
    if ext is None or not ext.core_relo:
        return Outcome(log.lines, report)
    local = obj.btf
    check_records(obj)
    cache: dict[int, list[Candidate]] = {}
    for block in ext.core_relo:
        sec_name = local.strings.get(block.sec_name_off)
        if not sec_name:
            raise BtfmetaError(f".BTF.ext: CO-RE block names no section (string offset {block.sec_name_off})",
                               path=obj.path)
        log(f"sec '{sec_name}': found {len(block.records)} CO-RE relocations")
        section = obj.sections.get(sec_name)
        for i, rec in enumerate(block.records):
            if rec.insn_off % INSN_SIZE:
                raise BtfmetaError(f".BTF.ext: CO-RE record {i} of '{sec_name}' has insn_off {rec.insn_off}, "
                                   "not a multiple of 8", path=obj.path)
            sidx = rec.insn_off // INSN_SIZE
            prog = obj.program_at(sec_name, sidx)
            if prog is None:
                if section is None or sidx * INSN_SIZE >= len(section.data):
                    raise BtfmetaError(f".BTF.ext: CO-RE record {i} of '{sec_name}' points at instruction {sidx}, "
                                       "outside every program", path=obj.path)
                log(f"sec '{sec_name}': skipping CO-RE relocation #{i} for insn #{sidx} belonging to eliminated "
                    "weak subprogram")
                continue
            idx = sidx - prog.start
            entry: dict[str, Any] = {"program": prog.name, "section": sec_name, "relo": i, "insn": idx,
                                     "section_insn": sidx, "kind": kind_name(rec.kind), "log": []}
            report.append(entry)
            log.current = entry["log"]
            try:
                _one(obj, local, target, cache, rec, i, prog, idx, section, entry, log)
            except CoreError as exc:
                entry["result"] = "error"
                entry["error"] = _errname(exc.err)
                what = "failed to patch insn" if isinstance(exc, _PatchFailed) else "failed to relocate"
                if not isinstance(exc, _PatchFailed):
                    log(f"prog '{prog.name}': relo #{i}: failed to relocate: {exc.err}", warn=True)
                raise RelocationError(f"prog '{prog.name}': relo #{i}: {what}: {_errname(exc.err)}"
                                      + _last_warning(entry), log.lines, report) from None
            finally:
                log.current = None
    return Outcome(log.lines, report)


def check_records(obj: BpfObject) -> None:
    """Malformed CO-RE records are bad input (exit 2), not a relocation that libbpf refuses."""
    local = obj.btf
    for block in obj.btf_ext.core_relo:
        where = f".BTF.ext CO-RE block for string offset {block.sec_name_off}"
        if local.strings.get(block.sec_name_off) is None:
            raise BtfmetaError(f"{where}: section name offset out of range", path=obj.path)
        for i, rec in enumerate(block.records):
            if not 0 <= rec.type_id < local.type_cnt:
                raise BtfmetaError(f"{where}, record {i}: type id {rec.type_id} out of range "
                                   f"(type count {local.type_cnt})", path=obj.path)
            if local.strings.get(rec.access_str_off) is None:
                raise BtfmetaError(f"{where}, record {i}: access string offset {rec.access_str_off} out of range",
                                   path=obj.path)
            if rec.kind > TYPE_MATCHES:
                raise BtfmetaError(f"{where}, record {i}: unknown CO-RE relocation kind {rec.kind}", path=obj.path)


def _last_warning(entry: dict) -> str:
    warns = [line[5:] for line in entry["log"] if line.startswith("WARN ")]
    return f" ({warns[-1]})" if warns else ""


def _one(obj: BpfObject, local: Spec, target: Spec, cache: dict, rec, i: int, prog, idx: int, section,
         entry: dict, log: _Log) -> None:
    lt = get(local, rec.type_id)
    lname = lt.name if lt is not None else None
    if lname is None:
        raise CoreError(-errno.EINVAL)
    if rec.kind != TYPE_ID_LOCAL and rec.type_id not in cache:
        try:
            cache[rec.type_id] = find_candidates(local, rec.type_id, target, log)
        except CoreError as exc:
            log(f"prog '{prog.name}': relo #{i}: target candidate search failed for [{rec.type_id}] "
                f"{kind_str(lt)} {lname}: {exc.err}", warn=True)
            raise
    access = local.strings.get(rec.access_str_off)
    try:
        ls = parse_spec(local, rec.type_id, access or "", rec.kind, prog.name, log)
    except CoreError as exc:
        log(f"prog '{prog.name}': relo #{i}: parsing [{rec.type_id}] {kind_str(lt)} {lname or '<anon>'} + "
            f"{access if access is not None else '<?>'} failed: {exc.err}", warn=True)
        raise CoreError(-errno.EINVAL) from None
    local_text = format_spec(ls)
    entry["local_spec"] = local_text
    entry["access"] = access
    log(f"prog '{prog.name}': relo #{i}: {local_text}")
    patcher = Patcher(section.data, prog.start, prog.count, obj.big_endian, prog.name, log)
    if rec.kind == TYPE_ID_LOCAL:
        res = RelocResult(orig_val=rec.type_id, new_val=rec.type_id, validate=False)
        _apply(patcher, i, idx, res, prog, entry)
        return
    if not lname:
        log(f"prog '{prog.name}': relo #{i}: <{kind_name(rec.kind)}> ({rec.kind}) relocation doesn't support "
            "anonymous types", warn=True)
        raise CoreError(-errno.EOPNOTSUPP)
    cands = cache[rec.type_id]
    chosen: RelocResult | None = None
    chosen_spec: CoreSpec | None = None
    kept: list[Candidate] = []
    entry["candidates"] = []
    for ci, cand in enumerate(cands):
        r, ts = spec_match(ls, cand.spec, cand.id, log)
        text = format_spec(ts)
        entry["candidates"].append({"id": cand.id, "name": get(cand.spec, cand.id).name,
                                    "spec": text, "matches": r > 0})
        if r < 0:
            log(f"prog '{prog.name}': relo #{i}: error matching candidate #{ci} {text}: {r}", warn=True)
            raise CoreError(r)
        log(f"prog '{prog.name}': relo #{i}: {'matching' if r else 'non-matching'} candidate #{ci} {text}")
        if r == 0:
            continue
        res = calc_relo(ls, ts, rec.kind, prog.name, rec.insn_off // INSN_SIZE, log)
        if chosen is None:
            chosen, chosen_spec = res, ts
        elif ts.bit_offset != chosen_spec.bit_offset:
            log(f"prog '{prog.name}': relo #{i}: field offset ambiguity: {ts.bit_offset} != "
                f"{chosen_spec.bit_offset}", warn=True)
            raise CoreError(-errno.EINVAL)
        elif res.poison != chosen.poison or res.new_val != chosen.new_val:
            log(f"prog '{prog.name}': relo #{i}: relocation decision ambiguity: "
                f"{'failure' if res.poison else 'success'} {res.new_val} != "
                f"{'failure' if chosen.poison else 'success'} {chosen.new_val}", warn=True)
            raise CoreError(-errno.EINVAL)
        kept.append(cand)
    if kept:
        cands[:] = kept  # libbpf prunes the cached list to the candidates that matched
        entry["target_spec"] = format_spec(chosen_spec)
        entry["reason"] = f"matched {entry['target_spec']}"
    else:
        log(f"prog '{prog.name}': relo #{i}: no matching targets found")
        chosen = calc_relo(ls, None, rec.kind, prog.name, rec.insn_off // INSN_SIZE, log)
        if entry["candidates"]:
            tried = "; ".join(f"{c['spec']} does not match" for c in entry["candidates"])
            entry["reason"] = f"no target candidate has {local_text}: {tried}"
        else:
            entry["reason"] = f"the target has no {kind_str(lt)} named '{lname[:essential_len(lname)]}' (any flavor)"
    if chosen.fail_memsz_adjust and not chosen.poison:
        entry["reason"] = (f"field size changes from {chosen.orig_sz} to {chosen.new_sz} bytes and is not a pointer or "
                           "unsigned integer on both sides, so the load cannot be resized")
    _apply(patcher, i, idx, chosen, prog, entry)


class _PatchFailed(CoreError):
    """Patching failed after a successful resolution (libbpf's "failed to patch insn")."""


def _apply(patcher: Patcher, i: int, idx: int, res: RelocResult, prog, entry: dict) -> None:
    entry["old_value"] = res.orig_val
    entry["new_value"] = None if res.poison else res.new_val
    try:
        entry["result"] = patcher.patch(i, idx, res)
    except CoreError as exc:
        patcher.log(f"prog '{prog.name}': relo #{i}: failed to patch insn #{idx}: {exc.err}", warn=True)
        raise _PatchFailed(exc.err) from None
