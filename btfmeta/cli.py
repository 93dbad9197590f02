"""The ``btfmeta`` command: a thin click shell over the library.

Every failure the library reports becomes one line on stderr,
``btfmeta: error: <file>: <what> (at byte N)``, and its exit code (2 for bad
input, 1 for an incompatible target); nothing is written on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click

from .errors import BtfmetaError, PositionedError
from .fileio import read_bytes, write_output

# Each command imports what only it needs (the BTF model, the C front end, CO-RE, jinja2)
# when it runs, so that `btfmeta --version` or `btf dump` pay only for what they use.


def load_spec(path, **kw):
    from .btf.load import load_spec as load

    return load(path, **kw)


def load_with_base(path, base=None):
    from .btf.load import load_with_base as load

    return load(path, base)


def _out(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="btfmeta", prog_name="btfmeta")  # the installed metadata, read when asked
def cli() -> None:
    """Compile NIC metadata layouts to BTF and relocate BPF programs against them."""


@cli.group()
def btf() -> None:
    """Read, write and dump BTF (raw files, ELF .BTF, split BTF on a base)."""


_PATH = click.Path(dir_okay=False, allow_dash=True)  # '-': standard input or output
_base_option = click.option("--base", "-B", "base", type=_PATH,
                            help="Base BTF for split BTF (default for /sys/kernel/btf/<module>: vmlinux).")


@btf.command("dump")
@click.argument("file", type=_PATH)
@_base_option
@click.option("--format", "fmt", type=click.Choice(["raw", "json", "c"]), default="raw", show_default=True)
@click.option("--type", "selector", metavar="NAME_OR_ID",
              help="Dump only this type: an id, a name, or 'struct NAME'.")
@click.option("--bpftool", "bpftool_version", metavar="VERSION",
              help="Print as this bpftool does: 7.1, 7.5 or 7.8 (default: the newest).")
@click.option("--unsorted", is_flag=True, help="format c in id order (bpftool >= 7.5's `format c unsorted`).")
def btf_dump(file: str, base: str | None, fmt: str, selector: str | None, bpftool_version: str | None,
             unsorted: bool) -> None:
    """Dump FILE's types as `bpftool btf dump file FILE [format c]` does (-j for json)."""
    from .profiles import bpftool as bpftool_profiles
    from .profiles import select as select_profile
    from .render import bpftool
    from .render.c_dump import dump_c

    profile = select_profile("bpftool", bpftool_profiles.PROFILES, bpftool_version)
    spec = load_with_base(file, base)
    ids = bpftool.resolve_selection(spec, selector)
    if fmt == "c":
        parts: list[str] = []  # the whole C dump of split BTF includes its base's types too
        dump_c(spec, None if selector is None else ids, parts.append, profile, unsorted=unsorted)
        _out("".join(parts))
    elif fmt == "json":
        _out(json.dumps(bpftool.json_dump(spec, ids), ensure_ascii=False, separators=(",", ":")) + "\n")
    else:
        _out("".join(bpftool.raw_dump(spec, ids)))


@btf.command("copy")
@click.argument("file", type=_PATH)
@click.option("-o", "--output", required=True, type=_PATH, help="Raw BTF to write.")
@_base_option
@click.option("--endian", type=click.Choice(["little", "big"]),
              help="Byte order to write (default: as read).")
def btf_copy(file: str, output: str, base: str | None, endian: str | None) -> None:
    """Read FILE (raw BTF or ELF .BTF) and write it as raw BTF, re-encoded."""
    spec = load_with_base(file, base)
    write_output(output, spec.to_bytes(byteorder=endian))


@btf.command("distill")
@click.argument("file", type=_PATH)
@click.option("--base", "-B", "base", required=True, type=_PATH, help="The base FILE is split on (vmlinux).")
@click.option("-o", "--output", type=_PATH, help="ELF object to write, holding .BTF and .BTF.base.")
@click.option("--raw-base", type=_PATH, help="Raw distilled base BTF to write.")
@click.option("--raw-split", type=_PATH, help="Raw split BTF (on the distilled base) to write.")
def btf_distill(file: str, base: str, output: str | None, raw_base: str | None, raw_split: str | None) -> None:
    """Distill FILE's base, as libbpf's btf__distill_base (what an out-of-tree module carries)."""
    from .btf.distill import distill, distilled_object

    if (output is None) == (raw_base is None and raw_split is None) or (raw_base is None) != (raw_split is None):
        raise click.UsageError("give -o OUT, or both --raw-base and --raw-split")
    spec = load_spec(file, base=load_spec(base))
    if output is not None:
        write_output(output, distilled_object(spec))
    else:
        dist, split = distill(spec)
        write_output(raw_base, dist.to_bytes())
        write_output(raw_split, split.to_bytes())


@btf.command("relocate")
@click.argument("file", type=_PATH)
@click.option("--base", "-B", "base", required=True, type=_PATH, help="The base to relocate onto (vmlinux).")
@click.option("-o", "--output", required=True, type=_PATH, help="Raw split BTF to write (on BASE).")
@click.option("--distilled-base", type=_PATH, help="FILE's distilled base, when FILE is raw split BTF.")
@click.option("--map", "map_out", type=_PATH, help="Write the id map (JSON: old id -> new id) to this file.")
@click.option("--libbpf", "libbpf", metavar="VERSION", help="libbpf whose rules apply (1.5, 1.7; default newest).")
def btf_relocate(file: str, base: str, output: str, distilled_base: str | None, map_out: str | None,
                 libbpf: str | None) -> None:
    """Move FILE's split BTF from its distilled base (.BTF.base) onto BASE, as libbpf's btf__relocate."""
    from .btf.load import load_distilled
    from .btf.rebase import relocate_split

    if output == "-" and map_out == "-":
        raise click.UsageError("-o - and --map - both want standard output")
    raw, id_map = relocate_split(load_distilled(file, distilled_base), load_spec(base), libbpf=libbpf)
    if map_out is not None:
        write_output(map_out, _json({"version": 1, "id_map": id_map}).encode())
    write_output(output, raw)


@cli.command("compile")
@click.argument("headers", nargs=-1, required=True, type=_PATH)
@click.option("-o", "--output", required=True, type=_PATH, help="BTF file to write.")
@_base_option
@click.option("-I", "include_dirs", multiple=True, metavar="DIR", help="Add DIR to the include search path.")
@click.option("-D", "defines", multiple=True, metavar="NAME[=VALUE]", help="Define a macro.")
@click.option("--target", type=click.Choice(["bpf", "bpfel", "bpfeb"]), default="bpf", show_default=True,
              help="bpf/bpfel: little-endian BTF, bpfeb: big-endian (layouts are the same).")
@click.option("-nostdinc", "--nostdinc", "nostdinc", is_flag=True,
              help="Do not search /usr/local/include and /usr/include (clang's -nostdinc).")
@click.option("--distill", is_flag=True,
              help="With --base: write an ELF object with .BTF and its distilled base .BTF.base (resilient "
                   "split BTF, as an out-of-tree module carries it).")
def compile_cmd(headers: tuple[str, ...], output: str, base: str | None, include_dirs: tuple[str, ...],
                defines: tuple[str, ...], target: str, nostdinc: bool, distill: bool) -> None:
    """Compile C HEADERS (one translation unit) to BTF, as clang-19 -g -target bpf would."""
    from .cfront.compile import compile_headers

    if distill and not base:
        raise click.UsageError("--distill needs --base")
    base_spec = load_spec(base) if base else None
    macros = dict(([*d.split("=", 1), "1"])[:2] for d in defines)
    spec = compile_headers(list(headers), include_dirs=include_dirs, defines=macros, target=target,
                           base=base_spec, system_includes=not nostdinc)
    if distill:
        from .btf.distill import distilled_object

        write_output(output, distilled_object(spec))
    else:
        write_output(output, spec.to_bytes())


def _libbpf_option(f):
    """--libbpf VERSION: whose CO-RE decisions, refusals and log lines to follow."""
    from .profiles import newest
    from .profiles.libbpf import PROFILES

    return click.option("--libbpf", type=click.Choice(list(PROFILES)), default=None,
                        help="Follow this libbpf's CO-RE decisions and log lines (default: the newest, "
                        f"{newest(PROFILES)}).")(f)


def _target_btf(btf: str | None, base: str | None, module: str | None, nic: str | None):
    """The target BTF and its name from --btf/--base, --module NAME, or --nic IFACE (its
    driver's BTF): the loader's ``Target`` constructors."""
    from .loader import Target

    if len([x for x in (btf, module, nic) if x]) != 1:
        raise click.UsageError("give exactly one of --btf, --module, --nic")
    target = Target.from_files(btf, base) if btf else Target.from_module(module, base=base) if module \
        else Target.from_nic(nic, base=base)
    return target.spec, target.name


@cli.command("relocate")
@click.argument("obj", type=_PATH)
@click.option("--btf", "btf", type=_PATH, help="Target BTF: raw, split (with --base) or ELF.")
@_base_option
@click.option("--module", help="Target /sys/kernel/btf/MODULE (on /sys/kernel/btf/vmlinux).")
@click.option("--nic", help="Target the BTF of the driver module behind network interface NIC.")
@click.option("-o", "--output", required=True, type=_PATH, help="Patched object to write.")
@click.option("--report", "report", type=_PATH,
              help="Write a JSON report of every relocation to FILE ('-': stdout).")
@click.option("--watch", is_flag=True,
              help="Keep OUTPUT relocated against the target's current BTF (polling it) until SIGINT/SIGTERM.")
@click.option("--exec", "exec_cmd", metavar="'CMD {out}'", help="With --watch: run CMD after each new OUTPUT.")
@click.option("--interval", type=click.FloatRange(0.01), default=1.0, show_default=True,
              help="With --watch: seconds between polls.")
@click.option("--remove-on-refusal", is_flag=True, help="With --watch: remove OUTPUT when a program is refused.")
@_libbpf_option
def relocate_cmd(obj: str, btf: str | None, base: str | None, module: str | None, nic: str | None, output: str,
                 report: str | None, watch: bool, exec_cmd: str | None, interval: float,
                 remove_on_refusal: bool, libbpf: str | None) -> None:
    """Apply OBJ's CO-RE relocations against a target BTF, as libbpf (--libbpf) would, and
    write the patched object (applied records removed from .BTF.ext)."""
    from .relocate import RelocationError, relocate_object, report_json

    if output == "-" and report == "-":
        raise click.UsageError("-o - and --report - both want standard output")
    if watch:
        raise click.exceptions.Exit(_watch(obj, btf, base, module, nic, output, exec_cmd, interval,
                                           remove_on_refusal, report, libbpf))
    if exec_cmd or remove_on_refusal:
        raise click.UsageError("--exec and --remove-on-refusal go with --watch")
    target, target_name = _target_btf(btf, base, module, nic)
    try:
        result = relocate_object(read_bytes(obj), target, path=obj, libbpf=libbpf)
    except RelocationError as exc:
        if report:
            _write_report(report, report_json(exc, obj=obj, target=target_name))
        raise
    from .core.minimize import type_id_warnings

    warnings = type_id_warnings(target, result.records)
    for w in warnings:
        click.echo(f"btfmeta: warning: {obj}: {w}", err=True)
    if report:
        _write_report(report, {**report_json(result, obj=obj, target=target_name), "warnings": warnings})
    write_output(output, result.data)


def _json(doc: dict) -> str:
    return json.dumps(doc, indent=2) + "\n"


def _watch(obj: str, btf: str | None, base: str | None, module: str | None, nic: str | None, output: str,
           exec_cmd: str | None, interval: float, remove_on_refusal: bool, report: str | None,
           libbpf: str | None) -> int:
    from .btf.kernel import check_interface_name
    from .elf.bpfobj import BpfObject
    from .loader import Files, Module, Nic, follow

    if len([x for x in (btf, module, nic) if x]) != 1:
        raise click.UsageError("give exactly one of --btf, --module, --nic")
    if output == "-" or report:
        raise click.UsageError("--watch writes OUTPUT as a file, and no --report")
    data = read_bytes(obj)
    BpfObject.parse(data, path=obj)  # bad input is refused before watching
    source = Files(btf, base) if btf else Module(module) if module else Nic(check_interface_name(nic))
    return follow.run(source, obj, data, output, exec_cmd=exec_cmd, interval=interval,
                     remove_on_refusal=remove_on_refusal, log=lambda line: click.echo(line, err=True), libbpf=libbpf)


def _write_report(dest: str, doc: dict) -> None:
    write_output(dest, _json(doc).encode())


def _fleet_options(modules_help: str):
    """--fleet, --modules, -j, --scheduler, --dask: the options of a command over a fleet."""
    options = [
        click.option("--fleet", type=click.Path(), help="Every kernel under DIR (BTFHub layout) or in a list file."),
        click.option("--modules", multiple=True, metavar="NAME",
                     help=f"With --fleet: {modules_help} (repeat; 'all' for every one)."),
        click.option("-j", "--jobs", type=click.IntRange(1), default=1, show_default=True,
                     help="With --fleet: kernels done by N local processes."),
        click.option("--scheduler", metavar="ADDRESS", help="With --fleet: run on the Dask cluster at ADDRESS."),
        click.option("--dask", "dask_local", metavar="local:N",
                     help="With --fleet: run on a Dask cluster of N local workers."),
    ]

    def apply(f):
        for option in reversed(options):
            f = option(f)
        return f
    return apply


def _read_objects(paths: tuple[str, ...]) -> dict[str, bytes]:
    """The objects' bytes by path, each parsed once so that bad input is refused up front."""
    from .elf.bpfobj import BpfObject

    objects = {}
    for path in paths:
        objects[path] = read_bytes(path)
        BpfObject.parse(objects[path], path=path)
    return objects


@cli.command("check")
@click.argument("objs", metavar="OBJ...", nargs=-1, required=True, type=_PATH)
@click.option("--btf", "btfs", multiple=True, type=_PATH,
              help="A target layout (repeat for several); split BTF with --base.")
@_base_option
@_fleet_options("also each kernel's module NAME")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text",
              show_default=True, help="csv: with --fleet; html: one self-contained page.")
@_libbpf_option
def check_cmd(objs: tuple[str, ...], btfs: tuple[str, ...], base: str | None, fleet: str | None,
              modules: tuple[str, ...], jobs: int, scheduler: str | None, dask_local: str | None, fmt: str,
              libbpf: str | None) -> None:
    """Will OBJ run on each target layout (--btf), or each kernel of a fleet (--fleet)?
    Exit 1 if any program would be refused (or cannot be relocated) on any."""
    if bool(btfs) == bool(fleet):
        raise click.UsageError("give --btf (one or more) or --fleet")
    if fleet:
        raise click.exceptions.Exit(_check_fleet(objs, fleet, modules, jobs, _scheduler(scheduler, dask_local), fmt,
                                                 libbpf))
    if len(objs) != 1 or fmt == "csv" or modules or jobs != 1 or scheduler or dask_local:
        raise click.UsageError("with --btf: one OBJ, --format text, json or html (--modules, -j go with --fleet)")
    from .commands import check

    obj_path = objs[0]
    base_spec = load_spec(base) if base else None
    targets = [(t, load_spec(t, base=base_spec)) for t in btfs]
    results = check.check(read_bytes(obj_path), targets, path=obj_path, libbpf=libbpf)
    if fmt == "html":
        from .commands import report

        _out(report.check_html(results, obj_path))
    else:
        _out(_json(check.to_json(results, obj_path)) if fmt == "json" else check.text(results))
    if check.refused(results):
        raise click.exceptions.Exit(1)


def _scheduler(address: str | None, local: str | None) -> str | None:
    if address and local:
        raise click.UsageError("give --scheduler or --dask, not both")
    if local and not local.startswith("local:"):
        raise click.UsageError("--dask takes local:N")
    return address or local


def _fleet_results(objs: tuple[str, ...], fleet: str, modules: tuple[str, ...], jobs: int, scheduler: str | None,
                   libbpf: str | None):
    from .fleet import check
    from .fleet.inputs import discover

    objects = _read_objects(objs)
    for m in modules:
        if m != "all":
            from .btf.kernel import check_module_name

            check_module_name(m)
    return objects, check.check_fleet(discover(fleet), objects, modules=modules, jobs=jobs,
                                      progress=check.terminal_progress, scheduler=scheduler, libbpf=libbpf)


def _check_fleet(objs: tuple[str, ...], fleet: str, modules: tuple[str, ...], jobs: int, scheduler: str | None,
                 fmt: str, libbpf: str | None) -> int:
    from .fleet import check

    objects, results = _fleet_results(objs, fleet, modules, jobs, scheduler, libbpf)
    if fmt == "html":
        from .commands import report

        _out(report.fleet_html(check.groups(results), list(objects), fleet))
    else:
        _out(_json(check.to_json(results, list(objects))) if fmt == "json"
             else check.to_csv(results) if fmt == "csv" else check.text(results))
    return 1 if check.failed(results) else 0


@cli.command("report")
@click.argument("objs", metavar="OBJ...", nargs=-1, required=True, type=_PATH)
@_fleet_options("also each kernel's module NAME")
@click.option("-o", "--output", required=True, type=_PATH, help="The HTML page to write ('-': standard output).")
@_libbpf_option
def report_cmd(objs: tuple[str, ...], fleet: str | None, modules: tuple[str, ...], jobs: int, scheduler: str | None,
               dask_local: str | None, output: str, libbpf: str | None) -> None:
    """The program x kernel matrix of `check --fleet` as one self-contained HTML page (exit 0
    once it is written; `check --fleet --format html` exits 1 when something is refused)."""
    from .commands import report
    from .fleet.check import groups

    if not fleet:
        raise click.UsageError("report needs --fleet DIR")
    objects, results = _fleet_results(objs, fleet, modules, jobs, _scheduler(scheduler, dask_local), libbpf)
    write_output(output, report.fleet_html(groups(results), list(objects), fleet).encode("utf-8", "surrogateescape"))


@cli.command("minimize")
@click.argument("objs", metavar="OBJ...", nargs=-1, required=True, type=_PATH)
@click.option("--btf", "btf", type=_PATH, help="The full target BTF (raw, split with --base, or ELF).")
@_base_option
@_fleet_options("also vmlinux + module NAME together, per kernel")
@click.option("-o", "--output", required=True, type=_PATH, help="BTF to write (with --fleet: a directory).")
@click.option("--report", "report", type=_PATH, help="With --btf: what was kept and why, as JSON ('-': stdout).")
@_libbpf_option
def minimize_cmd(objs: tuple[str, ...], btf: str | None, base: str | None, fleet: str | None,
                 modules: tuple[str, ...], jobs: int, scheduler: str | None, dask_local: str | None, output: str,
                 report: str | None, libbpf: str | None) -> None:
    """The smallest BTF that relocates OBJ... as the full one does (bpftool gen min_core_btf's
    rules; split BTF too): for one target (--btf), or for every kernel of a fleet (--fleet)."""
    if bool(btf) == bool(fleet):
        raise click.UsageError("give --btf or --fleet")
    objects = _read_objects(objs)
    if fleet:
        if report or output == "-":
            raise click.UsageError("with --fleet: -o is a directory, and no --report")
        raise click.exceptions.Exit(_minimize_fleet(objects, fleet, modules, jobs, _scheduler(scheduler, dask_local),
                                                    output, libbpf))
    from .core.minimize import minimize

    target = load_with_base(btf, base)
    spec, kept = minimize(objects, target, libbpf)
    notes = kept.type_id_notes(target)
    for note in notes:
        click.echo(f"btfmeta: warning: {note['message']}", err=True)
    if report:
        _write_report(report, {"version": 1, "target": btf, "objects": list(objects), "types": [
            {"id": tid, "kind": spec_kind, "name": name, "members": members, "why": kept.why.get(tid, [])}
            for tid, spec_kind, name, members in _kept_rows(target, kept)], "type_id_relocations": notes})
    write_output(output, spec.to_bytes())


def _kept_rows(target, kept):
    for tid in sorted(kept.types):
        t = target.type_by_id(tid)
        members = [t.members[i].name for i in sorted(kept.members.get(tid, ()))] if hasattr(t, "members") else []
        yield tid, t.kind.name.lower(), t.name, members


def _minimize_fleet(objects: dict[str, bytes], fleet: str, modules: tuple[str, ...], jobs: int,
                    scheduler: str | None, outdir: str, libbpf: str | None = None) -> int:
    from pathlib import Path

    from .fleet.check import terminal_progress
    from .fleet.inputs import discover
    from .fleet.minimize import minimize_fleet

    root = Path(fleet) if Path(fleet).is_dir() else Path(fleet).parent
    results = minimize_fleet(discover(fleet), objects, root, Path(outdir), modules=modules, jobs=jobs,
                             progress=terminal_progress, scheduler=scheduler, libbpf=libbpf)
    lines = []
    for r in results:
        sizes = ", ".join(f"{rel}: {n} bytes" for rel, n in sorted(r.sizes.items()))
        lines.append(f"{r.release}: {sizes}" + "".join(f"; error: {e}" for e in r.errors)
                     + "".join(f"; warning: {w}" for w in r.warnings))
    _out("\n".join(lines) + "\n")
    return 1 if any(r.errors for r in results) else 0


@cli.command("diff")
@click.argument("old", type=_PATH)
@click.argument("new", type=_PATH)
@click.argument("types", nargs=-1, metavar="[TYPE]...")
@_base_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
def diff_cmd(old: str, new: str, types: tuple[str, ...], base: str | None, fmt: str) -> None:
    """What changed from layout OLD to NEW (all named types, or TYPE...); exit 1 if anything did."""
    from .commands import diff

    old_spec, new_spec = load_with_base(old, base), load_with_base(new, base)
    diffs = diff.diff(old_spec, new_spec, list(types) or None)
    if fmt == "html":
        from .commands import report

        _out(report.diff_html(old_spec, new_spec, diffs, old, new))
    else:
        _out(_json(diff.to_json(diffs, old, new)) if fmt == "json" else diff.text(diffs))
    if diffs:
        raise click.exceptions.Exit(1)


@cli.command("layout")
@click.argument("file", type=_PATH)
@click.argument("types", nargs=-1, metavar="[TYPE]...")
@_base_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("--cacheline", type=click.IntRange(1), default=64, show_default=True)
@click.option("--pahole", "pahole_version", metavar="VERSION",
              help="Text as this pahole prints it: 1.24, 1.30 or 1.32 (default: the newest).")
def layout_cmd(file: str, types: tuple[str, ...], base: str | None, fmt: str, cacheline: int,
               pahole_version: str | None) -> None:
    """Layouts of FILE's structs and unions (all, or TYPE...: NAME, 'struct NAME'): text as
    `pahole -F btf -C TYPE` prints it, or JSON (schema version 1)."""
    from .commands import layout

    spec = load_with_base(file, base)
    names = list(types) or None
    if fmt == "json":
        _out(_json(layout.layout(spec, names, cacheline=cacheline)))
    elif fmt == "html":
        from .commands import report

        _out(report.layout_html(spec, names, cacheline=cacheline))
    else:
        _out(layout.text(spec, names, cacheline=cacheline, pahole=pahole_version))


@cli.command("resolve")
@click.argument("accesses", nargs=-1, required=True, metavar="ACCESS...")
@click.option("--btf", "btf", required=True, type=_PATH, help="The layout's BTF.")
@_base_option
@click.option("--format", "fmt", type=click.Choice(["json", "c", "python"]), default="json", show_default=True)
def resolve_cmd(accesses: tuple[str, ...], btf: str, base: str | None, fmt: str) -> None:
    """Resolve ACCESS paths (mynic_metadata.rx.ipv4.saddr, xdp_rx_meta.hash, a.b[2]) to offsets
    and sizes: JSON, C #defines with _Static_asserts, or a Python module."""
    from .commands import resolve

    fields = resolve.resolve(load_with_base(btf, base), list(accesses))
    _out(_json(resolve.to_json(fields, btf)) if fmt == "json" else resolve.source(fields, btf, fmt))


@cli.group()
def kv() -> None:
    """Packet metadata as a key-value store: a deployment's key registry, blobs."""


@kv.command("compile")
@click.argument("registry", type=_PATH)
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False),
              help="Directory to write the files to.")
@_base_option
def kv_compile(registry: str, directory: str, base: str | None) -> None:
    """REGISTRY as PREFIX_kv.h and PREFIX_keys.h (BPF and host helpers, the key enum),
    PREFIX_keys.py and PREFIX.btf (the key enum and value types; split on --base)."""
    from .commands import kvgen
    from .kv import load

    files = kvgen.generate(load(registry), load_spec(base) if base else None)
    for path in kvgen.write(files, directory):
        click.echo(f"wrote {path}", err=True)


@kv.command("decode")
@click.argument("registry", type=_PATH)
@click.argument("blob", type=_PATH)
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
def kv_decode(registry: str, blob: str, fmt: str) -> None:
    """The values in BLOB (binary, or hex text; '-': standard input) by REGISTRY's key names."""
    from .kv import load

    reg = load(registry)
    data = read_bytes(blob)
    text = data.strip()
    if text and all(c in b"0123456789abcdefABCDEF" for c in text) and len(text) % 2 == 0:
        data = bytes.fromhex(text.decode())
    values = reg.decode(data, path=blob)
    if fmt == "json":
        _out(_json(values))
    else:
        _out("".join(f"{name} = {value}\n" for name, value in values.items()))


@kv.command("encode")
@click.argument("registry", type=_PATH)
@click.argument("values", nargs=-1, metavar="NAME=VALUE...")
@click.option("-o", "--output", required=True, type=_PATH, help="The blob to write ('-': standard output).")
def kv_encode(registry: str, values: tuple[str, ...], output: str) -> None:
    """A store holding NAME=VALUE... (a flag as NAME=1), REGISTRY's capacity long."""
    from .kv import load

    reg = load(registry)
    parsed = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"{item!r}: expected NAME=VALUE")
        try:
            parsed[name] = int(value, 0)
        except ValueError:
            raise click.UsageError(f"{item!r}: the value must be an integer") from None
    write_output(output, reg.encode(parsed))


@kv.command("layout")
@click.argument("registry", type=_PATH)
def kv_layout(registry: str) -> None:
    """REGISTRY's keys, their sizes, the worst case, and what fits."""
    from .kv import load
    from .kv.codec import HEADER

    reg = load(registry)
    lines = [f"{reg.format} store, {reg.capacity} bytes ({reg.byte_order}-endian), prefix {reg.prefix}",
             f"{'key':>4}  {'name':24} {'type':5} {'bytes':>5}  description"]
    lines += [f"{k.number:>4}  {k.name:24} {k.type:5} {k.size:>5}  {k.description}" for k in reg.keys]
    worst = HEADER + sum(k.size for k in reg.keys)
    fits = "every key fits at once" if worst <= reg.capacity else \
        f"not every key fits at once: {worst - reg.capacity} bytes too many"
    lines.append(f"worst case {worst} bytes of {reg.capacity}: {fits}")
    _out("\n".join(lines) + "\n")


@cli.group()
def cache() -> None:
    """The per-user index cache of large BTF (bounded by BTFMETA_CACHE_MAX, least recently used out first)."""


@cache.command("info")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def cache_info(fmt: str) -> None:
    """Where the cache is, its entries and bytes, and its bound."""
    from .commands import cache as cmd

    doc = cmd.info()
    _out(_json(doc) if fmt == "json" else cmd.text(doc))


@cache.command("clear")
def cache_clear() -> None:
    """Remove every cached index."""
    from .commands import cache as cmd

    _out(cmd.clear())


@cli.group()
def obj() -> None:
    """Inspect BPF objects."""


@obj.command("show")
@click.argument("path", type=_PATH)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def obj_show(path: str, fmt: str) -> None:
    """List OBJ's programs, BTF-defined maps and CO-RE relocations (llvm-objdump's notation)."""
    from .commands import objinfo
    from .elf.bpfobj import BpfObject

    info = objinfo.describe(BpfObject.parse(read_bytes(path), path=path))
    _out(_json(info) if fmt == "json" else objinfo.text(info))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of raising (for tests and ``__main__``)."""
    try:
        rc = cli.main(args=argv, prog_name="btfmeta", standalone_mode=False)
        if isinstance(rc, int):
            return rc  # a command's click.exceptions.Exit(code), returned in non-standalone mode
    except PositionedError as exc:
        click.echo(exc.render(), err=True)
        return exc.exit_code
    except BtfmetaError as exc:
        click.echo(f"btfmeta: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):  # Ctrl-C: nothing was written (outputs are atomic)
        click.echo("btfmeta: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except RecursionError:
        click.echo("btfmeta: error: input nests too deeply", err=True)
        return 2
    except Exception as exc:  # a bug: say so in one line; BTFMETA_DEBUG=1 shows the traceback
        if os.environ.get("BTFMETA_DEBUG"):
            raise
        click.echo(f"btfmeta: internal error: {type(exc).__name__}: {exc} (BTFMETA_DEBUG=1 for details)", err=True)
        return 70
    return 0


def entry() -> None:
    """The ``btfmeta`` command: exit without tearing the heap down object by object
    (after a vmlinux-sized compile that is ~0.1 s of freeing memory the OS reclaims anyway)."""
    rc = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # the reader went away (`| head`)
            stream.flush()
    os._exit(rc)
