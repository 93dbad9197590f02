"""The CO-RE driver (bpf_object__relocate_core + bpf_core_calc_relo_insn): every relocation
of every program against a target BTF, with libbpf's candidate cache and pruning and its
log lines.  Each relocation is first *decided* -- a ``RelocResult`` value, what to write
and why, recorded in a ``RelocationRecord`` -- then *applied* to the instruction, in
libbpf's order (decide, patch, next), so the log reads as libbpf's."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field, fields
from typing import Any

from ..btf.spec import Spec
from ..elf.bpfobj import BpfObject
from ..elf.insn import INSN_SIZE
from ..errors import BtfmetaError, IncompatibleError
from ..profiles import libbpf as libbpf_profiles
from ..profiles import select
from .access import TYPE_ID_LOCAL, TYPE_MATCHES, AccessSpec, format_spec, kind_name, parse_spec
from .btfutil import KIND_STR, CoreError, core_compatible_kinds, essential_len, essential_matches, get, kind, kind_str
from .calc import RelocResult, calc_relo
from .match import MatchFailed as _MatchFailed
from .match import spec_match
from .patch import Patcher

_UNSET: Any = type("_Unset", (), {"__repr__": lambda self: "UNSET"})()


@dataclass
class CandidateRecord:
    id: int
    name: str
    spec: str  # the candidate's access spec in libbpf's notation
    matches: bool


@dataclass
class RelocationRecord:
    """What happened to one relocation, for the report and ``check``.  Fields left UNSET
    did not apply (as_dict leaves them out), so the JSON keeps libbpf's narrative order."""

    program: str
    section: str
    relo: int  # index of the record in its section's CO-RE block
    insn: int  # instruction index within the program
    section_insn: int  # instruction index within the section
    kind: str
    log: list[str] = field(default_factory=list)  # this relocation's libbpf log lines ("WARN " marks warnings)
    local_spec: str = _UNSET
    access: str = _UNSET
    candidates: list[CandidateRecord] = _UNSET
    target_spec: str = _UNSET
    reason: str = _UNSET
    old_value: int = _UNSET
    new_value: int | None = _UNSET  # None: poisoned
    result: str = _UNSET  # patched, poisoned, error
    error: str = _UNSET  # errno name, for "error"
    target: AccessSpec | None = field(default=None, repr=False)  # the chosen target spec (not reported)

    def as_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is _UNSET or f.name == "target":
                continue
            out[f.name] = [vars(c) for c in value] if f.name == "candidates" else value
        return out

    def last_warning(self) -> str:
        warns = [line[5:] for line in self.log if line.startswith("WARN ")]
        return f" ({warns[-1]})" if warns else ""


class RelocationError(IncompatibleError):
    """libbpf would refuse to load the object (exit code 1); ``log`` says why."""

    def __init__(self, message: str, log: list[str], records: list[RelocationRecord]):
        super().__init__(message)
        self.log = log
        self.records = records

    @property
    def report(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.records]


@dataclass
class Candidate:
    id: int
    btf: Spec


@dataclass
class Outcome:
    """The log and records of a relocation run; the object's code sections are patched in place."""

    log: list[str] = field(default_factory=list)
    records: list[RelocationRecord] = field(default_factory=list)


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


def libbpf_profile(version: str | libbpf_profiles.Libbpf | None) -> libbpf_profiles.Libbpf:
    """The libbpf row for ``version`` ("1.1", "1.5.0", a row itself; None: the newest)."""
    if isinstance(version, libbpf_profiles.Libbpf):
        return version
    return select("libbpf", libbpf_profiles.PROFILES, version)


def errtext(profile: libbpf_profiles.Libbpf, err: int) -> str:
    """An errno as that libbpf's libbpf.c warnings print it: -22, or -EINVAL (1.6's errstr())."""
    if profile.symbolic_errno and -err in errno.errorcode:
        return "-" + errno.errorcode[-err]
    return str(err)


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
    for depth, layer in enumerate(target.layers()):
        if depth and out:
            break
        where = "vmlinux" if depth == 0 else _module_name(layer)
        for tid, tk, name in essential_matches(layer, lname[:n]):
            if not core_compatible_kinds(tk, lk):
                continue
            log(f"CO-RE relocating [{local_id}] {KIND_STR[lk]} {lname}: found target candidate [{tid}] "
                f"{KIND_STR[tk]} {name} in [{where}]")
            out.append(Candidate(tid, target))
    return out


def _module_name(btf: Spec) -> str:
    if not btf.path:
        return "module"
    name = btf.path.rstrip("/").rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".btf") else name


class _PatchFailed(CoreError):
    """Patching failed after a successful decision (libbpf's "failed to patch insn")."""


@dataclass
class _Run:
    """One relocation run: the object, its BTF, the target, libbpf's candidate cache."""

    obj: BpfObject
    target: Spec
    log: _Log
    profile: libbpf_profiles.Libbpf
    cache: dict[int, list[Candidate]] = field(default_factory=dict)


def relocate(obj: BpfObject, target: Spec, libbpf: str | libbpf_profiles.Libbpf | None = None) -> Outcome:
    """Relocate every CO-RE record of ``obj`` against ``target`` as libbpf ``libbpf`` does
    (a version or profile row; the newest when None), patching its code sections."""
    profile = libbpf_profile(libbpf)
    run = _Run(obj, target, _Log(), profile)
    records: list[RelocationRecord] = []
    ext = obj.btf_ext
    if ext is None or not ext.core_relo:
        return Outcome(run.log.lines, records)
    log = run.log
    check_records(obj)
    for block in ext.core_relo:
        sec_name = obj.btf.strings.get(block.sec_name_off)
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
            record = RelocationRecord(prog.name, sec_name, i, sidx - prog.start, sidx, kind_name(rec.kind))
            records.append(record)
            log.current = record.log
            try:
                res = decide(run, rec, i, prog.name, record)
                apply(Patcher(section.data, prog.start, prog.count, obj.big_endian, prog.name, log), record, res,
                      profile)
            except CoreError as exc:
                record.result = "error"
                record.error = _errname(exc.err)
                what = "failed to patch insn" if isinstance(exc, _PatchFailed) else "failed to relocate"
                if not isinstance(exc, _PatchFailed):
                    log(f"prog '{prog.name}': relo #{i}: failed to relocate: {errtext(profile, exc.err)}", warn=True)
                raise RelocationError(f"prog '{prog.name}': relo #{i}: {what}: {_errname(exc.err)}"
                                      + record.last_warning(), log.lines, records) from None
            finally:
                log.current = None
    return Outcome(log.lines, records)


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


def decide(run: _Run, rec, i: int, prog: str, record: RelocationRecord) -> RelocResult:
    """What relocation ``i`` (record ``rec`` of program ``prog``) should write, and why:
    candidate search, matching, libbpf's ambiguity rules (bpf_core_calc_relo_insn)."""
    local, log, profile = run.obj.btf, run.log, run.profile
    lt = get(local, rec.type_id)
    lname = lt.name if lt is not None else None
    if lname is None:
        raise CoreError(-errno.EINVAL)
    if rec.kind != TYPE_ID_LOCAL and rec.type_id not in run.cache:
        try:
            run.cache[rec.type_id] = find_candidates(local, rec.type_id, run.target, log)
        except CoreError as exc:
            log(f"prog '{prog}': relo #{i}: target candidate search failed for [{rec.type_id}] "
                f"{kind_str(lt)} {lname}: {errtext(profile, exc.err)}", warn=True)
            raise
    access = local.strings.get(rec.access_str_off)
    try:
        ls = parse_spec(local, rec.type_id, access or "", rec.kind, prog, log)
    except CoreError as exc:
        log(f"prog '{prog}': relo #{i}: parsing [{rec.type_id}] {kind_str(lt)} {lname or '<anon>'} + "
            f"{access if access is not None else '<?>'} failed: {exc.err}", warn=True)
        raise CoreError(-errno.EINVAL) from None
    record.local_spec = local_text = format_spec(ls)
    record.access = access
    log(f"prog '{prog}': relo #{i}: {local_text}")
    if rec.kind == TYPE_ID_LOCAL:
        return RelocResult(orig_val=rec.type_id, new_val=rec.type_id, validate=False)
    if not lname:
        log(f"prog '{prog}': relo #{i}: <{kind_name(rec.kind)}> ({rec.kind}) relocation doesn't support "
            "anonymous types", warn=True)
        raise CoreError(-errno.EOPNOTSUPP)
    cands = run.cache[rec.type_id]
    chosen: RelocResult | None = None
    chosen_spec: AccessSpec | None = None
    kept: list[Candidate] = []
    record.candidates = []
    insn_idx = rec.insn_off // INSN_SIZE
    for ci, cand in enumerate(cands):
        try:
            matches, ts = spec_match(ls, cand.btf, cand.id, log)
        except _MatchFailed as exc:
            log(f"prog '{prog}': relo #{i}: error matching candidate #{ci} {format_spec(exc.spec)}: {exc.err}",
                warn=True)
            raise CoreError(exc.err) from None
        text = format_spec(ts)
        record.candidates.append(CandidateRecord(cand.id, get(cand.btf, cand.id).name, text, matches))
        log(f"prog '{prog}': relo #{i}: {'matching' if matches else 'non-matching'} candidate #{ci} {text}")
        if not matches:
            continue
        res = calc_relo(ls, ts, rec.kind, prog, insn_idx, log, profile)
        if chosen is None:
            chosen, chosen_spec = res, ts
        elif ts.bit_offset != chosen_spec.bit_offset:
            log(f"prog '{prog}': relo #{i}: field offset ambiguity: {ts.bit_offset} != "
                f"{chosen_spec.bit_offset}", warn=True)
            raise CoreError(-errno.EINVAL)
        elif res.poison != chosen.poison or res.new_val != chosen.new_val:
            log(f"prog '{prog}': relo #{i}: relocation decision ambiguity: "
                f"{'failure' if res.poison else 'success'} {res.new_val} != "
                f"{'failure' if chosen.poison else 'success'} {chosen.new_val}", warn=True)
            raise CoreError(-errno.EINVAL)
        kept.append(cand)
    if kept:
        cands[:] = kept  # libbpf prunes the cached list to the candidates that matched
        record.target = chosen_spec
        record.target_spec = format_spec(chosen_spec)
        record.reason = f"matched {record.target_spec}"
    else:
        log(f"prog '{prog}': relo #{i}: no matching targets found")
        chosen = calc_relo(ls, None, rec.kind, prog, insn_idx, log, profile)
        if record.candidates:
            tried = "; ".join(f"{c.spec} does not match" for c in record.candidates)
            record.reason = f"no target candidate has {local_text}: {tried}"
        else:
            record.reason = f"the target has no {kind_str(lt)} named '{lname[:essential_len(lname)]}' (any flavor)"
    if chosen.fail_memsz_adjust and not chosen.poison:
        record.reason = (f"field size changes from {chosen.orig_sz} to {chosen.new_sz} bytes and is not a pointer or "
                         "unsigned integer on both sides, so the load cannot be resized")
    return chosen


def apply(patcher: Patcher, record: RelocationRecord, res: RelocResult, profile: libbpf_profiles.Libbpf) -> None:
    """Write a decision into its instruction (bpf_core_patch_insn)."""
    record.old_value = res.orig_val
    record.new_value = None if res.poison else res.new_val
    try:
        record.result = patcher.patch(record.relo, record.insn, res)
    except CoreError as exc:
        patcher.log(f"prog '{patcher.prog}': relo #{record.relo}: failed to patch insn #{record.insn}: "
                    f"{errtext(profile, exc.err)}", warn=True)
        raise _PatchFailed(exc.err) from None
