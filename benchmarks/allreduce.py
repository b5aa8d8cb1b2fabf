"""Allreduce throughput of tf.distribute against mpi4py's own Allreduce, and data-parallel scaling efficiency.

    python benchmarks/allreduce.py            # launches itself under mpiexec -n 2 (and -n 1 for scaling)
    python benchmarks/allreduce.py --json

Buffers of 1, 4, 16 and 64 MB of float32 are reduced three ways on the same arrays: mpi4py's
``Comm.Allreduce`` (the baseline), the ``MpiAllreduce`` op summing (``average=False``) and averaging, both
run through ``tf.Session``. Medians over --rounds. Scaling efficiency is an MLP training step's samples/s
on 2 ranks (each rank a full batch, Horovod's weak scaling) over 2x the samples/s of 1 rank.
"""

from __future__ import annotations

import argparse
import json
import os
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
    parser.add_argument("--rounds", type=int, default=30, help="timed repetitions per buffer (median reported)")
    parser.add_argument("--steps", type=int, default=200, help="timed training steps for the scaling figure")
    parser.add_argument("--ranks", type=int, default=2, help="ranks for the allreduce and scaling runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--worker", choices=("allreduce", "train"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _median_s(fn, rounds: int, comm) -> float:
    fn()  # the first call pays for connection setup and buffer registration
    times = []
    for _ in range(rounds):
        # Ranks start each call together, so no call is timed while waiting for a late peer.
        comm.Barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _allreduce_worker(rounds: int) -> dict:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rows = []
    for mb in SIZES_MB:
        data = np.random.default_rng(comm.Get_rank()).random((mb << 20) // 4, dtype=np.float32)
        out = np.empty_like(data)
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [data.size])
            [summed] = tf.distribute.allreduce([x], average=False)
            [averaged] = tf.distribute.allreduce([x], average=True)
            with tf.Session() as sess:
                # Default arguments bind this iteration's buffers and tensors (the calls run right away anyway).
                raw = _median_s(lambda d=data, o=out: comm.Allreduce(d, o, op=MPI.SUM), rounds, comm)
                op_sum = _median_s(lambda s=sess, t=summed, f={x: data}: s.run(t, f), rounds, comm)
                op_avg = _median_s(lambda s=sess, t=averaged, f={x: data}: s.run(t, f), rounds, comm)
        rows.append({"mb": mb, "raw_gbps": data.nbytes / raw / 1e9, "op_sum_gbps": data.nbytes / op_sum / 1e9,
                     "op_avg_gbps": data.nbytes / op_avg / 1e9, "sum_vs_raw": raw / op_sum, "avg_vs_raw": raw / op_avg})
    return {"ranks": comm.Get_size(), "allreduce": rows}


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
    one = _launch(1, "--worker", "train", "--steps", str(args.steps))["samples_per_s"]
    many = _launch(args.ranks, "--worker", "train", "--steps", str(args.steps))["samples_per_s"]
    report["scaling"] = {"samples_per_s_1": one, f"samples_per_s_{args.ranks}": many,
                         "efficiency": many / (args.ranks * one)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"allreduce across {report['ranks']} ranks, float32, median of {args.rounds}")
    print(f"{'MB':>4} {'mpi4py GB/s':>12} {'op sum GB/s':>12} {'sum/raw':>8} {'op avg GB/s':>12} {'avg/raw':>8}")
    for r in report["allreduce"]:
        print(f"{r['mb']:>4} {r['raw_gbps']:>12.2f} {r['op_sum_gbps']:>12.2f} {r['sum_vs_raw']:>8.2f} "
              f"{r['op_avg_gbps']:>12.2f} {r['avg_vs_raw']:>8.2f}")
    s = report["scaling"]
    print(f"scaling: {one:.0f} samples/s on 1 rank, {many:.0f} on {args.ranks}: efficiency {s['efficiency']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
