"""Run every workload in tensorflux and (where installed) TensorFlow 1.x graph mode, side by side.

Usage: ``python -m benchmarks.compare [--size tiny] [--only NAME ...] [--rounds N] [--opencl] [--passes] [--json]``

Both frameworks run in this one process, alternating round by round after a warm-up, so that a
noisy machine slows both alike. Figures are medians over rounds; ratios are tensorflux / TF. With
``--opencl`` the tensorflux workloads also run placed on the OpenCL device (column ``opencl``, and
``opencl/cpu`` = opencl / tensorflux on the cpu plugin).
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

from benchmarks.workloads import WORKLOADS, on_device


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


def numpy_matmul(size: str) -> tuple[None, Any]:
    """numpy's own matmul of workload (6), as a step that runs in the alternation beside the frameworks."""
    n = 1024 if size == "full" else 16
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    return None, lambda: np.matmul(a, b)


def opencl_available() -> bool:
    """Whether tensorflux has an OpenCL device (the tensorflux-opencl plugin found one)."""
    from tensorflux.extend import list_devices

    return any(d.device_type == "opencl" for d in list_devices())


# Columns of --passes: tensorflux with these graph passes switched off (TENSORFLUX_DISABLE_PASSES).
PASS_COLUMNS = {"no_cse": "cse", "no_folding": "constant_folding", "no_fusion": "fusion", "no_passes": "all"}


def without_passes(disabled: str, build: Any) -> Any:
    """``build``, with its plans compiled while ``TENSORFLUX_DISABLE_PASSES=disabled`` (on the first step).

    Example:
        >>> from benchmarks.workloads import run_overhead
        >>> build = without_passes("all", run_overhead)  # doctest: +SKIP
    """
    def wrapped(mod: Any, size: str) -> tuple[Any, Any]:
        sess, step = build(mod, size)
        compiled = []

        def first_then_plain() -> Any:
            if compiled:
                return step()
            previous = os.environ.get("TENSORFLUX_DISABLE_PASSES")
            os.environ["TENSORFLUX_DISABLE_PASSES"] = disabled
            try:
                return step()
            finally:
                compiled.append(True)
                if previous is None:
                    del os.environ["TENSORFLUX_DISABLE_PASSES"]
                else:
                    os.environ["TENSORFLUX_DISABLE_PASSES"] = previous

        return sess, first_then_plain

    return wrapped


def compare(names: list[str], size: str, rounds: int, budget: float, with_tf: bool = True,
            opencl: bool = False, passes: bool = False, settle: float = 0.0) -> list[dict]:
    import tensorflux

    tf1 = _load_tf() if with_tf else None
    frameworks = {"tensorflux": (tensorflux, None)}
    if opencl:  # the same tensorflux workloads again, placed on the OpenCL device
        frameworks["opencl"] = (tensorflux, "opencl")
    if passes:  # tensorflux again, with graph passes switched off, to show what each one does
        frameworks.update({column: (tensorflux, ("passes", off)) for column, off in PASS_COLUMNS.items()})
    if tf1 is not None:
        frameworks["tensorflow"] = (tf1, None)

    def builder(build: Any, dev: Any) -> Any:
        if isinstance(dev, tuple):
            return without_passes(dev[1], build)
        return on_device(dev, build) if dev else build

    results = []
    for name in names:
        build = WORKLOADS[name][0]
        steps = {fw: builder(build, dev)(mod, size) for fw, (mod, dev) in frameworks.items()}
        if name == "matmul_1024":  # numpy's own, measured in the same alternation
            steps["numpy"] = numpy_matmul(size)
        counts = {}
        for fw, (_, step) in steps.items():
            step()
            counts[fw] = _calibrate(step, budget)
            _time_steps(step, counts[fw])
        samples: dict[str, list[float]] = {fw: [] for fw in steps}
        for _ in range(rounds):
            for fw, (_, step) in steps.items():
                time.sleep(settle)  # let the previous framework's worker threads go idle first
                samples[fw].append(_time_steps(step, counts[fw]))
        row: dict[str, Any] = {"workload": name, "unit": WORKLOADS[name][1]}
        for fw in steps:
            row[fw] = _figure(name, statistics.median(samples[fw]), size)
        if "tensorflow" in row:
            row["ratio"] = row["tensorflux"] / row["tensorflow"]
        if "opencl" in row:
            row["opencl/cpu"] = row["opencl"] / row["tensorflux"]
        if "numpy" in row:
            row["vs_numpy"] = row["tensorflux"] / row["numpy"]
        for sess, _ in steps.values():
            if sess is not None:
                sess.close()
        results.append(row)
    return results


def peak_memory(framework: str, size: str, steps: int) -> float | None:
    """Peak RSS (MiB) of a fresh process that trains the CNN ``steps`` times in ``framework``.

    The child reads its own high-water mark (VmHWM in /proc/self/status, reset by exec). ``ru_maxrss``
    would not do: Linux carries it over from the forking parent, so every child reported the RSS of
    this (large) benchmark process instead of its own.
    """
    code = (
        "import resource, sys\n"
        "from benchmarks.workloads import cnn_train_step\n"
        "from benchmarks.compare import _load_tf\n"
        f"fw = {framework!r}\n"
        "if fw == 'tensorflux':\n    import tensorflux as mod\n"
        "else:\n    mod = _load_tf()\n    assert mod is not None\n"
        f"sess, step = cnn_train_step(mod, {size!r})\n"
        f"for _ in range({steps}):\n    step()\n"
        "try:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "except (OSError, IndexError):\n"
        "    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(int(hwm) / 1024)\n"
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
    parser.add_argument("--opencl", action="store_true",
                        help="also run the tensorflux workloads on the OpenCL device: columns 'opencl' and 'opencl/cpu'")
    parser.add_argument("--settle", type=float, default=0.1,
                        help="seconds of pause before each framework's round, so that the previous one's spinning "
                             "worker threads (TF's, OpenBLAS's) do not slow the next")
    parser.add_argument("--passes", action="store_true",
                        help="also run tensorflux with each graph pass switched off: columns " + ", ".join(PASS_COLUMNS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = args.only or list(WORKLOADS)
    if args.opencl and not opencl_available():
        parser.error("--opencl: no OpenCL device (install tensorflux-opencl[pocl]; `python -m tensorflux devices` says why)")
    results = compare(names, args.size, args.rounds, args.budget, with_tf=not args.no_tf, opencl=args.opencl,
                      passes=args.passes, settle=args.settle)
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
    if args.opencl:
        header[3:3] = ["opencl", "opencl/cpu"]
    if args.passes:
        header[3:3] = list(PASS_COLUMNS)
    rows = [[_fmt(r.get(h)) for h in header] for r in results]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    for line in [header] + rows:
        print("  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))))
    if memory:
        print("peak RSS training the CNN (MiB): " + ", ".join(f"{k} {_fmt(v)}" for k, v in memory.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
