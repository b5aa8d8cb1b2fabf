"""Run SCALE-Sim 3.0.0 (the reference of tpu_sim's cycle model) on many layers at once, in its own venv.

SCALE-Sim needs ``numpy<2``, so it lives in ``.venv/scalesim`` (``make test`` creates it) and runs as a
subprocess: one Python process for a whole batch of layers, because starting it (numpy, pandas) costs far
more than a small layer. Each layer is a run of its own (its own config and one-row topology), so that
``seconds`` is that layer's time alone.

    >>> layers = [Layer("gemm", (20, 12, 10), ArraySpec(8, 8, "ws"))]
    >>> run_scalesim(layers)[0]["total_cycles"]      # doctest: +SKIP
    167

Each result is a dict of SCALE-Sim's own report columns for that layer (see ``_DRIVER``): ``total_cycles``
(COMPUTE_REPORT's ``Total Cycles``), ``cycles_incl_prefetch``, ``stall_cycles``, ``overall_util``,
``mapping_efficiency``, ``compute_util`` (percent), the SRAM reads/writes and DRAM reads/writes (words) of
DETAILED_ACCESS_REPORT, and ``seconds``, SCALE-Sim's own time for the layer (its run, not the process start).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
VENV_PYTHON = REPO / ".venv" / "scalesim" / "bin" / "python"


@dataclass(frozen=True)
class ArraySpec:
    """What SCALE-Sim's config file says about the array: its shape, dataflow and SRAM sizes (KiB)."""

    rows: int
    cols: int
    dataflow: str
    ifmap_sram_kb: int = 256
    filter_sram_kb: int = 256
    ofmap_sram_kb: int = 128


@dataclass(frozen=True)
class Layer:
    """One layer: ``("gemm", (m, n, k), array)`` or ``("conv", (ifmap_h, ifmap_w, filter_h, filter_w,
    channels, num_filters, stride), array)``."""

    kind: str
    dims: tuple[int, ...]
    array: ArraySpec


def missing_reason() -> str:
    """'' when the SCALE-Sim venv is there, else why the comparison cannot run and how to get it."""
    if not VENV_PYTHON.exists():
        return (f"SCALE-Sim's venv {VENV_PYTHON.parent.parent} is missing; `make test` creates it "
                "(python -m venv .venv/scalesim && .venv/scalesim/bin/pip install 'scalesim==3.0.0' 'numpy<2')")
    return ""


# Runs inside .venv/scalesim. argv: the jobs JSON file. Prints one JSON list, a result per layer in job order.
_DRIVER = r'''
import contextlib, csv, io, json, os, sys, time
from scalesim.scale_sim import scalesim

CONFIG = """[general]
run_name = run

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = {ifmap_sram_kb}
FilterSramSzkB = {filter_sram_kb}
OfmapSramSzkB = {ofmap_sram_kb}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
FilterCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = False

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False
"""

def rows(path):
    with open(path) as f:
        return [[c.strip() for c in row if c.strip()] for row in csv.reader(f)][1:]

jobs = json.load(open(sys.argv[1]))
results = []
for n, job in enumerate(jobs):
    d = os.path.join(os.path.dirname(sys.argv[1]), str(n))
    os.makedirs(d)
    with open(os.path.join(d, "scale.cfg"), "w") as f:
        f.write(CONFIG.format(**job["array"]))
    with open(os.path.join(d, "layout.csv"), "w") as f:
        f.write("Layer name,\n")
    with open(os.path.join(d, "topology.csv"), "w") as f:
        if job["kind"] == "gemm":
            f.write("Layer, M, N, K,\n")
        else:
            f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n")
        f.write("l0, %s,\n" % ", ".join(str(x) for x in job["dims"]))
    sim = scalesim(save_disk_space=True, verbose=False, config=os.path.join(d, "scale.cfg"),
                   topology=os.path.join(d, "topology.csv"), layout=os.path.join(d, "layout.csv"),
                   input_type_gemm=job["kind"] == "gemm")
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        sim.run_scale(top_path=os.path.join(d, "out"))
    seconds = time.perf_counter() - start
    report = os.path.join(d, "out", "run")
    [c], [a] = rows(os.path.join(report, "COMPUTE_REPORT.csv")), rows(os.path.join(report, "DETAILED_ACCESS_REPORT.csv"))
    results.append({
        "cycles_incl_prefetch": int(float(c[1])), "total_cycles": int(float(c[2])), "stall_cycles": int(float(c[3])),
        "overall_util": float(c[4]), "mapping_efficiency": float(c[5]), "compute_util": float(c[6]),
        "ifmap_sram_reads": int(float(a[3])), "filter_sram_reads": int(float(a[6])),
        "ofmap_sram_writes": int(float(a[9])), "ifmap_dram_reads": int(float(a[12])),
        "filter_dram_reads": int(float(a[15])), "ofmap_dram_writes": int(float(a[18])),
        "seconds": seconds})
print(json.dumps(results))
'''


def run_scalesim(layers: list[Layer], timeout: float = 600) -> list[dict]:
    """SCALE-Sim's report for every layer, in order; one subprocess for all of them.

    Raises RuntimeError naming the exit status and SCALE-Sim's stderr when the run fails.
    """
    reason = missing_reason()
    if reason:
        raise RuntimeError(reason)
    jobs = [{"kind": layer.kind, "array": asdict(layer.array), "dims": list(layer.dims)} for layer in layers]
    with tempfile.TemporaryDirectory(prefix="scalesim-") as tmp:
        (Path(tmp) / "jobs.json").write_text(json.dumps(jobs))
        (Path(tmp) / "driver.py").write_text(_DRIVER)
        env = dict(os.environ, PYTHONHASHSEED="0")
        env.pop("PYTHONPATH", None)  # the driver must see SCALE-Sim's venv only, not this checkout
        done = subprocess.run([str(VENV_PYTHON), str(Path(tmp) / "driver.py"), str(Path(tmp) / "jobs.json")],
                              capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp)
    if done.returncode != 0:
        raise RuntimeError(f"SCALE-Sim ({VENV_PYTHON}) exited with status {done.returncode}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":  # python tests/plugins/tpu_sim/scalesim_runner.py gemm 20 12 10 8 8 ws
    kind, *numbers, df = sys.argv[1:]
    *dims, r, c = (int(x) for x in numbers)
    print(json.dumps(run_scalesim([Layer(kind, tuple(dims), ArraySpec(r, c, df))]), indent=1))
