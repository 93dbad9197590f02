"""The fleet on a real Dask cluster: a scheduler and two worker processes started here
with Dask's own commands (and stopped after); results identical to one local process,
also when a worker is killed in the middle of the run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from btfmeta.fleet.check import check_fleet
from btfmeta.fleet.inputs import discover

from .conftest import need, run_cli
from .test_fleet_check import FLEET, fleet_program  # noqa: F401 - the compiled program fixture

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster():
    need(DASK.exists(), "Dask (pip install 'btfmeta[dask]')")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for i in range(2):
        procs.append(subprocess.Popen([str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                       "--no-dashboard", "--name", f"w{i}", "--no-nanny"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from dask.distributed import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(2, timeout=60)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        yield address, procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_dask_cluster_gives_what_one_process_gives(cluster, fleet_program):  # noqa: F811
    address, _ = cluster
    kernels = discover(FLEET)
    objects = {"prog": fleet_program}
    alone = check_fleet(kernels, objects, modules=["ice"])
    assert check_fleet(kernels, objects, modules=["ice"], scheduler=address) == alone


def test_a_worker_killed_mid_run_loses_nothing(cluster, fleet_program, tmp_path):  # noqa: F811
    address, procs = cluster
    kernels = discover(FLEET)
    objects = {"prog": fleet_program}
    alone = check_fleet(kernels, objects, modules=["all"])
    killed = threading.Event()

    def progress(done: int, total: int, release: str) -> None:
        if done == 8 and not killed.is_set():
            os.kill(procs[1].pid, signal.SIGKILL)  # one of the two workers, with tasks in flight
            killed.set()

    on_dask = check_fleet(kernels, objects, modules=["all"], scheduler=address, progress=progress)
    assert killed.is_set() and procs[1].wait(timeout=10) == -signal.SIGKILL
    assert [r.release for r in on_dask] == [k.release for k in kernels]  # each kernel once, in order
    assert on_dask == alone


def test_the_commands_on_dask(cluster, fleet_program, tmp_path):  # noqa: F811
    address, _ = cluster
    obj = tmp_path / "prog.o"
    obj.write_bytes(fleet_program)
    here = run_cli("check", str(obj), "--fleet", str(FLEET), "--format", "json")
    there = run_cli("check", str(obj), "--fleet", str(FLEET), "--format", "json", "--scheduler", address)
    assert there.stdout == here.stdout and there.code == here.code == 1
    for where, extra in (("here", []), ("there", ["--scheduler", address])):
        r = run_cli("minimize", str(obj), "--fleet", str(FLEET), "-o", str(tmp_path / where), *extra)
        assert r.code == 0, r.stderr
    files = {p.relative_to(tmp_path / "here"): p.read_bytes() for p in (tmp_path / "here").rglob("*") if p.is_file()}
    assert files == {p.relative_to(tmp_path / "there"): p.read_bytes()
                     for p in (tmp_path / "there").rglob("*") if p.is_file()}
