"""Allreduce throughput of tf.distribute against mpi4py's own Allreduce, and data-parallel scaling efficiency.

    python benchmarks/allreduce.py            # launches itself under mpiexec -n 2 (and -n 1 for scaling)
    python benchmarks/allreduce.py --json

Buffers of 1, 4, 16 and 64 MB of float32 are reduced three ways on the same arrays: mpi4py's
``Comm.Allreduce`` (the baseline), the ``MpiAllreduce`` op summing (``average=False``) and averaging, both
run through ``tf.Session``. Each op is timed against raw calls in --rounds rounds of one call each, in a
random order (every call after a Barrier), so load from other processes falls on both alike; the table
gives the medians, the median of the per-round ratios, the ratio of the fastest quartiles, and each
call's interquartile range. The raw call reduces into an output buffer allocated as the op's are (whole
huge pages), so neither wins by its allocator. The average is compared with the raw
sum: averaging is the op's extra work, not the baseline's. Scaling efficiency is an MLP training step's
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
    """An array like ``like`` in whole 2 MiB huge pages, as the op allocates its outputs (Linux; else numpy's)."""
    huge = 2 << 20
    if like.nbytes < huge or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.empty_like(like)
    length = -(-like.nbytes // huge) * huge
    region = mmap.mmap(-1, length + huge, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    start = -np.frombuffer(region, np.uint8, count=1).ctypes.data % huge
    region.madvise(mmap.MADV_HUGEPAGE, start, length)
    return np.frombuffer(region, like.dtype, count=like.size, offset=start).reshape(like.shape)


def _times_for(mb: int, rounds: int, comm, mpi) -> dict:
    data = np.random.default_rng(comm.Get_rank()).random((mb << 20) // 4, dtype=np.float32)
    # The raw call's output is allocated as the op allocates its own: huge pages speed up Open MPI's
    # shared-memory copies, and with numpy's allocation the op would win by its allocator alone.
    out = _huge_page_empty(data)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [data.size])
        [summed] = tf.distribute.allreduce([x], average=False)
        [averaged] = tf.distribute.allreduce([x], average=True)
        with tf.Session() as sess:
            # The same input array for all; the raw call reduces into one preallocated output, as the op
            # reuses its output buffer once the last result is dropped (the results here are). Each op is
            # paired with raw calls alone: the sum and average ops share their output buffer, so timed
            # together each would often find it in the cache where the raw call's was evicted.
            raw = {"raw": lambda: comm.Allreduce(data, out, op=mpi.SUM)}
            pairs = {name: _alternating_times({**raw, name: lambda op=op: sess.run(op, {x: data})}, rounds, comm)
                     for name, op in (("sum", summed), ("avg", averaged))}
    return {"raw": pairs["sum"]["raw"], "sum": pairs["sum"]["sum"], "raw_avg": pairs["avg"]["raw"],
            "avg": pairs["avg"]["avg"]}


def _allreduce_worker(rounds: int) -> dict:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rows = []
    for mb in SIZES_MB:
        times = _times_for(mb, rounds, comm, MPI)
        med = {name: statistics.median(t) for name, t in times.items()}
        nbytes = mb << 20
        rows.append({
            "mb": mb, "raw_gbps": nbytes / med["raw"] / 1e9, "op_sum_gbps": nbytes / med["sum"] / 1e9,
            "op_avg_gbps": nbytes / med["avg"] / 1e9, "sum_vs_raw": med["raw"] / med["sum"],
            "avg_vs_raw": med["raw_avg"] / med["avg"],
            # Ratios of the calls of one round, whose load was alike: less noisy than the ratio of medians.
            "sum_vs_raw_per_round": statistics.median(r / o for r, o in zip(times["raw"], times["sum"])),
            "avg_vs_raw_per_round": statistics.median(r / o for r, o in zip(times["raw_avg"], times["avg"])),
            # The fastest quarter of each: on a loaded machine the calls no other process interrupted.
            "sum_vs_raw_q1": _q1(times["raw"]) / _q1(times["sum"]),
            "avg_vs_raw_q1": _q1(times["raw_avg"]) / _q1(times["avg"]),
            "iqr_ms": {name: _spread(t) for name, t in times.items() if name != "raw_avg"},
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
        result = _allreduce_worker(args.rounds) if args.worker == "allreduce" else _train_worker(args.steps)
        if tf.distribute.is_chief():
            print(json.dumps(result), flush=True)
        return 0
    report = _launch(args.ranks, "--worker", "allreduce", "--rounds", str(args.rounds))
    if not args.no_scaling:
        one = _launch(1, "--worker", "train", "--steps", str(args.steps))["samples_per_s"]
        many = _launch(args.ranks, "--worker", "train", "--steps", str(args.steps))["samples_per_s"]
        report["scaling"] = {"samples_per_s_1": one, f"samples_per_s_{args.ranks}": many,
                             "efficiency": many / (args.ranks * one)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"allreduce across {report['ranks']} ranks, float32, {args.rounds} alternating rounds; GB/s of the medians; "
          "ratios to raw: of the medians / median of per-round ratios / of the fastest quartiles; IQR of a call, ms")
    print(f"{'MB':>4} {'mpi4py GB/s':>12} {'op sum GB/s':>12} {'sum/raw':>16} {'op avg GB/s':>12} {'avg/raw':>16}"
          f"  {'IQR raw':>13} {'IQR sum':>13} {'IQR avg':>13}")
    for r in report["allreduce"]:
        iqr = "".join(f"  {lo:>6.2f}-{hi:<6.2f}" for lo, hi in (r["iqr_ms"][k] for k in ("raw", "sum", "avg")))
        ratios = {k: f"{r[f'{k}_vs_raw']:.2f}/{r[f'{k}_vs_raw_per_round']:.2f}/{r[f'{k}_vs_raw_q1']:.2f}"
                  for k in ("sum", "avg")}
        print(f"{r['mb']:>4} {r['raw_gbps']:>12.2f} {r['op_sum_gbps']:>12.2f} {ratios['sum']:>16} "
              f"{r['op_avg_gbps']:>12.2f} {ratios['avg']:>16}{iqr}")
    if not args.no_scaling:
        s = report["scaling"]
        print(f"scaling: {one:.0f} samples/s on 1 rank, {many:.0f} on {args.ranks}: efficiency {s['efficiency']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
