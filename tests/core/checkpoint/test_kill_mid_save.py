"""Killing the process in the middle of a save never loses the previous checkpoint.

A child process saves a checkpoint, then starts another save and is killed with SIGKILL, either
at a chosen point (paused just before one of the renames that commit a file) or at a random
moment while it writes a 16 MB variable in a loop. The parent then restores the newest checkpoint
the ``checkpoint`` state file names and checks it holds exactly the values of one completed save.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tensorflux as tf

BIG = 4 * 1024 * 1024  # float32 elements: 16 MB, so a save takes a while (random-moment kills)
SMALL = 1024  # enough for the kills at chosen points

CHILD = textwrap.dedent("""
    import os, sys, time
    import tensorflux as tf

    directory, mode, arg, fmt, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    big = tf.Variable(tf.fill([size], 0.0), name="big")
    step = tf.Variable(0, name="global_step", trainable=False)
    fill = tf.placeholder(tf.float32, [])
    update = [big.assign(tf.fill([size], fill)), step.assign(tf.cast(fill, tf.int32))]
    saver = tf.train.Saver(max_to_keep=2, format=fmt)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())

        def save(k):
            sess.run(update, {fill: float(k)})
            if mode == "same":
                return saver.save(sess, os.path.join(directory, "model"))
            return saver.save(sess, os.path.join(directory, "model"), global_step=step)

        save(1)
        print("SAVED 1", flush=True)
        if mode in ("pause", "same"):
            real_replace, calls = os.replace, [0]

            def paused_replace(src, dst):
                calls[0] += 1
                if calls[0] == arg:
                    print("PAUSED", dst, flush=True)
                    time.sleep(600)
                real_replace(src, dst)

            os.replace = paused_replace
            save(2)
            print("UNEXPECTED: save finished without pausing", flush=True)
        else:
            k = 2
            while True:
                print("WRITING", k, flush=True)
                save(k)
                k += 1
""")


def run_and_kill(directory, mode, arg, fmt, delay=0.0, size=SMALL):
    """Start the child, wait for the line that marks the kill point, SIGKILL it; return the marker line."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(directory), mode, str(arg), fmt, str(size)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "SAVED 1", proc.stderr.read()
        marker = proc.stdout.readline().strip()
        if mode == "loop":
            for _ in range(arg):  # let a few saves complete, then kill during the next one
                marker = proc.stdout.readline().strip()
        assert marker.startswith(("PAUSED", "WRITING")), marker + proc.stderr.read()
        if delay:
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # On a loaded machine the child may have run ahead of the lines read so far: the save under way at
        # the kill is the last one it announced.
        later = [line.strip() for line in proc.stdout.read().splitlines() if line.startswith("WRITING")]
        if mode == "loop" and later:
            marker = later[-1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return marker


def check_latest_is_complete(directory, size=SMALL):
    """The newest checkpoint in the state file restores, and holds one save's values throughout."""
    prefix = tf.train.latest_checkpoint(str(directory))
    assert prefix is not None, f"no loadable checkpoint left in {sorted(os.listdir(directory))}"
    state = tf.train.get_checkpoint_state(str(directory))
    with tf.Graph().as_default():
        big = tf.Variable(tf.fill([size], 0.0), name="big")
        step = tf.Variable(0, name="global_step", trainable=False)
        with tf.Session() as sess:
            for kept in state.all_model_checkpoint_paths:  # every checkpoint the state file lists is intact
                tf.train.Saver().restore(sess, kept)
                value, k = sess.run([big, step])
                assert k >= 1 and np.all(value == np.float32(k)), (kept, k, value[:3])
            tf.train.Saver().restore(sess, prefix)
            return int(sess.run(step))


@pytest.mark.parametrize("fmt, pause_at", [("native", 1), ("native", 2), ("native", 3), ("native", 4), ("npz", 1),
                                            ("tf_bundle", 1), ("tf_bundle", 2)],
                         ids=["native-before-data", "native-before-index", "native-before-meta", "native-before-state",
                              "npz-before-archive", "tf_bundle-before-data", "tf_bundle-before-index"])
def test_kill_before_each_commit_point_keeps_the_previous_checkpoint(tmp_path, fmt, pause_at):
    marker = run_and_kill(tmp_path, "pause", pause_at, fmt)
    assert "model-2" in marker or marker.endswith("checkpoint"), marker
    assert check_latest_is_complete(tmp_path) == 1
    with tf.Graph().as_default():  # the folder is still usable: a save after the crash works
        v = tf.Variable(tf.fill([4], 1.0), name="big")
        with tf.Session() as sess:
            sess.run(v.initializer)
            tf.train.Saver([v]).save(sess, str(tmp_path / "after"))
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "after")


@pytest.mark.parametrize("fmt", ["native", "tf_bundle"])
def test_kill_while_overwriting_the_same_prefix_keeps_the_old_one(tmp_path, fmt):
    marker = run_and_kill(tmp_path, "same", 2, fmt)  # new data file in place, index not yet replaced
    assert marker.endswith("model.index"), marker
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model")
    assert check_latest_is_complete(tmp_path) == 1


def test_kill_at_random_moments_during_big_writes(tmp_path):
    rng = random.Random(20)
    for fmt, completed_saves in (("native", 0), ("npz", 2), ("tf_bundle", 1)):
        marker = run_and_kill(tmp_path, "loop", completed_saves, fmt, delay=rng.uniform(0.005, 0.08), size=BIG)
        latest = check_latest_is_complete(tmp_path, size=BIG)
        writing = int(marker.split()[1])
        assert latest in (writing - 1, writing), (marker, latest)


@pytest.mark.parametrize("fmt, pause_at", [("native", 1), ("native", 2), ("native", 3), ("native", 4), ("npz", 1),
                                            ("tf_bundle", 1)],
                         ids=["native-data", "native-index", "native-meta", "native-state", "npz-archive",
                              "tf_bundle-data"])
def test_the_next_save_removes_a_killed_saves_temporaries(tmp_path, fmt, pause_at):
    run_and_kill(tmp_path, "pause", pause_at, fmt)  # killed while its temporary file is complete but not renamed
    temporaries = [n for n in os.listdir(tmp_path) if ".tmp-" in n]
    assert temporaries, sorted(os.listdir(tmp_path))
    assert check_latest_is_complete(tmp_path) == 1
    with tf.Graph().as_default():  # a later save of another prefix, as a restarted training loop's would be
        v = tf.Variable(tf.fill([SMALL], 1.0), name="big")
        with tf.Session() as sess:
            sess.run(v.initializer)
            tf.train.Saver([v], format=fmt).save(sess, str(tmp_path / "after"))
    assert [n for n in os.listdir(tmp_path) if ".tmp-" in n] == [], temporaries


def test_temporaries_of_live_writers_are_kept(tmp_path):
    """Only a temporary whose writer is gone is stale: a live process's (this one's) and untagged ones stay."""
    from tensorflux._internal.fileio import temp_prefix

    live = tmp_path / (temp_prefix(tmp_path / "model.index") + "abc")
    untagged = tmp_path / ".model.index.tmp-abc123"
    live.write_bytes(b"partial")
    untagged.write_bytes(b"partial")
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        with tf.Session() as sess:
            sess.run(v.initializer)
            tf.train.Saver([v]).save(sess, str(tmp_path / "model"))
    assert live.exists() and untagged.exists()
