"""``relocate --watch``: keep OUT relocated against the NIC's current BTF (the command's loop).

On each change of the target BTF the object is relocated again; OUT is replaced
atomically and ``--exec`` runs (``{out}`` in its words becomes OUT's path; no shell), or,
when a program would now be refused, OUT is left as it was (or removed with
``--remove-on-refusal``) and the refusal is logged -- OUT never holds an object the
current layout makes unsafe.  One log line per event; SIGINT and SIGTERM end it cleanly.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..commands.check import ERROR, GUARDED, OK, REFUSED
from ..fileio import write_output
from .watch import ABSENT, DISAPPEARED, UNREADABLE, Event, watch


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def describe(event: Event, name: str) -> str:
    """The event's log line (before what was done about it)."""
    head = f"{_stamp(event.time)} {event.change} {event.source}"
    if event.digest:
        head += f" sha256:{event.digest[:12]}"
    if event.change in (ABSENT, DISAPPEARED, UNREADABLE):
        return head + (f": {event.error}" if event.error else "")
    outcome = event.outcomes[name]
    counts = {v: list(outcome.verdicts.values()).count(v) for v in (OK, GUARDED, REFUSED, ERROR)}
    return head + ": " + ", ".join(f"{n} {v}" for v, n in counts.items() if n or v != ERROR)


def run(source, obj_name: str, obj: bytes, out: str, *, exec_cmd: str | None, interval: float,
        remove_on_refusal: bool, log: Callable[[str], None], stop: threading.Event | None = None,
        libbpf: str | None = None) -> int:
    """Follow ``source`` until SIGINT/SIGTERM (or ``stop``); returns the exit code (0)."""
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        for event in watch(source, {obj_name: obj}, interval=interval, stop=stop, libbpf=libbpf):
            line = describe(event, obj_name)
            outcome = event.outcomes.get(obj_name)
            if outcome is None:
                log(line + f"; {out} left as it was")
            elif outcome.refused:
                if remove_on_refusal:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(out)
                log(line + f"; REFUSED, {out} {'removed' if remove_on_refusal else 'left as it was'}: "
                    + "; ".join(outcome.reasons))
            else:
                write_output(out, outcome.data)
                log(line + f" -> {out}" + _execute(exec_cmd, out))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _execute(exec_cmd: str | None, out: str) -> str:
    if not exec_cmd:
        return ""
    argv = [word.replace("{out}", str(Path(out))) for word in shlex.split(exec_cmd)]
    try:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, check=False).returncode
    except OSError as exc:
        return f"; exec failed: {exc.strerror}"
    return f"; exec exited {rc}"
