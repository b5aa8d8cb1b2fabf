"""The cuda plugin's check on a GPU machine: conformance on /cuda:0, the MNIST CNN against the cpu, and the
CNN's training step timed against PyTorch eager on the same model and batch.

Usage: ``python benchmarks/gpu_check.py [--steps N] [--timing-steps N] [--data-dir DIR] [--skip-conformance]
[--skip-training] [--conformance-args ARGS] [--json]``

1. Runs core's device conformance suite with ``--device cuda`` (in a child pytest) and counts the outcomes.
2. Trains ``examples/mnist_cnn.py`` for ``--steps`` steps on ``/cuda:0`` and on ``/cpu:0`` and compares the test
   accuracies (within 0.005 passes; needs the MNIST files, see ``tf.datasets.mnist.default_dir``).
3. Times the training step of that CNN (batch 50, Adam, dropout 0.5, fetching the loss) in tensorflux on
   ``/cuda:0`` and in PyTorch eager on ``cuda:0`` (conv 5x5x32, pool, conv 5x5x64, pool, fc 1024, fc 10), each
   copying the batch from the host every step, and reports medians and their ratio (target: at most 1.2).

Exits 0 when every check passed, 1 when one failed, 2 (saying why) when there is no GPU to check.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RATIO_TARGET = 1.2
ACCURACY_SLACK = 0.005


def gpu_problem() -> str:
    """'' when the cuda plugin sees a GPU, else why not."""
    try:
        from tensorflux_cuda.probe import find_gpus
    except ImportError as exc:
        return f"the tensorflux-cuda plugin is not installed ({exc}); `pip install -e plugins/cuda`"
    count, why = find_gpus()
    return "" if count else why


def run_conformance(extra: list[str]) -> dict:
    """Core's conformance suite on the cuda device, in a child pytest: its outcome counts and wall time."""
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "tensorflux.testing.conformance", "--device", "cuda", "-q",
           "-p", "no:cacheprovider", "-o", "addopts=", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error|errors)", proc.stdout)}
    failures = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return {"returncode": proc.returncode, "counts": counts, "failures": failures[:20],
            "seconds": round(time.perf_counter() - start, 1), "ok": proc.returncode == 0 and not counts.get("failed")}


def _mnist_cnn() -> Any:
    spec = importlib.util.spec_from_file_location("mnist_cnn_example", REPO / "examples" / "mnist_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_accuracy(device: str, steps: int, data_dir: str | None) -> tuple[float | None, str]:
    """(test accuracy of examples/mnist_cnn.py trained on ``device``, its summary line) or (None, why it did not
    run)."""
    import tensorflux as tf

    example = _mnist_cnn()
    argv = ["--device", device, "--steps", str(steps), "--no-progress"] + (["--data-dir", data_dir] if data_dir else [])
    out = io.StringIO()
    try:
        with tf.Graph().as_default(), contextlib.redirect_stdout(out):
            accuracy = example.main(argv)
    except SystemExit as exc:  # the example exits with a message when the MNIST files are missing
        return None, str(exc.code)
    return float(accuracy), out.getvalue().strip()


def _batch(batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.random((batch, 784), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    return images, labels


def _median_ms(step: Any, steps: int, warmup: int = 10) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def tensorflux_step_ms(steps: int, batch: int = 50, device: str = "/cuda:0") -> float:
    """Median ms of one training step of examples/mnist_cnn.py's model on ``device``, fetching the loss."""
    import tensorflux as tf

    example = _mnist_cnn()
    graph = tf.Graph()
    with graph.as_default(), tf.device(device):
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.float32, [None, 10])
        logits, keep_prob = example.deepnn(x)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
        train = tf.train.AdamOptimizer(1e-3).minimize(loss)
        init = tf.global_variables_initializer()
    images, labels = _batch(batch)
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        feed = {x: images, y_: labels, keep_prob: 0.5}
        return _median_ms(lambda: sess.run([train, loss], feed), steps)


def torch_step_ms(steps: int, batch: int = 50) -> tuple[float | None, str]:
    """Median ms of the same model's training step in PyTorch eager on cuda:0, or (None, why not)."""
    try:
        import torch
        from torch import nn
    except ImportError as exc:
        return None, f"PyTorch is not installed ({exc})"
    if not torch.cuda.is_available():
        return None, "PyTorch sees no CUDA device"
    torch.manual_seed(0)
    gpu = torch.device("cuda:0")
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 10),
    ).to(gpu)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, labels = _batch(batch)

    def step() -> float:
        x = torch.from_numpy(images).to(gpu).view(-1, 1, 28, 28)
        y = torch.from_numpy(labels).to(gpu)
        optimizer.zero_grad(set_to_none=True)
        loss = -(y * torch.log_softmax(model(x), dim=1)).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
        return loss.item()  # a host read, as tensorflux's fetch of the loss

    return _median_ms(step, steps), f"torch {torch.__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="MNIST CNN training steps, on each device")
    parser.add_argument("--timing-steps", type=int, default=50, help="timed training steps per framework")
    parser.add_argument("--skip-conformance", action="store_true", help="do not run the conformance suite")
    parser.add_argument("--skip-training", action="store_true", help="do not train the MNIST CNN")
    parser.add_argument("--data-dir", default=None, help="the MNIST files (default: the example's own default)")
    parser.add_argument("--conformance-args", default="", help="extra pytest arguments, e.g. '-x -k MatMul'")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    why = gpu_problem()
    if why:
        print(f"gpu_check: no GPU to check: {why}", file=sys.stderr)
        return 2
    report: dict = {}
    checks: dict = {}
    if not args.skip_conformance:
        report["conformance"] = run_conformance(args.conformance_args.split())
        checks["conformance"] = report["conformance"]["ok"]
    if not args.skip_training:
        gpu_acc, gpu_note = train_accuracy("/cuda:0", args.steps, args.data_dir)
        cpu_acc, cpu_note = (train_accuracy("/cpu:0", args.steps, args.data_dir) if gpu_acc is not None
                             else (None, gpu_note))
        report["mnist_cnn"] = {"steps": args.steps, "cuda": gpu_acc, "cpu": cpu_acc, "cuda_run": gpu_note,
                               "cpu_run": cpu_note}
        if gpu_acc is not None and cpu_acc is not None:
            checks["accuracy"] = gpu_acc >= cpu_acc - ACCURACY_SLACK
    tfx = tensorflux_step_ms(args.timing_steps)
    torch_ms, torch_note = torch_step_ms(args.timing_steps)
    report["step_time_ms"] = {"tensorflux_cuda": round(tfx, 3), "torch_eager": torch_ms and round(torch_ms, 3),
                              "torch": torch_note, "ratio": torch_ms and round(tfx / torch_ms, 3),
                              "target_ratio": RATIO_TARGET}
    if torch_ms:
        checks["step_time"] = tfx / torch_ms <= RATIO_TARGET
    report["checks"] = checks
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0 if checks and all(checks.values()) else 1


def _print(report: dict) -> None:
    if "conformance" in report:
        c = report["conformance"]
        print(f"conformance on /cuda:0: {c['counts']} in {c['seconds']} s")
        for line in c["failures"]:
            print(f"  {line}")
    if "mnist_cnn" in report:
        m = report["mnist_cnn"]
        print(f"mnist_cnn, {m['steps']} steps: test accuracy cuda {m['cuda']}, cpu {m['cpu']}")
        for key in ("cuda_run", "cpu_run"):
            print(f"  {key}: {m[key]}")
    s = report["step_time_ms"]
    print(f"training step (median): tensorflux /cuda:0 {s['tensorflux_cuda']} ms, PyTorch eager {s['torch_eager']} ms "
          f"({s['torch']}); ratio {s['ratio']} (target <= {s['target_ratio']})")
    print("checks: " + ", ".join(f"{k} {'passed' if v else 'FAILED'}" for k, v in report["checks"].items()))


if __name__ == "__main__":
    sys.exit(main())
