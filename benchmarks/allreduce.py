"""Allreduce throughput of tf.distribute against mpi4py's own Allreduce, and data-parallel scaling efficiency.

    python benchmarks/allreduce.py            # launches itself under mpiexec -n 2 (and -n 1 for scaling)
    python benchmarks/allreduce.py --json

Buffers of 1, 4, 16 and 64 MB of float32 (``--sizes``) are reduced on the same input arrays by mpi4py's
``Comm.Allreduce`` and by the ``MpiAllreduce`` op, summing (``average=False``) and averaging, through
``tf.Session``. There are two baselines: "raw" reduces into an output allocated as the op allocates its
own (whole huge pages from 512 KiB), so the op cannot win by its allocator; "plain" reduces into
``np.empty_like``, as plain mpi4py code does. Each op is timed with both in --rounds rounds of one call
each, in a random order (every call after a Barrier), so load from other processes falls on all alike.
The table gives throughput from the medians and the op's speed over each baseline's (ratio of the medians
and median of the per-round ratios); ``--json`` adds the ratio of the fastest quartiles and each call's
interquartile range. The average is compared with the raw sum: averaging is the op's extra work, not the
baseline's. Scaling efficiency is an MLP training step's
samples/s on 2 ranks (each rank a full batch, Horovod's weak scaling) over 2x the samples/s of 1 rank.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import tensorflux as tf

SIZES_MB = (1, 4, 16, 64)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="timed rounds per buffer (medians reported)")
    parser.add_argument("--steps", type=int, default=200, help="timed training steps for the scaling figure")
    parser.add_argument("--ranks", type=int, default=2, help="ranks for the allreduce and scaling runs")
    parser.add_argument("--sizes", type=lambda v: [float(x) for x in v.split(",")], default=list(SIZES_MB),
                        help="buffer sizes in MB, comma-separated (default 1,4,16,64)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-scaling", action="store_true", help="measure the allreduce alone")
    parser.add_argument("--worker", choices=("allreduce", "train"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _alternating_times(variants: dict, rounds: int, comm) -> dict:
    """Seconds per call of each variant, ``rounds`` each, every round running all of them.

    Within a round the variants run one after another in a random order (the same on every rank: one
    seed), so a burst of load from other processes lands on all of them alike, and no variant always
    follows the same one: at 16 MB what the previous call left in the cache moves a call by 20%.
    """
    names = list(variants)
    order = random.Random(0)
    for fn in variants.values():  # the first calls pay for connection setup and buffer registration
        fn()
        fn()
    times: dict = {name: [] for name in names}
    for _ in range(rounds):
        for name in order.sample(names, len(names)):
            # Ranks start each call together, so no call is timed while waiting for a late peer.
            comm.Barrier()
            start = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - start)
    return times


def _q1(times: list) -> float:
    return statistics.quantiles(times, n=4)[0]


def _spread(times: list) -> list:
    """The interquartile range of ``times``, in ms."""
    q1, _, q3 = statistics.quantiles(times, n=4)
    return [q1 * 1e3, q3 * 1e3]


def _huge_page_empty(like: np.ndarray) -> np.ndarray:
    """An array like ``like`` in whole 2 MiB huge pages from 512 KiB on, as the op allocates its outputs
    (Linux; else numpy's)."""
    huge = 2 << 20
    if like.nbytes < 512 << 10 or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.empty_like(like)
    length = -(-like.nbytes // huge) * huge
    region = mmap.mmap(-1, length + huge, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    start = -np.frombuffer(region, np.uint8, count=1).ctypes.data % huge
    region.madvise(mmap.MADV_HUGEPAGE, start, length)
    return np.frombuffer(region, like.dtype, count=like.size, offset=start).reshape(like.shape)


def _times_for(mb: float, rounds: int, comm, mpi) -> dict:
    data = np.random.default_rng(comm.Get_rank()).random(int(mb * 2**20) // 4, dtype=np.float32)
    # Two baselines: mpi4py's call into an output allocated as the op allocates its own (huge pages help
    # Open MPI's shared-memory copies, and with numpy's allocation the op would win by its allocator alone),
    # and the same call into np.empty_like, as plain mpi4py code allocates it.
    out, plain_out = _huge_page_empty(data), np.empty_like(data)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [data.size])
        [summed] = tf.distribute.allreduce([x], average=False)
        [averaged] = tf.distribute.allreduce([x], average=True)
        with tf.Session() as sess:
            # The same input array for all; the raw calls reduce into preallocated outputs, as the op
            # reuses its output buffer once the last result is dropped (the results here are). Each op is
            # timed with raw calls alone: the sum and average ops share their output buffer, so timed
            # together each would often find it in the cache where the raw call's was evicted.
            raw = {"raw": lambda: comm.Allreduce(data, out, op=mpi.SUM),
                   "plain": lambda: comm.Allreduce(data, plain_out, op=mpi.SUM)}
            groups = {name: _alternating_times({**raw, name: lambda op=op: sess.run(op, {x: data})}, rounds, comm)
                      for name, op in (("sum", summed), ("avg", averaged))}
    return {f"{name}/{variant}": t for name, group in groups.items() for variant, t in group.items()}


def _ratios(times: dict, op: str, base: str) -> dict:
    """The baseline's time over the op's, three ways: of the medians, the median of the per-round ratios
    (calls of one round saw alike load: less noisy), and of the fastest quartiles (the calls no other
    process interrupted, on a loaded machine)."""
    ops, bases = times[f"{op}/{op}"], times[f"{op}/{base}"]
    return {"medians": statistics.median(bases) / statistics.median(ops),
            "per_round": statistics.median(b / o for b, o in zip(bases, ops)),
            "q1": _q1(bases) / _q1(ops)}


def _allreduce_worker(rounds: int, sizes: list) -> dict:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rows = []
    for mb in sizes:
        times = _times_for(mb, rounds, comm, MPI)
        nbytes = int(mb * 2**20)
        gbps = {key.replace("/", "_"): nbytes / statistics.median(t) / 1e9 for key, t in times.items()}
        rows.append({
            "mb": mb, "gbps": gbps,
            # The average is compared with the raw *sum*: averaging is the op's extra work, not the baseline's.
            "ratios": {f"{op}_vs_{base}": _ratios(times, op, base) for op in ("sum", "avg") for base in ("raw", "plain")},
            "iqr_ms": {key: _spread(t) for key, t in times.items()},
        })
    return {"ranks": comm.Get_size(), "rounds": rounds, "allreduce": rows}


def _train_worker(steps: int) -> dict:
    batch = 100
    rng = np.random.default_rng(tf.distribute.rank())
    images = rng.random((batch, 784), dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x, y = tf.placeholder(tf.float32, [None, 784]), tf.placeholder(tf.int64, [None])
        h = tf.nn.relu(tf.matmul(x, tf.Variable(tf.truncated_normal([784, 512], stddev=0.03))))
        logits = tf.matmul(h, tf.Variable(tf.truncated_normal([512, 10], stddev=0.03)))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = tf.distribute.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1)).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(tf.distribute.broadcast_global_variables(0))
            for _ in range(10):
                sess.run(train, {x: images, y: labels})
            start = time.perf_counter()
            for _ in range(steps):
                sess.run(train, {x: images, y: labels})
            elapsed = time.perf_counter() - start
    return {"ranks": tf.distribute.size(), "samples_per_s": tf.distribute.size() * batch * steps / elapsed}


def _launch(ranks: int, *args: str) -> dict:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [str(mpiexec if mpiexec.is_file() else "mpiexec"), "--allow-run-as-root", "--oversubscribe", "-n", str(ranks),
           sys.executable, __file__, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        tf.distribute.init()
        result = _allreduce_worker(args.rounds, args.sizes) if args.worker == "allreduce" else _train_worker(args.steps)
        if tf.distribute.is_chief():
            print(json.dumps(result), flush=True)
        return 0
    report = _launch(args.ranks, "--worker", "allreduce", "--rounds", str(args.rounds),
                     "--sizes", ",".join(map(str, args.sizes)))
    if not args.no_scaling:
        one = _launch(1, "--worker", "train", "--steps", str(args.steps))["samples_per_s"]
        many = _launch(args.ranks, "--worker", "train", "--steps", str(args.steps))["samples_per_s"]
        report["scaling"] = {"samples_per_s_1": one, f"samples_per_s_{args.ranks}": many,
                             "efficiency": many / (args.ranks * one)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"allreduce across {report['ranks']} ranks, float32, {args.rounds} alternating rounds. GB/s of the medians "
          "(raw: mpi4py into an output allocated as the op's; plain: into np.empty_like); op/baseline speed, "
          "as the ratio of the medians / the median of the per-round ratios")
    print(f"{'MB':>4} {'raw GB/s':>9} {'plain GB/s':>11} {'sum GB/s':>9} {'avg GB/s':>9}   {'sum/raw':>9} {'avg/raw':>9}"
          f" {'sum/plain':>9} {'avg/plain':>9}")
    for r in report["allreduce"]:
        g, ratios = r["gbps"], r["ratios"]
        pair = {k: f"{v['medians']:.2f}/{v['per_round']:.2f}" for k, v in ratios.items()}
        print(f"{r['mb']:>4g} {g['sum_raw']:>9.2f} {g['sum_plain']:>11.2f} {g['sum_sum']:>9.2f} {g['avg_avg']:>9.2f}   "
              f"{pair['sum_vs_raw']:>9} {pair['avg_vs_raw']:>9} {pair['sum_vs_plain']:>9} {pair['avg_vs_plain']:>9}")
    if not args.no_scaling:
        s = report["scaling"]
        print(f"scaling: {one:.0f} samples/s on 1 rank, {many:.0f} on {args.ranks}: efficiency {s['efficiency']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
