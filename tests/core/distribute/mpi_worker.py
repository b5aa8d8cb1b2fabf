"""One MPI rank of the distribute tests: ``mpiexec -n N python mpi_worker.py MODE [ARGS]``.

Each rank prints one ``RESULT <json>`` line; the test parses every rank's line.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import tensorflux as tf


def _report(**values) -> None:
    print("RESULT " + json.dumps({"rank": tf.distribute.rank(), "size": tf.distribute.size(), **values}), flush=True)


def allreduce() -> None:
    """Gradients of a rank-dependent loss through DistributedOptimizer, several fusion buckets."""
    r = tf.distribute.rank()
    shapes = [[3], [2, 2], [5], [1]]
    variables = [tf.Variable(np.zeros(s, np.float32)) for s in shapes]
    # d(loss)/d(v) = (rank + 1) * (i + 1) everywhere, so the average over ranks is known in closed form.
    loss = tf.add_n([tf.reduce_sum(v) * float((r + 1) * (i + 1)) for i, v in enumerate(variables)])
    opt = tf.distribute.DistributedOptimizer(tf.train.GradientDescentOptimizer(1.0), fusion_bytes=24)
    pairs = opt.compute_gradients(loss, var_list=variables)
    n_ops = len({g.op.name for g, _ in pairs})
    [total] = tf.distribute.allreduce([tf.constant([r], tf.int64)], average=False)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        grads, total_value = sess.run([[g for g, _ in pairs], total])
    _report(grads=[g.tolist() for g in grads], ops=n_ops, rank_sum=int(total_value[0]))


def recycling() -> None:
    """Outputs of allreduce ops run again: a result still held, or a view of a fused bucket's buffer, must not
    be overwritten by the next run. Also the averages: floats prescaled, integers floor-divided."""
    x = tf.placeholder(tf.float32, [1000])
    [y] = tf.distribute.allreduce([x], average=False)
    a, b = tf.placeholder(tf.float32, [300]), tf.placeholder(tf.float32, [2, 50])
    fused = tf.distribute.allreduce([a, b], average=True)  # one buffer; the outputs are views of it
    i = tf.placeholder(tf.int64, [3])
    [i_avg] = tf.distribute.allreduce([i], average=True)
    r = float(tf.distribute.rank() + 1)
    with tf.Session() as sess:
        first = sess.run(y, {x: np.full(1000, 1.0, np.float32)})
        second = sess.run(y, {x: np.full(1000, 2.0, np.float32)})
        sess.run(y, {x: np.full(1000, 3.0, np.float32)})  # `second` is still held too
        del first
        fourth = sess.run(y, {x: np.full(1000, 4.0, np.float32)})
        held_b = sess.run(fused, {a: np.full(300, r, np.float32), b: np.full((2, 50), 2 * r, np.float32)})[1]
        again = sess.run(fused, {a: np.full(300, 10 * r, np.float32), b: np.full((2, 50), 20 * r, np.float32)})
        ints = sess.run(i_avg, {i: np.array([3 * r - 2, -r, 7], np.int64)})
    _report(second=float(second[0]), fourth=float(fourth[0]), held_b=sorted(set(held_b.ravel().tolist())),
            again=[sorted(set(v.ravel().tolist())) for v in again], ints=ints.tolist())


def broadcast() -> None:
    tf.set_random_seed(100 + tf.distribute.rank())  # a different initial value on every rank
    w = tf.Variable(tf.random_normal([4]))
    step = tf.Variable(tf.distribute.rank() * 7, dtype=tf.int64)
    hook = tf.distribute.BroadcastGlobalVariablesHook(0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(w).tolist()
        hook.after_create_session(sess)
        after, step_value = sess.run([w, step])
    _report(before=before, after=after.tolist(), step=int(step_value))


def regression(steps: int, die_at: int) -> None:
    """Linear regression on this rank's shard; returns the final weights (rank ``die_at``'s rank 1 dies)."""
    rng = np.random.default_rng(0)
    x_all = rng.normal(size=(64, 3)).astype(np.float32)
    y_all = (x_all @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.25).astype(np.float32)
    idx = tf.distribute.shard(len(x_all))
    x, y = tf.constant(x_all[idx]), tf.constant(y_all[idx])
    w, b = tf.Variable(tf.zeros([3, 1])), tf.Variable(0.0)
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    opt = tf.distribute.DistributedOptimizer(tf.train.MomentumOptimizer(0.1, 0.9))
    train = opt.minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(tf.distribute.broadcast_global_variables(0))
        for step in range(steps):
            if step == die_at and tf.distribute.rank() == 1:
                print("rank 1 exits on purpose", flush=True)
                os._exit(3)
            sess.run(train)
        w_value, b_value = sess.run([w, b])
    _report(w=w_value.ravel().tolist(), b=float(b_value))


if __name__ == "__main__":
    tf.distribute.init()
    mode = sys.argv[1]
    if mode == "allreduce":
        allreduce()
    elif mode == "recycling":
        recycling()
    elif mode == "broadcast":
        broadcast()
    elif mode == "regression":
        regression(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else -1)
    else:
        sys.exit(f"mpi_worker: unknown mode {mode!r}; expected allreduce, recycling, broadcast or regression")
