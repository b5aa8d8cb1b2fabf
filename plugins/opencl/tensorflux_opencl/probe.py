"""Trying a risky OpenCL build in a child process first, and remembering the verdict.

PoCL compiles kernels with LLVM inside the calling process. A kernel the compiler's target cannot lower (a
16-wide vector on a target without AVX-512, say) does not fail its build: LLVM aborts the whole process at
the first launch. So code-generation choices that could do that (vector widths) are tried once in a child
process that builds and launches a tiny instance and checks its result. The verdict is kept in
``<cache_dir>/verdicts.json``, keyed by the device, its driver version and the kernel source, so each choice
is tried once per machine, and again only after an upgrade or a change to the kernel.

A probe is a function ``fn(device, **params)`` in an importable module: it returns normally when the kernel
built, ran and gave the right values, and raises otherwise. ``python -m tensorflux_opencl.probe SPEC`` runs one.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from .device import cache_dir

# A cold PoCL build of the gemm takes a few seconds; a loaded CI machine may take ten times that.
PROBE_TIMEOUT_S = float(os.environ.get("TENSORFLUX_OPENCL_PROBE_TIMEOUT", "300"))
VERDICTS_FILE = "verdicts.json"
_STDERR_TAIL = 12  # lines of a crashed child's stderr quoted in the verdict
# The child's memory cap. A gemm probe peaks near 250 MiB; PoCL's znver3 target, given 16-wide vectors, grows
# LLVM past 3 GiB over minutes before crashing, and with the cap it fails in a second. Thread stacks count too.
CHILD_MEMORY_BYTES = (1 << 30) + (16 << 20) * (os.cpu_count() or 1)

_memory: dict[str, "Verdict"] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Verdict:
    """Whether a probe passed and, when not, why (what the child printed or died of).

    Example:
        >>> Verdict(False, "LLVM ERROR: ...").ok
        False
    """

    ok: bool
    reason: str = ""


def device_identity(device: Any) -> str:
    """What a verdict depends on besides the source: platform and driver versions and the compiler target.

    PoCL's device ``version`` carries its LLVM target (``HSTR: pthread-x86_64-...-znver3``) and the device name
    the CPU model, so a cache directory shared between different hosts keeps their verdicts apart.

    Example:
        >>> device_identity.__name__
        'device_identity'
    """
    d, p = device.cl_device, device.platform
    return " | ".join(str(s).strip() for s in (p.name, p.version, d.name, d.version, d.driver_version))


def verdict_key(device: Any, target: str, params: dict, source: str) -> str:
    """The cache key of one probe: device identity, probe function, its parameters and the kernel source.

    Example:
        >>> class D:
        ...     class cl_device: name = version = driver_version = "x"
        ...     class platform: name = version = "p"
        >>> len(verdict_key(D, "m:f", {"width": 8}, "kernel"))
        64
    """
    text = json.dumps([device_identity(device), target, params, source], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def vector_source(dtype: Any, width: int) -> str:
    """A tiny kernel using ``width``-wide vectors of ``dtype`` as the gemm does: load, broadcast, multiply-add,
    compare-select and store.

    Example:
        >>> "float8" in vector_source("float32", 8)
        True
    """
    from .device import ctype

    t = ctype(dtype)
    v = f"{t}{width}" if width > 1 else t
    return f"""
__kernel void vectors(__global {t}* out, __global const {t}* in) {{
  {v} x = {"vload%d(0, in)" % width if width > 1 else "in[0]"};
  {v} acc = ({v})(0);
  acc += x * ({v})(in[1]);
  acc = acc > ({v})(0) ? acc : ({v})(0);
  {"vstore%d(acc, 0, out)" % width if width > 1 else "out[0] = acc"};
}}
"""


def probe_vectors(device: Any, dtype: str, width: int) -> None:
    """Build and run :func:`vector_source` and check its values (run in a child by :func:`verdict`).

    A width the compiler cannot lower fails here in about a second, where the gemm that uses it may take
    minutes to fail; so widths are screened with this first.

    Example:
        >>> probe_vectors.__name__
        'probe_vectors'
    """
    import numpy as np

    x = np.linspace(-2, 2, max(width, 2)).astype(dtype)
    kernel = device.kernels(("vectors", dtype, width), lambda: vector_source(dtype, width)).vectors
    out = device.empty((width,), dtype)
    device.launch(kernel, (1,), (1,), out.buffer, device.from_host(x).buffer)
    got, want = device.to_host(out), np.maximum(x[:width] * x[1], 0)
    if not np.allclose(got, want):
        raise ArithmeticError(f"{width}-wide {dtype} vectors computed {got.tolist()}, expected {want.tolist()}")


def health(device: Any, timeout: float = PROBE_TIMEOUT_S) -> str:
    """Run :func:`probe_health` on ``device`` in a child process, every time: '' when healthy, else why not.

    Example:
        >>> health.__name__
        'health'
    """
    found, _ = run_in_child(device, f"{__name__}:probe_health", {}, timeout)
    return "" if found.ok else found.reason


def probe_health(device: Any) -> None:
    """A small graph through the real stack on ``device``: elementwise, reduction, softmax, matmul and conv2d,
    each compared with numpy, with any fallback to another device counted as a failure.

    Example:
        >>> probe_health.__name__
        'probe_health'
    """
    import warnings

    import numpy as np

    import tensorflux as tf

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((48, 40)).astype(np.float32), rng.standard_normal((40, 36)).astype(np.float32)
    img, fil = rng.standard_normal((2, 9, 9, 3)).astype(np.float32), rng.standard_normal((3, 3, 3, 8)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default(), tf.device(device.name):
        pa, pb = tf.placeholder(tf.float32, a.shape), tf.placeholder(tf.float32, b.shape)
        pi, pf = tf.placeholder(tf.float32, img.shape), tf.placeholder(tf.float32, fil.shape)
        product = tf.matmul(pa, pb)
        fetches = {"MatMul": product, "AddV2/Mul": pa * 2.0 + 1.0, "Sum": tf.reduce_sum(pa, axis=1),
                   "Softmax": tf.nn.softmax(product), "Conv2D": tf.nn.conv2d(pi, pf, [1, 1, 1, 1], "SAME")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a PlacementWarning means some op could not run on the device
        with tf.Session(graph=graph) as sess:
            got = sess.run(fetches, {pa: a, pb: b, pi: img, pf: fil})
    p = a @ b
    e = np.exp(p - p.max(axis=1, keepdims=True))
    pad = np.pad(img, ((0, 0), (1, 1), (1, 1), (0, 0)))
    conv = sum(pad[:, i:i + 9, j:j + 9, :] @ fil[i, j] for i in range(3) for j in range(3))
    want = {"MatMul": p, "AddV2/Mul": a * 2 + 1, "Sum": a.sum(axis=1), "Softmax": e / e.sum(axis=1, keepdims=True),
            "Conv2D": conv}
    for name, value in want.items():
        if not np.allclose(got[name], value, rtol=1e-4, atol=1e-4):
            raise ArithmeticError(f"{name} on {device.name} differs from numpy by up to "
                                  f"{float(np.max(np.abs(got[name] - value))):.3g}")


def _verdicts_path() -> str:
    return os.path.join(cache_dir(), VERDICTS_FILE)


def _read_verdicts() -> dict:
    try:
        with open(_verdicts_path(), encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # absent or damaged: probes run again and the file is rewritten


def _store_verdict(key: str, verdict: Verdict, note: str) -> None:
    path = _verdicts_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = _read_verdicts()  # merge: another process may have added verdicts meanwhile
        data[key] = {"ok": verdict.ok, "reason": verdict.reason, "probe": note}
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs a probe per process


def verdict(device: Any, target: str, params: dict, source: str) -> Verdict:
    """The verdict of probe ``target`` (``'module:function'``) with ``params`` on ``device``, running it if unknown.

    ``source`` is the kernel text the probe builds; a change to it invalidates the cached verdict. Verdicts of
    probes that timed out are kept for this process only, since a loaded machine may pass next time.

    Example:
        >>> verdict.__name__
        'verdict'
    """
    key = verdict_key(device, target, params, source)
    with _lock:
        known = _memory.get(key)
        if known is None:
            stored = _read_verdicts().get(key)
            if isinstance(stored, dict) and isinstance(stored.get("ok"), bool):
                known = Verdict(stored["ok"], str(stored.get("reason", "")))
            else:
                known, keep = run_in_child(device, target, params)
                if keep:
                    _store_verdict(key, known, f"{target} {json.dumps(params, sort_keys=True)} on {device.name}")
            _memory[key] = known
    return known


def run_in_child(device: Any, target: str, params: dict, timeout: float = PROBE_TIMEOUT_S) -> tuple[Verdict, bool]:
    """Run probe ``target`` on ``device`` in a child process; returns its verdict and whether to keep it on disk.

    Example:
        >>> run_in_child.__name__
        'run_in_child'
    """
    spec = json.dumps({"target": target, "device": device.index, "identity": device_identity(device),
                       "params": params})
    try:
        proc = subprocess.run([sys.executable, "-m", "tensorflux_opencl.probe", spec], capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    except subprocess.TimeoutExpired:
        return Verdict(False, f"the probe did not finish within {timeout:.0f} s"), False
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        try:
            result = json.loads(lines[-1])
            return Verdict(bool(result["ok"]), str(result.get("reason", ""))), True
        except (ValueError, KeyError):
            pass
    if proc.returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-proc.returncode).name}"
        except ValueError:
            how = f"was killed by signal {-proc.returncode}"
    else:
        how = f"exited with status {proc.returncode}"
    return Verdict(False, f"a test build in a child process {how}: {_crash_summary(proc.stderr)}"), True


def _crash_summary(stderr: str) -> str:
    """The lines of a crashed child's stderr that say why: the compiler's own error first, else the tail."""
    lines = [ln.rstrip() for ln in stderr.splitlines() if ln.strip() and "warning" not in ln]
    errors = [ln.strip() for ln in lines if any(w in ln for w in ("ERROR", "Error", "error:", "what():"))]
    summary = " / ".join((errors or lines)[-_STDERR_TAIL:]) or "(no output)"
    if "bad_alloc" in stderr or "out of memory" in stderr:
        summary += (f" (the compiler outgrew the probe's {CHILD_MEMORY_BYTES >> 20} MiB memory cap: it cannot "
                    "lower this code for the device's target)")
    return summary


def _cap_memory(limit: int) -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass  # no rlimits here: a runaway compile then only takes longer to fail


def main(argv: list[str]) -> int:
    """The child's side: run one probe from a JSON spec and print its verdict as one JSON line.

    Example:
        >>> main.__name__
        'main'
    """
    spec = json.loads(argv[0])
    _cap_memory(CHILD_MEMORY_BYTES)
    from .device import enumerate_devices

    devices, why = enumerate_devices()
    index = int(spec["device"])
    if index >= len(devices):
        print(json.dumps({"ok": False, "reason": f"the child process found no OpenCL device {index}: {why}"}))
        return 0
    device = devices[index]
    if device_identity(device) != spec["identity"]:
        print(json.dumps({"ok": False, "reason": f"the child process sees a different device {index}: "
                                                 f"{device_identity(device)}"}))
        return 0
    module, _, name = spec["target"].partition(":")
    try:
        getattr(importlib.import_module(module), name)(device, **spec["params"])
    except Exception as exc:  # noqa: BLE001 - every failure is a verdict
        print(json.dumps({"ok": False, "reason": f"{type(exc).__name__}: {exc}"}))
        return 0
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
