"""fileio: path_lock excludes other threads and processes, is released on exceptions and on SIGKILL, leaves no
lock file; stale temporaries are those of dead writers only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tensorflux._internal.fileio import lock_file_path, path_lock, remove_stale_temps_in, temp_prefix

HOLDER = textwrap.dedent("""
    import sys, time
    from tensorflux._internal.fileio import path_lock

    with path_lock(sys.argv[1]):
        print("HELD", flush=True)
        time.sleep(float(sys.argv[2]))
    print("RELEASED", flush=True)
""")


def hold_in_child(path, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "HELD"
    return proc


def test_a_process_holding_the_lock_excludes_this_one_until_it_lets_go(tmp_path):
    proc = hold_in_child(tmp_path / "model", 0.5)
    started = time.perf_counter()
    with path_lock(tmp_path / "model"):
        waited = time.perf_counter() - started
        assert proc.stdout.readline().strip() == "RELEASED"  # it let go before this process got in
    proc.wait(timeout=30)
    assert waited > 0.2, waited
    assert not os.path.exists(lock_file_path(tmp_path / "model"))


def test_a_killed_holder_releases_the_lock(tmp_path):
    proc = hold_in_child(tmp_path / "model", 600)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done = threading.Event()

    def take():
        with path_lock(tmp_path / "model"):
            done.set()

    threading.Thread(target=take, daemon=True).start()
    assert done.wait(10), "the lock of a SIGKILLed process was not released"


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with path_lock(tmp_path / "model"):
            raise RuntimeError("boom")
    proc = hold_in_child(tmp_path / "model", 0)  # another process gets it at once
    assert proc.stdout.readline().strip() == "RELEASED"
    assert proc.wait(timeout=30) == 0


def test_threads_take_turns_and_one_thread_may_nest(tmp_path):
    inside, overlaps = [0], []

    def work():
        for _ in range(50):
            with path_lock(tmp_path / "model"), path_lock(tmp_path / "model"):
                inside[0] += 1
                overlaps.append(inside[0])
                time.sleep(0.0005)
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(overlaps) == 1 and len(overlaps) == 200


def test_only_temporaries_of_dead_writers_on_this_host_are_stale(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(dead.stdout)
    mine = temp_prefix(tmp_path / "model.index")
    host = mine[len(".model.index.tmp-"):].split("-")[0]
    names = {
        "dead": f".model.data.tmp-{host}-{dead_pid}-x1",
        "live": mine + "x2",
        "other host": f".model.data.tmp-{host}zz-{dead_pid}-x3",
        "untagged": ".model.data.tmp-x4",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    assert remove_stale_temps_in(tmp_path) == [str(tmp_path / names["dead"])]
    assert sorted(os.listdir(tmp_path)) == sorted(v for k, v in names.items() if k != "dead")
