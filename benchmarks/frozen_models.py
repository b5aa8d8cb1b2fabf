"""Frozen ``tf.keras.applications`` image classifiers, run in tensorflux and TensorFlow side by side.

Usage: ``python -m benchmarks.frozen_models [--models NAME ...] [--batch 2] [--rounds 7] [--cache DIR] [--profile] [--json]``
(or ``--memory``)

Each model is built by TensorFlow with random weights (``weights=None``, a fixed seed), frozen with
``convert_variables_to_constants_v2`` and cached as GraphDef bytes under ``--cache`` (default
``build/frozen_models/``, which git ignores). Both frameworks import the same bytes with
``import_graph_def`` and run the same random batch: the table shows each one's median time per batch
(after a warm-up, alternating round by round so that a noisy machine slows both alike), the ratio
tensorflux / TF, and the relative error of tensorflux's output against TF's (max |diff| / max |TF|).
Two timings are taken. Throughput: each round times a block of ``BLOCK`` back-to-back calls per framework,
as a batch job runs. After idle: each round times one call after a 50 ms pause, as a server that waits for
requests does; the pause lets the CPUs drop into idle states, and waking them slows the first milliseconds
of a run (more so for a framework whose worker threads sleep between ops, as tensorflux's do).
A model that does not import or run here reports its error and the others go on. ``--profile`` adds
tensorflux's time per op type (from one traced run; a fused convolution shows as its chain's last op).
``--memory`` prints a memory table instead: each framework's peak RSS, RSS after loading, and inference
working set (their difference while running), each measured in a fresh subprocess (see ``memory_rows``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from typing import Any, Callable

import numpy as np

# name -> (tf.keras.applications class, input side)
MODELS = {
    "resnet50": ("ResNet50", 224),
    "inception_v3": ("InceptionV3", 299),
    "densenet121": ("DenseNet121", 224),
    "mobilenet_v2": ("MobileNetV2", 224),
    "efficientnet_b0": ("EfficientNetB0", 224),
}
DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "frozen_models")


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def freeze_keras_application(name: str, batch: int) -> bytes:
    """The serialized GraphDef of ``tf.keras.applications`` model ``name`` (a key of ``MODELS``), frozen by TF.

    Random weights from a fixed seed, inference mode, a fixed batch size; the input is the graph's only
    Placeholder and the output its only unread node (see ``graph_io``). Needs TensorFlow.

    Example:
        >>> data = freeze_keras_application("resnet50", 1)  # doctest: +SKIP
        >>> graph_io(data)  # doctest: +SKIP
        ('x', 'Identity')
    """
    if name not in MODELS:
        raise ValueError(f"freeze_keras_application: unknown model {name!r}; known: {', '.join(MODELS)}")
    tf = _tf()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    cls, side = MODELS[name]
    tf.keras.utils.set_random_seed(0)
    model = getattr(tf.keras.applications, cls)(weights=None, input_shape=(side, side, 3))
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([batch, side, side, 3], tf.float32, name="x"))
    frozen = convert_variables_to_constants_v2(concrete)
    return frozen.graph.as_graph_def().SerializeToString()


def cached_graph_def(name: str, batch: int, cache: str = DEFAULT_CACHE) -> bytes:
    """``freeze_keras_application(name, batch)``, read from ``cache`` when frozen before (written there otherwise).

    Example:
        >>> len(cached_graph_def("resnet50", 2)) > 0  # doctest: +SKIP
        True
    """
    path = os.path.join(cache, f"{name}_b{batch}.pb")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    data = freeze_keras_application(name, batch)
    os.makedirs(cache, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return data


def graph_io(graph_def: bytes) -> tuple[str, str]:
    """(input node, output node) of a frozen graph: its only Placeholder, and its only node nothing reads.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     y = tf.identity(tf.placeholder(tf.float32, [1], name="x") * 2.0, name="y")
        >>> graph_io(g.as_graph_def().SerializeToString())
        ('x', 'y')
    """
    from tensorflux.proto import graph_pb2

    gdef = graph_pb2.GraphDef()
    gdef.ParseFromString(graph_def)
    read = {i.lstrip("^").split(":")[0] for node in gdef.node for i in node.input}
    inputs = [n.name for n in gdef.node if n.op == "Placeholder"]
    outputs = [n.name for n in gdef.node if n.name not in read and n.op not in ("NoOp", "Const", "Placeholder")]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"a frozen classifier needs one Placeholder and one unread output node, got inputs "
                         f"{inputs} and outputs {outputs}")
    return inputs[0], outputs[0]


def load(framework: Any, graph_def: bytes, feed: np.ndarray) -> tuple[Any, Callable[..., np.ndarray]]:
    """(session, run) for ``graph_def`` imported into a new graph of ``framework`` (tensorflux or TF's compat.v1).

    ``run(**kwargs)`` runs the output for the input ``feed``; keyword arguments go to ``Session.run``.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     _ = tf.identity(tf.placeholder(tf.float32, [2], name="x") * 2.0, name="y")
        >>> sess, run = load(tf, g.as_graph_def().SerializeToString(), np.ones(2, np.float32))
        >>> run().tolist()
        [2.0, 2.0]
    """
    inp, out = graph_io(graph_def)
    gdef: Any = graph_def  # tensorflux takes the bytes; TF wants its own GraphDef message
    if getattr(framework, "GraphDef", None) is not None:
        gdef = framework.GraphDef()
        gdef.ParseFromString(graph_def)
    graph = framework.Graph()
    with graph.as_default():
        x, y = framework.import_graph_def(gdef, name="", return_elements=[f"{inp}:0", f"{out}:0"])
    sess = framework.Session(graph=graph)
    return sess, lambda **kw: sess.run(y, {x: feed}, **kw)


def relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max |ours - theirs| / max |theirs| (0 when both are all zeros).

    Example:
        >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
        0.2
    """
    scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
    diff = float(np.max(np.abs(ours.astype(np.float64) - theirs))) if theirs.size else 0.0
    return diff / scale if scale else diff


# Back-to-back calls per framework in one throughput sample.
BLOCK = 3


def time_alternating(runs: dict[str, Callable[[], Any]], rounds: int, settle: float = 0.05,
                     calls: int = 1) -> dict[str, float]:
    """Median seconds per call of each of ``runs``, called in turn round by round after one warm-up call each.

    Each round gives every run one sample: ``calls`` back-to-back calls after a ``settle``-second pause,
    divided by ``calls``.

    Example:
        >>> sorted(time_alternating({"a": lambda: None, "b": lambda: None}, 3))
        ['a', 'b']
    """
    for run in runs.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            if settle:
                time.sleep(settle)
            start = time.perf_counter()
            for _ in range(calls):
                run()
            samples[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(s) for name, s in samples.items()}


def op_profile(run: Callable[..., Any], framework: Any) -> dict[str, float]:
    """Seconds per op type in one traced ``run`` (``RunOptions(trace_level=FULL_TRACE)``'s step_stats).

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     _ = tf.identity(tf.placeholder(tf.float32, [2], name="x") * 2.0, name="y")
        >>> _, run = load(tf, g.as_graph_def().SerializeToString(), np.ones(2, np.float32))
        >>> "Mul" in op_profile(run, tf)
        True
    """
    options = framework.RunOptions(trace_level=framework.RunOptions.FULL_TRACE)
    meta = framework.RunMetadata()
    run(options=options, run_metadata=meta)
    totals: dict[str, float] = defaultdict(float)
    for dev in meta.step_stats.dev_stats:
        for node in dev.node_stats:
            label = node.timeline_label
            op = label.split(" = ", 1)[1].split("(", 1)[0] if " = " in label else node.node_name
            totals[op] += node.op_end_rel_micros / 1e6
    return dict(totals)


def benchmark(name: str, graph_def: bytes, batch: int, rounds: int, with_tf: bool = True,
              profile: bool = False) -> dict[str, Any]:
    """One row of the table: medians, ratio and relative error of model ``name`` (errors reported, not raised)."""
    import tensorflux

    row: dict[str, Any] = {"model": name, "batch": batch}
    feed = np.random.default_rng(0).random(_input_shape(graph_def), dtype=np.float32)
    runs: dict[str, Callable[[], Any]] = {}
    outputs = {}
    sessions = []
    frameworks: list = [("tensorflux", lambda: tensorflux)]
    if with_tf:
        frameworks.append(("tensorflow", lambda: _tf().compat.v1))
    for fw, module in frameworks:
        try:
            sess, run = load(module(), graph_def, feed)
            sessions.append(sess)
            outputs[fw] = run()
            runs[fw] = run
        except Exception as exc:  # noqa: BLE001 - a model that does not run yet is reported, not fatal
            row[f"{fw}_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
    if runs:
        for fw, seconds in time_alternating(runs, rounds, settle=0.0, calls=BLOCK).items():
            row[fw] = seconds * 1e3
        for fw, seconds in time_alternating(runs, rounds, settle=0.05).items():
            row[f"{fw}_idle"] = seconds * 1e3
    if "tensorflux" in row and "tensorflow" in row:
        row["ratio"] = row["tensorflux"] / row["tensorflow"]
        row["idle_ratio"] = row["tensorflux_idle"] / row["tensorflow_idle"]
        row["rel_error"] = relative_error(outputs["tensorflux"], outputs["tensorflow"])
    if profile and "tensorflux" in runs:
        row["profile"] = op_profile(runs["tensorflux"], tensorflux)
    for sess in sessions:
        sess.close()
    return row


def _input_shape(graph_def: bytes) -> tuple:
    from tensorflux.proto import graph_pb2

    gdef = graph_pb2.GraphDef()
    gdef.ParseFromString(graph_def)
    inp = graph_io(graph_def)[0]
    node = next(n for n in gdef.node if n.name == inp)
    return tuple(d.size for d in node.attr["shape"].shape.dim)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1e}" if value < 0.01 else f"{value:,.2f}"
    return str(value)


def _print_rows(rows: list[dict], header: list[str], keys: list[str]) -> None:
    """An aligned table of ``rows`` (the values under ``keys``, titled ``header``), then each row's failures."""
    cells = [[_fmt(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *cells)]
    for line in [header] + cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
    for r in rows:
        for key in ("tensorflux_error", "tensorflow_error"):
            if key in r:
                print(f"{r['model']}: {key.split('_')[0]} failed: {r[key]}")


def print_table(rows: list[dict]) -> None:
    """The rows as a text table, then each row's error and profile."""
    header = ["model", "batch", "tensorflux", "tensorflow", "ratio", "tensorflux_idle", "tensorflow_idle", "idle_ratio",
              "rel_error"]
    print(f"times: median ms per batch, back to back (blocks of {BLOCK} calls) and one call after a 50 ms pause "
          "(_idle); ratio: tensorflux / tensorflow")
    _print_rows(rows, header, header)
    for r in rows:
        if "profile" in r:
            total = sum(r["profile"].values())
            print(f"{r['model']}: tensorflux per op type (one traced run, {total * 1e3:.1f} ms in kernels)")
            for op, s in sorted(r["profile"].items(), key=lambda kv: -kv[1])[:15]:
                print(f"  {op:<24} {s * 1e3:8.2f} ms  {100 * s / total:5.1f}%")


MIB = 1024.0  # KiB per MiB: ru_maxrss and /proc's Vm* fields are in KiB on Linux


def status_kib(field: str, text: str | None = None) -> int | None:
    """The KiB value of ``field`` (``VmRSS``, ``VmHWM``) in ``/proc/self/status`` (or ``text``); None if absent.

    Example:
        >>> status_kib("VmRSS", "Name:\\tpython\\nVmHWM:\\t  2048 kB\\nVmRSS:\\t  1536 kB\\n")
        1536
        >>> status_kib("VmSwap", "VmRSS:\\t1 kB\\n") is None
        True
    """
    if text is None:
        try:
            with open("/proc/self/status") as f:
                text = f.read()
        except OSError:
            return None
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_worker(framework: str, path: str, io: tuple[str, str], shape: tuple, runs: int = 3) -> dict[str, float]:
    """Peak and resident memory (MiB) of this process loading the frozen graph at ``path`` and running it ``runs`` times.

    Meant to run alone in a fresh process (``--memory-worker``; see ``memory_rows``), since it measures the
    whole process. ``framework`` is ``tensorflux`` or ``tensorflow``; ``io`` the (input, output) node names, so
    that TF's process never imports tensorflux. Reports ``loaded`` (RSS after import and load, before the first
    run), ``peak`` (the process's lifetime peak RSS) and ``working`` (the peak while running minus ``loaded``:
    the inference working set). Peaks are Linux's VmHWM, reset after loading so that the run's own peak shows;
    ``ru_maxrss`` (the fallback elsewhere) would also count the parent's RSS, which a forked child inherits.

    Example:
        >>> memory_worker("tensorflux", "build/frozen_models/resnet50_b1.pb", ("x", "Identity"),
        ...               (1, 224, 224, 3))  # doctest: +SKIP
        {'loaded': 310.2, 'peak': 420.5, 'working': 110.3, ...}
    """
    import resource

    if framework == "tensorflux":
        import tensorflux as fw

        with open(path, "rb") as f:
            gdef: Any = f.read()
    else:
        fw = _tf().compat.v1
        gdef = fw.GraphDef()
        with open(path, "rb") as f:
            gdef.ParseFromString(f.read())
    feed = np.random.default_rng(0).random(shape, dtype=np.float32)
    graph = fw.Graph()
    with graph.as_default():
        x, y = fw.import_graph_def(gdef, name="", return_elements=[f"{io[0]}:0", f"{io[1]}:0"])
    del gdef  # what the file held is not the framework's footprint: each keeps what it needs of it
    sess = fw.Session(graph=graph)

    def peak_kib() -> int:
        # VmHWM where there is one: ru_maxrss also counts the parent's RSS, copied into the child when it forked.
        return status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    loaded = status_kib("VmRSS") or peak_kib()
    load_peak = peak_kib()
    reset = _reset_peak_rss()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sess.run(y, {x: feed})
        times.append(time.perf_counter() - start)
    run_peak = peak_kib()
    peak = max(load_peak, run_peak) if reset else run_peak
    sess.close()
    return {"loaded": loaded / MIB, "load_peak": load_peak / MIB, "peak": peak / MIB,
            "working": (run_peak - loaded) / MIB, "ms": min(times) * 1e3}


def memory_ratios(name: str, batch: int, results: dict[str, dict]) -> dict[str, Any]:
    """One row of the memory table from each framework's ``memory_worker`` result (or ``{"error": ...}``).

    Example:
        >>> row = memory_ratios("m", 1, {"tensorflux": {"peak": 300.0, "working": 50.0},
        ...                              "tensorflow": {"peak": 600.0, "working": 100.0}})
        >>> row["peak_ratio"], row["working_ratio"]
        (0.5, 0.5)
    """
    row: dict[str, Any] = {"model": name, "batch": batch}
    for fw, got in results.items():
        if "error" in got:
            row[f"{fw}_error"] = got["error"]
            continue
        for key, value in got.items():
            row[f"{fw}_{key}"] = value
    for key in ("peak", "working"):
        ours, theirs = row.get(f"tensorflux_{key}"), row.get(f"tensorflow_{key}")
        if ours is not None and theirs:
            row[f"{key}_ratio"] = ours / theirs
    return row


def memory_rows(names: list[str], batch: int, cache: str, with_tf: bool = True, runs: int = 3) -> list[dict]:
    """The memory table: per model, each framework measured by ``memory_worker`` in a fresh subprocess.

    Subprocesses, because peak RSS (``ru_maxrss``, VmHWM) is per process and never goes down: measured in one
    process, the second framework or model would inherit the first one's peak, and each framework's import
    (TF's runtime, our kernels) is part of what a user pays. RSS rather than ``tracemalloc``, which sees only
    Python's allocator and misses the native buffers (numpy arrays' data is counted only partly, TF's not at all).

    Example:
        >>> memory_rows(["resnet50"], 1, DEFAULT_CACHE)  # doctest: +SKIP
        [{'model': 'resnet50', 'batch': 1, 'tensorflux_peak': ..., 'peak_ratio': ..., ...}]
    """
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = []
    for name in names:
        try:
            graph_def = cached_graph_def(name, batch, cache)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            rows.append({"model": name, "batch": batch, "tensorflow_error": f"freezing: {exc}"})
            continue
        spec = json.dumps({"path": os.path.join(cache, f"{name}_b{batch}.pb"), "io": graph_io(graph_def),
                           "shape": _input_shape(graph_def), "runs": runs})
        results = {}
        for fw in ["tensorflux", "tensorflow"] if with_tf else ["tensorflux"]:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.frozen_models", "--memory-worker", fw, spec],
                                  cwd=root, capture_output=True, text=True)
            lines = proc.stdout.strip().splitlines()
            if proc.returncode == 0 and lines:
                results[fw] = json.loads(lines[-1])
            else:
                tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
                results[fw] = {"error": tail[:200]}
        rows.append(memory_ratios(name, batch, results))
        print(f"{name}: memory done", file=sys.stderr, flush=True)
    return rows


def print_memory_table(rows: list[dict]) -> None:
    """The memory rows as a text table: peak RSS and inference working set (MiB) of both frameworks, with ratios."""
    header = ["model", "batch", "peak tfx", "peak tf", "ratio", "working tfx", "working tf", "ratio",
              "loaded tfx", "loaded tf"]
    keys = ["model", "batch", "tensorflux_peak", "tensorflow_peak", "peak_ratio", "tensorflux_working",
            "tensorflow_working", "working_ratio", "tensorflux_loaded", "tensorflow_loaded"]
    print("memory: MiB; peak = lifetime peak RSS; working = peak while running - RSS after load; ratio: tfx / tf")
    _print_rows(rows, header, keys)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: freeze (or read from the cache), check and time each model, print the table.

    Example:
        >>> main(["--models", "resnet50", "--rounds", "3"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", nargs="*", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per model (median reported)")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="directory of frozen GraphDefs (made on first use)")
    parser.add_argument("--profile", action="store_true", help="also print tensorflux's time per op type")
    parser.add_argument("--no-tf", action="store_true", help="run tensorflux only (the models must be in the cache)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--memory", action="store_true", help="measure peak RSS and working set (fresh process each)")
    parser.add_argument("--memory-worker", nargs=2, metavar=("FRAMEWORK", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_worker:
        fw, spec = args.memory_worker[0], json.loads(args.memory_worker[1])
        print(json.dumps(memory_worker(fw, spec["path"], tuple(spec["io"]), tuple(spec["shape"]), spec["runs"])))
        return 0
    if args.memory:
        rows = memory_rows(args.models, args.batch, args.cache, with_tf=not args.no_tf)
        if args.json:
            print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "results": rows}, indent=2))
        else:
            print_memory_table(rows)
        return 0
    rows = []
    for name in args.models:
        try:
            graph_def = cached_graph_def(name, args.batch, args.cache)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            rows.append({"model": name, "batch": args.batch, "tensorflow_error": f"freezing: {exc}"})
            continue
        rows.append(benchmark(name, graph_def, args.batch, args.rounds, with_tf=not args.no_tf, profile=args.profile))
        print(f"{name}: done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "results": rows}, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
