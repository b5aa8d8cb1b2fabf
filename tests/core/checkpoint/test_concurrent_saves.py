"""Saves to one checkpoint prefix from several threads or processes at once leave a restorable checkpoint.

Each writer saves values that identify it and its save number (every element equals
``writer * 1000 + k``), so after the writers finish, the checkpoint on disk must restore, pass its
checksums, and hold exactly one writer's save throughout. Before saves took turns, a save deleted
every other data file after committing its index, including the one another save's index was
about to name, and the checkpoint was lost in most rounds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.checkpoint.formats import DEFAULT_FORMAT, get_format

THREADS = 4
SAVES = 6
ROUNDS = 15
SIZE = 64 * 1024  # float32 elements per variable: big enough that a save's steps take measurable time


def values_for(writer, k):
    """What ``writer`` stores in its ``k``-th save: two variables, each element naming writer and save."""
    mark = writer * 1000 + k
    return {"layer/w": np.full(SIZE, mark, np.float32), "layer/b": np.full(16, mark, np.int64)}


def check_one_save_throughout(fmt, prefix, writers, saves):
    """``prefix`` reads (checksums verified) and holds one complete save of one writer; return its mark."""
    got = get_format(fmt).read(prefix)
    assert sorted(got) == ["layer/b", "layer/w"], sorted(got)
    mark = int(got["layer/b"][0])
    assert divmod(mark, 1000)[0] in range(writers) and mark % 1000 in range(saves), mark
    for name, want in values_for(*divmod(mark, 1000)).items():
        np.testing.assert_array_equal(got[name], want, err_msg=f"{prefix}: '{name}' mixes saves")
    return mark


def leftovers(directory):
    """Temporaries and lock files still in ``directory`` (none may outlive the saves)."""
    return sorted(n for n in os.listdir(directory) if ".tmp-" in n or n.endswith(".lock"))


@pytest.mark.parametrize("fmt", ["native", "npz", "tf_bundle"])
def test_threads_saving_one_prefix_leave_a_restorable_checkpoint(tmp_path, fmt):
    writer_format = get_format(fmt)
    started = time.perf_counter()

    def writer(index, prefix, barrier, errors):
        try:
            barrier.wait()
            for k in range(SAVES):
                writer_format.write(prefix, values_for(index, k))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread below
            errors.append(exc)

    for round_number in range(ROUNDS):
        prefix = str(tmp_path / f"round{round_number}" / "model")
        barrier, errors = threading.Barrier(THREADS), []
        threads = [threading.Thread(target=writer, args=(i, prefix, barrier, errors)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, f"round {round_number}: a save raised: {errors[0]!r}"
        mark = check_one_save_throughout(fmt, prefix, THREADS, SAVES)
        assert mark % 1000 == SAVES - 1, f"round {round_number}: the last save to commit was not a last save: {mark}"
        if fmt in ("native", "tf_bundle"):  # exactly the index and the one data file it names
            assert len(writer_format.files(prefix)) == 2, writer_format.files(prefix)
        assert leftovers(os.path.dirname(prefix)) == []
    assert time.perf_counter() - started < 60


def test_threads_with_savers_on_one_folder_keep_the_state_file_restorable(tmp_path):
    """Two training loops (one graph and Saver each, max_to_keep=2) saving the same steps into one folder."""
    loops, rounds, steps = 2, 5, SAVES * 2
    errors = []
    barrier = threading.Barrier(loops)

    def loop(index):
        try:
            with tf.Graph().as_default():
                w = tf.Variable(np.zeros(SIZE, np.float32), name="layer/w")
                b = tf.Variable(np.zeros(16, np.int64), name="layer/b")
                fill = tf.placeholder(tf.int64, [])
                update = [w.assign(tf.fill([SIZE], tf.cast(fill, tf.float32))), b.assign(tf.fill([16], fill))]
                with tf.Session() as sess:
                    sess.run(tf.global_variables_initializer())
                    for r in range(rounds):
                        saver = tf.train.Saver(max_to_keep=2)
                        barrier.wait()
                        for step in range(steps):
                            sess.run(update, {fill: index * 1000 + step})
                            saver.save(sess, str(tmp_path / f"round{r}" / "model"), global_step=step)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread below
            barrier.abort()
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(loops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, repr(errors[0])
    for r in range(rounds):
        directory = str(tmp_path / f"round{r}")
        latest = tf.train.latest_checkpoint(directory)
        assert latest is not None, (r, sorted(os.listdir(directory)))
        mark = check_one_save_throughout(DEFAULT_FORMAT, latest, loops, steps)  # what Saver() writes
        assert latest.endswith(f"model-{mark % 1000}"), (latest, mark)
        assert leftovers(directory) == []


CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from tensorflux._internal.checkpoint.formats import get_format

    directory, index, processes, rounds, saves, size = sys.argv[1], *map(int, sys.argv[2:7])
    writer = get_format(sys.argv[7])


    def barrier(name):
        # Every process starts each round at the same moment, so their saves overlap in every round.
        open(os.path.join(directory, f"{name}-{index}"), "w").close()
        while not all(os.path.exists(os.path.join(directory, f"{name}-{i}")) for i in range(processes)):
            time.sleep(0.001)


    failed = 0
    for r in range(rounds):
        prefix = os.path.join(directory, f"round{r}", "model")
        barrier(f"ready{r}")
        for k in range(saves):
            mark = index * 1000 + k
            try:  # keep saving after a failure, so the other processes still have company
                writer.write(prefix, {"layer/w": np.full(size, mark, np.float32),
                                      "layer/b": np.full(16, mark, np.int64)})
            except Exception as exc:
                failed += 1
                print(f"round {r} save {k}: {exc!r}", file=sys.stderr)
    sys.exit(1 if failed else 0)
""")


@pytest.mark.parametrize("fmt", ["native", "npz"])
def test_processes_saving_one_prefix_leave_a_restorable_checkpoint(tmp_path, fmt):
    processes, rounds = 4, 10
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), *map(str, (i, processes, rounds, SAVES, SIZE)),
                               fmt], stderr=subprocess.PIPE, text=True) for i in range(processes)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for r in range(rounds):
        prefix = str(tmp_path / f"round{r}" / "model")
        mark = check_one_save_throughout(fmt, prefix, processes, SAVES)
        assert mark % 1000 == SAVES - 1, f"round {r}: {mark}"
        assert leftovers(os.path.dirname(prefix)) == []
