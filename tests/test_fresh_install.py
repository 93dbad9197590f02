"""The README's two commands on a fresh machine (issue 10, item 13): a copy of the tracked
files, a new user's $HOME, no pip cache, a PATH with nothing but the system's directories
(so Debian's own Python makes the virtual environment, whatever else is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .conftest import REPO, need


def test_readme_commands_on_a_fresh_checkout(tmp_path):
    need(shutil.which("git") is not None and Path("/usr/bin/python3").exists(), "git and Debian's python3")
    need(os.geteuid() == 0 or shutil.which("sudo") is not None, ".ci/install runs apt-get")
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    repo = tmp_path / "btfmeta"
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PIP_NO_CACHE_DIR": "1"}
    setup = subprocess.run(["bash", "-c", "bash .ci/install && bash samples/run.sh"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert "== 7. The layouts as pahole shows them" in setup.stdout
    assert "Done: every output is in" in setup.stdout
    assert (repo / "samples" / "out" / "xdp_mynic.v2.o").is_file()
    venv_python = (repo / ".venv" / "bin" / "python").resolve()
    assert str(venv_python).startswith("/usr/bin/python3"), venv_python  # Debian's own Python
    tests = subprocess.run([".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/test_header.py"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout.splitlines()[-1]
