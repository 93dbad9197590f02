"""compile as a library call: the collector is paused only while compiling, and the
caller's own garbage-collector state (enabled or not, frozen objects) is left as it was."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO

SCRIPT = r"""
import gc
from btfmeta.compile import compile_source
from btfmeta.errors import BtfmetaError

def frozen(obj):  # the permanent generation is not among gc.get_objects()
    return not any(o is obj for o in gc.get_objects())

kept = [[i] for i in range(1000)]
gc.freeze()  # as a pre-fork server does with what it has loaded
assert frozen(kept)
compile_source("struct a { int x; struct a *next; };")
# (not get_freeze_count(): Python 3.14 counts live frozen objects, and the compile may free one)
assert gc.isenabled() and frozen(kept), "frozen objects thawed"
gc.unfreeze()

compile_source("struct b { int y; };")
assert gc.isenabled() and gc.get_freeze_count() == 0

gc.disable()
try:
    compile_source("struct c { int z }")
except BtfmetaError:
    pass
assert not gc.isenabled(), "a caller's disabled collector was enabled"
print("ok")
"""


def test_compile_leaves_the_callers_gc_state_alone():
    res = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout == "ok\n", res.stderr
