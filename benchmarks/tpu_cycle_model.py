"""tpu_sim's closed-form systolic model against SCALE-Sim 3.0.0, layer by layer: the same cycles, and how much
faster the model gets them.

Usage: ``python -m benchmarks.tpu_cycle_model [--size tiny] [--rounds N] [--scalesim-rounds N] [--no-scalesim]
[--json]``

Each layer is costed by ``tensorflux_tpu_sim.systolic`` (median over ``--rounds`` rounds of many calls) and
run through SCALE-Sim in its own venv (``.venv/scalesim``, made by ``make test``), whose time is its own
simulation of that layer, without the process start. The table shows both cycle counts (they must agree),
both times and the speed ratio; the summary gives the median and smallest ratio over the layers. The full
size takes about a minute, nearly all of it SCALE-Sim's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from tensorflux_tpu_sim.systolic import ArrayConfig, conv_cost, gemm_cost
from tests.plugins.tpu_sim.scalesim_runner import ArraySpec, Layer, missing_reason, run_scalesim

# SCALE-Sim's SRAM sizes of its google.cfg (a TPU v1-like array): every layer below fits them.
_TPU_SRAM = (6144, 6144, 2048)

# name: (kind, dims, (rows, cols, dataflow, *SRAM KiB)). conv dims: ifmap h, w, filter h, w, channels,
# filters, stride (SAME inputs come padded); gemm dims: M, N, K.
LAYERS = {
    "full": {
        "mnist conv1 5x5x1x32 (v4 MXU)": ("conv", (32, 32, 5, 5, 1, 32, 1), (128, 128, "ws", *_TPU_SRAM)),
        "mnist conv2 5x5x32x64 (v4 MXU)": ("conv", (18, 18, 5, 5, 32, 64, 1), (128, 128, "ws", *_TPU_SRAM)),
        "mnist fc2 50x1024 @ 1024x10 (v4 MXU)": ("gemm", (50, 10, 1024), (128, 128, "ws", *_TPU_SRAM)),
        "resnet 3x3x128x128 at 14x14 (v1 array)": ("conv", (16, 16, 3, 3, 128, 128, 1), (256, 256, "ws", *_TPU_SRAM)),
        "resnet 3x3x64x64 at 14x14, os 32x32": ("conv", (16, 16, 3, 3, 64, 64, 1), (32, 32, "os")),
        "gemm 128x128x128, is 32x32": ("gemm", (128, 128, 128), (32, 32, "is")),
    },
    "tiny": {
        "conv 7x7 3x3x4x5 s2, os 4x4": ("conv", (7, 7, 3, 3, 4, 5, 2), (4, 4, "os")),
        "gemm 20x12x10, ws 8x8": ("gemm", (20, 12, 10), (8, 8, "ws")),
    },
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(LAYERS), default="full", help="which layers (tiny: a smoke run)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of the model per layer (median reported)")
    parser.add_argument("--scalesim-rounds", type=int, default=1, help="SCALE-Sim runs per layer (median reported)")
    parser.add_argument("--no-scalesim", action="store_true", help="time the model only")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser.parse_args(argv)


def model_seconds(kind: str, dims: tuple, arr: tuple, rounds: int, budget: float = 0.05) -> float:
    """Median seconds of one ``gemm_cost``/``conv_cost`` call over ``rounds`` rounds.

    The ArrayConfig is made once outside the clock, as SCALE-Sim's time leaves out reading its config.
    """
    array = ArrayConfig(*arr)
    cost = gemm_cost if kind == "gemm" else conv_cost
    calls = 1
    while True:  # enough calls per round that the clock's resolution does not matter
        start = time.perf_counter()
        for _ in range(calls):
            cost(*dims, array)
        if time.perf_counter() - start >= budget / 10 or calls >= 1 << 20:
            break
        calls *= 4
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            cost(*dims, array)
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def run(args: argparse.Namespace) -> dict:
    layers = LAYERS[args.size]
    reason = "--no-scalesim" if args.no_scalesim else missing_reason()
    reference: list[list[dict]] = []
    if not reason:
        batch = [Layer(kind, dims, ArraySpec(*arr)) for kind, dims, arr in layers.values()]
        reference = [run_scalesim(batch) for _ in range(max(args.scalesim_rounds, 1))]
    rows = []
    for i, (name, (kind, dims, arr)) in enumerate(layers.items()):
        cost = (gemm_cost if kind == "gemm" else conv_cost)(*dims, ArrayConfig(*arr))
        row = {"layer": name, "array": f"{arr[0]}x{arr[1]} {arr[2]}", "cycles": cost.cycles,
               "utilization": cost.utilization, "model_us": model_seconds(kind, dims, arr, args.rounds) * 1e6}
        if reference:
            row["scalesim_cycles"] = reference[0][i]["total_cycles"]
            row["scalesim_s"] = statistics.median(r[i]["seconds"] for r in reference)
            row["speedup"] = row["scalesim_s"] / (row["model_us"] * 1e-6)
        rows.append(row)
    report = {"size": args.size, "python": sys.version.split()[0], "results": rows}
    if reference:
        ratios = [r["speedup"] for r in rows]
        report |= {"median_speedup": statistics.median(ratios), "min_speedup": min(ratios),
                   "cycles_equal": all(r["cycles"] == r["scalesim_cycles"] for r in rows)}
    else:
        report["scalesim"] = f"not run: {reason}"
    return report


def print_table(report: dict) -> None:
    header = f"{'layer':42} {'array':13} {'cycles':>9} {'SCALE-Sim':>10} {'model µs':>9} {'SCALE-Sim s':>12} {'speedup':>10}"
    print(header)
    print("-" * len(header))
    for r in report["results"]:
        print(f"{r['layer']:42} {r['array']:13} {r['cycles']:>9} {r.get('scalesim_cycles', '-'):>10} "
              f"{r['model_us']:>9.1f} {r.get('scalesim_s', float('nan')):>12.3f} {r.get('speedup', float('nan')):>10,.0f}")
    if "median_speedup" in report:
        print(f"\nspeedup per layer: median {report['median_speedup']:,.0f}x, smallest {report['min_speedup']:,.0f}x; "
              f"cycles equal on every layer: {report['cycles_equal']}")
    else:
        print(f"\nSCALE-Sim {report['scalesim']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_table(report)
    return 0 if report.get("cycles_equal", True) else 1


if __name__ == "__main__":
    sys.exit(main())
