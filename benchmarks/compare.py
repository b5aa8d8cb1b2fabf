"""Run every workload in tensorflux and (where installed) TensorFlow 1.x graph mode, side by side.

Usage: ``python -m benchmarks.compare [--size tiny] [--only NAME ...] [--rounds N] [--json]``

Both frameworks run in this one process, alternating round by round after a warm-up, so that a
noisy machine slows both alike. Figures are medians over rounds; ratios are tensorflux / TF.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

from benchmarks.workloads import WORKLOADS


def _load_tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow.compat.v1 as tf1
    except ImportError:
        return None
    tf1.disable_eager_execution()
    return tf1


def _time_steps(step: Any, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def _calibrate(step: Any, budget: float) -> int:
    t = _time_steps(step, 1)
    return max(1, min(20000, int(budget / max(t, 1e-7))))


def _figure(name: str, seconds: float, size: str) -> float:
    unit = WORKLOADS[name][1]
    if unit == "us":
        return seconds * 1e6
    if unit == "ms":
        return seconds * 1e3
    if unit == "img/s":
        return (1000 if size == "full" else 3) / seconds
    n = 1024 if size == "full" else 16
    return 2 * n**3 / seconds / 1e9


def numpy_matmul_gflops(size: str, rounds: int) -> float:
    n = 1024 if size == "full" else 16
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    np.matmul(a, b)
    times = [_time_steps(lambda: np.matmul(a, b), 3) for _ in range(rounds)]
    return 2 * n**3 / statistics.median(times) / 1e9


def compare(names: list[str], size: str, rounds: int, budget: float, with_tf: bool = True) -> list[dict]:
    import tensorflux

    tf1 = _load_tf() if with_tf else None
    frameworks = {"tensorflux": tensorflux}
    if tf1 is not None:
        frameworks["tensorflow"] = tf1
    results = []
    for name in names:
        build = WORKLOADS[name][0]
        steps = {fw: build(mod, size) for fw, mod in frameworks.items()}
        counts = {}
        for fw, (_, step) in steps.items():
            step()
            counts[fw] = _calibrate(step, budget)
            _time_steps(step, counts[fw])
        samples: dict[str, list[float]] = {fw: [] for fw in steps}
        for _ in range(rounds):
            for fw, (_, step) in steps.items():
                samples[fw].append(_time_steps(step, counts[fw]))
        row: dict[str, Any] = {"workload": name, "unit": WORKLOADS[name][1]}
        for fw in steps:
            row[fw] = _figure(name, statistics.median(samples[fw]), size)
        if "tensorflow" in row:
            row["ratio"] = row["tensorflux"] / row["tensorflow"]
        if name == "matmul_1024":
            row["numpy"] = numpy_matmul_gflops(size, rounds)
            row["vs_numpy"] = row["tensorflux"] / row["numpy"]
        for sess, _ in steps.values():
            sess.close()
        results.append(row)
    return results


def peak_memory(framework: str, size: str, steps: int) -> float | None:
    """Peak RSS (MiB) of a fresh process that trains the CNN ``steps`` times in ``framework``."""
    code = (
        "import resource, sys\n"
        "from benchmarks.workloads import cnn_train_step\n"
        "from benchmarks.compare import _load_tf\n"
        f"fw = {framework!r}\n"
        "if fw == 'tensorflux':\n    import tensorflux as mod\n"
        "else:\n    mod = _load_tf()\n    assert mod is not None\n"
        f"sess, step = cnn_train_step(mod, {size!r})\n"
        f"for _ in range({steps}):\n    step()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if proc.returncode != 0:
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the comparison table (or JSON).

    Example:
        >>> from benchmarks.compare import main
        >>> main(["--size", "tiny", "--only", "run_overhead", "--rounds", "1"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=["full", "tiny"], default="full")
    parser.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="run only these workloads")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per workload (median reported)")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per framework per round")
    parser.add_argument("--memory-steps", type=int, default=20, help="CNN steps for the peak-RSS figure (0: skip)")
    parser.add_argument("--no-tf", action="store_true", help="run tensorflux only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = args.only or list(WORKLOADS)
    results = compare(names, args.size, args.rounds, args.budget, with_tf=not args.no_tf)
    memory = {}
    if args.memory_steps:
        for fw in ("tensorflux",) if args.no_tf else ("tensorflux", "tensorflow"):
            memory[fw] = peak_memory(fw, args.size, args.memory_steps)
    report = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                         f"Python {platform.python_version()}",
              "results": results, "peak_rss_mib_cnn_training": memory}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"machine: {report['machine']}")
    header = ["workload", "unit", "tensorflux", "tensorflow", "ratio", "numpy", "vs_numpy"]
    rows = [[_fmt(r.get(h)) for h in header] for r in results]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    for line in [header] + rows:
        print("  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))))
    if memory:
        print("peak RSS training the CNN (MiB): " + ", ".join(f"{k} {_fmt(v)}" for k, v in memory.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
