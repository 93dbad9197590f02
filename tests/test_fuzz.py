"""The fuzzer (tests/fuzz.py) over every reader, each in its own process under a memory
bound, every input under a time bound: no internal error, no hang, no malformed message,
no partial or temporary file.  BTFMETA_FUZZ_COUNT sets the inputs per reader (10,000,
as CI runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO
from .fuzz import READERS

COUNT = int(os.environ.get("BTFMETA_FUZZ_COUNT", "10000"))


@pytest.mark.parametrize("reader", READERS)
def test_fuzz_reader(reader):
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz", reader, str(COUNT), "1"], cwd=REPO,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["inputs"] == COUNT
    assert result["failures"] == [], json.dumps(result["failures"][:5], indent=1)
    refused = result["exits"].get("2", 0)
    assert 0 < refused < result["runs"], result["exits"]  # the mutations reach both outcomes
