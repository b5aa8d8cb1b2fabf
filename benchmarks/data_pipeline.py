"""The CNN training step fed three ways: numpy batches through ``feed_dict``, ``tf.data`` without prefetching, and
``tf.data`` with ``prefetch``; medians side by side from one run.

Usage: ``python -m benchmarks.data_pipeline [--size tiny] [--rounds N] [--steps N] [--tf] [--json]``

Every variant trains the same deep-MNIST CNN (workload 4 of ``benchmarks.workloads``) on the same synthetic
60,000-image set, reshuffled each epoch, batch 50: the feed variant slices its batches from a permutation with
numpy, as ``mnist.next_batch`` does; the pipelines are ``from_tensor_slices -> shuffle -> repeat -> batch
[-> prefetch]``. Rounds alternate between the variants, so a noisy machine slows all alike. ``--tf`` adds
TensorFlow's compat.v1 running the same three variants.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np

from benchmarks.workloads import _cnn, _session

VARIANTS = ("feed_dict", "tf.data", "tf.data+prefetch")


def _images(size: str) -> tuple[np.ndarray, np.ndarray]:
    n = 60_000 if size == "full" else 64
    rng = np.random.default_rng(0)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)


class _NumpyBatches:
    """``mnist.next_batch`` in miniature: consecutive slices of a permutation, reshuffled each epoch."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray, batch: int) -> None:
        self.xs, self.ys, self.batch = xs, ys, batch
        self.rng = np.random.default_rng(1)
        self.order, self.at = self.rng.permutation(len(xs)), 0

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        if self.at + self.batch > len(self.order):
            self.order, self.at = self.rng.permutation(len(self.xs)), 0
        rows = self.order[self.at:self.at + self.batch]
        self.at += self.batch
        return self.xs[rows], self.ys[rows]


def build(tf: Any, variant: str, size: str) -> tuple[Any, Callable[[], Any]]:
    """``(session, step)`` of the CNN training step fed as ``variant`` says, in framework ``tf``."""
    batch = 50 if size == "full" else 2
    xs, ys = _images(size)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        keep_prob = tf.placeholder_with_default(0.5, [])
        if variant == "feed_dict":
            images, labels = tf.placeholder(tf.float32, [None, 784]), tf.placeholder(tf.int64, [None])
        else:
            dataset = tf.data.Dataset.from_tensor_slices((xs, ys)).shuffle(10 * batch, seed=1).repeat().batch(batch)
            if variant == "tf.data+prefetch":
                dataset = dataset.prefetch(2)
            images, labels = tf.data.make_one_shot_iterator(dataset).get_next()
        logits = _cnn(tf, images, keep_prob)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = tf.train.AdamOptimizer(1e-4).minimize(loss)
        init = tf.global_variables_initializer()
    sess = _session(tf, graph)
    sess.run(init)
    if variant != "feed_dict":
        return sess, lambda: sess.run(train)
    batches = _NumpyBatches(xs, ys, batch)

    def fed_step() -> Any:
        x, y = batches.next()
        return sess.run(train, {images: x, labels: y})

    return sess, fed_step


def measure(frameworks: dict, size: str, rounds: int, steps: int) -> dict:
    """``{framework: {variant: median ms per step}}``, rounds alternating over every (framework, variant)."""
    built = {(name, v): build(tf, v, size) for name, tf in frameworks.items() for v in VARIANTS}
    for _, step in built.values():  # warm-up: plans compiled, kernels jitted, pipelines started
        for _ in range(3):
            step()
    times: dict = {key: [] for key in built}
    for _ in range(rounds):
        for key, (_, step) in built.items():
            start = time.perf_counter()
            for _ in range(steps):
                step()
            times[key].append((time.perf_counter() - start) / steps * 1e3)
    for sess, _ in built.values():
        sess.close()
    return {name: {v: statistics.median(times[(name, v)]) for v in VARIANTS} for name in frameworks}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=["full", "tiny"], default="full")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (median reported)")
    parser.add_argument("--steps", type=int, default=10, help="training steps per variant per round")
    parser.add_argument("--tf", action="store_true", help="also run TensorFlow's compat.v1")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import tensorflux

    frameworks = {"tensorflux": tensorflux}
    if args.tf:
        from benchmarks.compare import _load_tf

        tf1 = _load_tf()
        if tf1 is None:
            print("TensorFlow is not installed; running tensorflux only", file=sys.stderr)
        else:
            frameworks["tensorflow"] = tf1
    report = measure(frameworks, args.size, args.rounds, args.steps)
    if args.json:
        print(json.dumps({"unit": "ms/step", "size": args.size, "rounds": args.rounds, "results": report}))
        return 0
    print(f"CNN training step, batch {50 if args.size == 'full' else 2}, median ms/step over {args.rounds} rounds")
    print(f"{'framework':<12}" + "".join(f"{v:>18}" for v in VARIANTS) + f"{'prefetch/feed':>15}")
    for name, row in report.items():
        ratio = row["tf.data+prefetch"] / row["feed_dict"]
        print(f"{name:<12}" + "".join(f"{row[v]:>18.2f}" for v in VARIANTS) + f"{ratio:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
