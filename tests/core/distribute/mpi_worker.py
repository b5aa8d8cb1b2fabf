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


def ring() -> None:
    """Every dtype, size and path of allreduce_arrays through the ring (the test sets
    TENSORFLUX_ALLREDUCE_RING_BYTES=0, so every buffer takes it), against MPI's own Allreduce of the same
    arrays. Reports what went wrong, as strings, and the digest of each result, to compare across ranks."""
    import hashlib

    from mpi4py import MPI

    from tensorflux._internal.distribute import comm as _comm

    world, n, r = MPI.COMM_WORLD, tf.distribute.size(), tf.distribute.rank()
    rng = np.random.default_rng(r)
    wrong, digests = [], []

    def check(name, got, want, exact, magnitude=None):
        # Floats summed in another order than MPI's differ by rounding only: a few ulps of the sum of |x|.
        ok = np.array_equal(got, want) if exact else bool(
            np.all(np.abs(got - want) <= 4 * n * np.finfo(want.dtype).eps * magnitude))
        if not ok or got.dtype != want.dtype or got.shape != want.shape:
            wrong.append(f"{name}: got {got.ravel()[:4]} ({got.dtype}, {got.shape}), want {want.ravel()[:4]}")
        digests.append(hashlib.sha256(np.ascontiguousarray(got).tobytes()).hexdigest())

    def mpi_sum(x):
        total = np.empty_like(x)
        world.Allreduce(np.ascontiguousarray(x), total, op=MPI.SUM)
        return total

    for dtype in (np.float32, np.float64, np.int32, np.int64):
        exact = np.dtype(dtype).kind == "i"
        # Fewer elements than ranks (empty chunks), sizes that do not divide by the rank count, and one
        # large enough for huge-page buffers.
        for count in (1, 3, 7, 1000, 2**17 + 3):
            x = (rng.standard_normal(count) * 100).astype(dtype)
            before = x.copy()
            total, magnitude = mpi_sum(x), mpi_sum(np.abs(x))
            mean = total // n if exact else total * dtype(1.0 / n)
            check(f"sum {dtype.__name__}[{count}]", tf.distribute.allreduce_arrays([x], average=False)[0], total, exact,
                  magnitude)
            check(f"mean {dtype.__name__}[{count}]", tf.distribute.allreduce_arrays([x])[0], mean, exact, magnitude)
            if not np.array_equal(x, before):
                wrong.append(f"{dtype.__name__}[{count}]: the input changed")
            donated = x.copy()
            [out] = tf.distribute.allreduce_arrays([donated], in_place=True)
            check(f"donated mean {dtype.__name__}[{count}]", out, mean, exact, magnitude)
            if out is not donated:
                wrong.append(f"donated {dtype.__name__}[{count}]: reduced into a new buffer")
        # A fused bucket: a matrix, a non-contiguous view and a scalar-sized array in one buffer.
        parts = [(rng.standard_normal((30, 50)) * 10).astype(dtype), (rng.standard_normal((40, 6)) * 10).astype(dtype)[:, ::2],
                 np.array([r + 1], dtype)]
        fused = tf.distribute.allreduce_arrays(parts, average=False)
        for i, (part, got) in enumerate(zip(parts, fused)):
            check(f"fused {dtype.__name__} part {i}", got, mpi_sum(part), exact, mpi_sum(np.abs(part)))
    # Through the graph: the kernel's path.
    x = tf.placeholder(tf.float32, [5000])
    [mean_op] = tf.distribute.allreduce([x])
    feed = rng.standard_normal(5000).astype(np.float32)
    with tf.Session() as sess:
        check("op mean", sess.run(mean_op, {x: feed}), mpi_sum(feed) * np.float32(1.0 / n), False,
              mpi_sum(np.abs(feed)))
    _report(wrong=wrong, digests=digests, ring_bytes=_comm._state["ring_bytes"])


def overlap() -> None:
    """The gradients of a 3-layer MLP through DistributedOptimizer with and without overlap (a bucket per
    layer), and of the same graph summed by MPI itself; the weights after 3 steps each way."""
    from mpi4py import MPI

    r = tf.distribute.rank()
    rng = np.random.default_rng(r)
    images = rng.standard_normal((16, 64)).astype(np.float32)
    targets = rng.standard_normal((16, 4)).astype(np.float32)
    out = {}
    for overlap in (True, False):
        with tf.Graph().as_default():
            tf.set_random_seed(1)
            h = tf.constant(images)
            for i, (a, b) in enumerate([(64, 256), (256, 128), (128, 4)]):
                h = tf.matmul(h, tf.Variable(tf.truncated_normal([a, b], stddev=0.1), name=f"w{i}"))
                h = tf.nn.relu(h) if i < 2 else h
            loss = tf.reduce_mean(tf.square(h - targets))
            opt = tf.distribute.DistributedOptimizer(tf.train.MomentumOptimizer(0.1, 0.9), fusion_bytes=70_000,
                                                     overlap=overlap)
            pairs = opt.compute_gradients(loss)
            local = tf.gradients(loss, [v for _, v in pairs])
            train = opt.apply_gradients(pairs)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                grads, local_grads = sess.run([[g for g, _ in pairs], local])
                for _ in range(3):
                    sess.run(train)
                weights = sess.run([v for _, v in pairs])
        mpi_mean = []
        for g in local_grads:
            total = np.empty_like(g)
            MPI.COMM_WORLD.Allreduce(g, total, op=MPI.SUM)
            mpi_mean.append(total / tf.distribute.size())
        out[overlap] = {"ops": sorted({g.op.type for g, _ in pairs}), "buckets": len({g.op.name for g, _ in pairs}),
                        "grads": grads, "mpi": mpi_mean, "weights": weights}
    same = all(np.array_equal(a, b) for a, b in zip(out[True]["grads"], out[False]["grads"]))
    same_weights = all(np.array_equal(a, b) for a, b in zip(out[True]["weights"], out[False]["weights"]))
    # Past two ranks MPI's summation order may depend on where an element sits in its bucket.
    close_grads = all(np.allclose(a, b, rtol=1e-6, atol=1e-7) for a, b in zip(out[True]["grads"], out[False]["grads"]))
    close_weights = all(np.allclose(a, b, rtol=1e-5, atol=1e-6)
                        for a, b in zip(out[True]["weights"], out[False]["weights"]))
    close = all(np.allclose(g, m, rtol=1e-5, atol=1e-6) for g, m in zip(out[True]["grads"], out[True]["mpi"]))
    _report(ops={str(k): v["ops"] for k, v in out.items()}, buckets={str(k): v["buckets"] for k, v in out.items()},
            same_grads=same, same_weights=same_weights, close_grads=close_grads, close_weights=close_weights,
            matches_mpi=close,
            weights=[float(np.sum(w)) for w in out[True]["weights"]])


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
    elif mode == "ring":
        ring()
    elif mode == "overlap":
        overlap()
    elif mode == "broadcast":
        broadcast()
    elif mode == "regression":
        regression(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else -1)
    else:
        sys.exit(f"mpi_worker: unknown mode {mode!r}; expected allreduce, recycling, ring, overlap, broadcast or regression")
