"""The README's library example runs as written (the sysfs paths point at the fixtures)."""

from __future__ import annotations

import os
import re

from .conftest import REPO


def test_library_example_runs(shared_btf, monkeypatch):
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Library\n\n```python\n(.*?)```", text, re.S)[1]
    block = block.replace('"/sys/kernel/btf/vmlinux"', repr(str(shared_btf / "vmlinux.btf")))
    block = block.replace('"/sys/kernel/btf/ice"', repr(str(shared_btf / "modules" / "ice.btf")))
    monkeypatch.chdir(REPO)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert scope["skb"].name == "sk_buff"
    assert scope["result"].data[:4] == b"\x7fELF" and scope["result"].report and scope["result"].log
    assert {"program", "insn", "kind", "local_spec", "candidates", "result"} <= set(scope["result"].report[0])
    assert os.path.exists("samples/xdp_mynic.bpf.o")
