"""Risky builds tried in a child process, verdicts cached, broken programs rebuilt or placed elsewhere.

Each failure mode seen on a Zen 4 host (PoCL's znver3 target aborting on 16-wide vectors, and its cache
then handing back programs with no kernels) is reproduced here on any host with the real driver: a probe
that aborts its child, a compile that fails, and a cache entry whose program holds no kernels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import list_devices

from .conftest import opencl_missing_reason

pytestmark = pytest.mark.skipif(bool(opencl_missing_reason()), reason=opencl_missing_reason() or "-")

CRASHERS = '''
import os

def aborts(device):
    os.abort()

def fails(device):
    raise ValueError("kernel computed 3, expected 2")

def passes(device, **params):
    with open(os.environ["PROBE_RAN_FILE"], "a") as f:
        f.write("ran\\n")
'''


@pytest.fixture
def opencl():
    return next(d for d in list_devices() if d.device_type == "opencl")


@pytest.fixture
def probe_env(tmp_path, monkeypatch):
    """Probe targets importable by the child, and an empty verdict cache."""
    from tensorflux_opencl import probe

    (tmp_path / "crashers.py").write_text(CRASHERS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("PYOPENCL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PROBE_RAN_FILE", str(tmp_path / "ran.txt"))
    monkeypatch.setattr(probe, "_memory", {})
    return tmp_path


def test_a_probe_that_aborts_its_child_is_a_failed_verdict_and_this_process_goes_on(opencl, probe_env):
    from tensorflux_opencl import probe

    found, keep = probe.run_in_child(opencl, "crashers:aborts", {})
    assert not found.ok and keep
    assert "killed by SIGABRT" in found.reason


def test_a_probe_that_raises_reports_the_exception(opencl, probe_env):
    from tensorflux_opencl import probe

    found, _ = probe.run_in_child(opencl, "crashers:fails", {})
    assert not found.ok and "ValueError: kernel computed 3, expected 2" in found.reason


def test_a_probe_that_hangs_times_out_and_is_not_kept(opencl, probe_env):
    from tensorflux_opencl import probe

    (probe_env / "crashers.py").write_text(CRASHERS + "\ndef hangs(device):\n    import time; time.sleep(60)\n")
    found, keep = probe.run_in_child(opencl, "crashers:hangs", {}, timeout=5)
    assert not found.ok and not keep and "did not finish within 5 s" in found.reason


def test_verdicts_are_cached_on_disk_per_device_and_source(opencl, probe_env):
    from tensorflux_opencl import probe

    assert probe.verdict(opencl, "crashers:passes", {"width": 8}, "source A").ok
    assert (probe_env / "ran.txt").read_text().count("ran") == 1
    stored = json.loads((probe_env / "cache" / probe.VERDICTS_FILE).read_text())
    assert [v["ok"] for v in stored.values()] == [True]

    probe._memory.clear()  # a new process: the verdict comes from disk, the child does not run again
    assert probe.verdict(opencl, "crashers:passes", {"width": 8}, "source A").ok
    assert (probe_env / "ran.txt").read_text().count("ran") == 1

    assert probe.verdict(opencl, "crashers:passes", {"width": 8}, "source B").ok  # changed kernel: probed again
    assert (probe_env / "ran.txt").read_text().count("ran") == 2


def test_a_damaged_verdict_file_is_probed_again(opencl, probe_env):
    from tensorflux_opencl import probe

    (probe_env / "cache").mkdir()
    (probe_env / "cache" / probe.VERDICTS_FILE).write_text("{not json")
    assert probe.verdict(opencl, "crashers:passes", {}, "source").ok
    assert json.loads((probe_env / "cache" / probe.VERDICTS_FILE).read_text())


def test_a_vector_width_the_compiler_rejects_is_passed_over(opencl, probe_env, monkeypatch):
    from tensorflux_opencl.kernels import matmul

    # OpenCL C has no 32-wide vectors: the build fails in the child, and the gemm uses the next width.
    monkeypatch.setitem(matmul.WIDTHS, np.dtype(np.float32), (32, 8))
    monkeypatch.setattr(opencl, "gemm_widths", {})
    width, why = matmul.gemm_width(opencl, np.float32)
    assert width == 8
    assert why.startswith("width 32:") and "float32" in why


def test_every_wider_width_than_the_chosen_one_failed_its_probe(opencl):
    from tensorflux_opencl.kernels import matmul

    width, why = matmul.gemm_width(opencl, np.float32)
    widths = matmul.WIDTHS[np.dtype(np.float32)]
    assert width in widths
    assert why.count("width ") == widths.index(width)


STALE_SCENARIO = textwrap.dedent('''
    import os, sys, pyopencl as cl
    from tensorflux_opencl.device import enumerate_devices, program_kernel_names

    cache = os.environ["POCL_CACHE_DIR"]
    def entries():
        return {os.path.join(r, d) for r, ds, _ in os.walk(cache) for d in ds
                if os.path.exists(os.path.join(r, d, "program.bc"))}

    source = ("__kernel void twice(__global float* y, __global const float* x) "
              "{ y[get_global_id(0)] = 2 * x[get_global_id(0)]; } // %s" % sys.argv[1])
    empty = "float helper(float v) { return v; } // %s" % sys.argv[1]
    device = enumerate_devices()[0][0]
    cl.Program(device.context, empty).build(cache_dir=False)
    (empty_entry,) = entries()
    cl.Program(device.context, source).build(cache_dir=False)
    (entry,) = entries() - {empty_entry}
    # What a process that died mid-build leaves: an entry for the source whose program has no kernels.
    with open(os.path.join(empty_entry, "program.bc"), "rb") as f, open(os.path.join(entry, "program.bc"), "wb") as g:
        g.write(f.read())
    print("STALE", sorted(program_kernel_names(cl.Program(device.context, source).build(cache_dir=False))))
    import numpy as np
    kernel = device.kernels("twice", lambda: source).twice
    y = device.empty((4,), np.float32)
    device.launch(kernel, (4,), None, y.buffer, device.from_host(np.arange(4, dtype=np.float32)).buffer)
    print("REBUILT", device.to_host(y).tolist())
''')


def test_a_program_that_comes_back_from_the_driver_cache_without_kernels_is_rebuilt(tmp_path):
    env = {**os.environ, "POCL_CACHE_DIR": str(tmp_path / "pocl"), "PYOPENCL_CACHE_DIR": str(tmp_path / "py")}
    proc = subprocess.run([sys.executable, "-c", STALE_SCENARIO, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("STALE", "REBUILT")))
    assert lines["STALE"] == "[]"  # the driver's cache really hands back a program without kernels
    assert lines["REBUILT"] == "[0.0, 2.0, 4.0, 6.0]"


def test_a_program_that_never_builds_its_kernels_raises_program_error(opencl):
    from tensorflux_opencl.device import ProgramError

    source = "float helper(float v) { return v; }\n// __kernel void ghost(__global float* x) {}"
    with pytest.raises(ProgramError, match=r"lacks kernels \['ghost'\] even when rebuilt"):
        opencl.kernels(("ghost", id(source)), lambda: source)
    with pytest.raises(ProgramError):  # remembered: not rebuilt on every call
        opencl.kernels(("ghost", id(source)), lambda: source)


def _matmul_graph():
    a = tf.placeholder(tf.float32, [40, 50])
    b = tf.placeholder(tf.float32, [50, 60])
    with tf.device("/opencl:0"):
        product = tf.matmul(a, b, name="product")
    rng = np.random.default_rng(0)
    return product, {a: rng.standard_normal((40, 50), np.float32), b: rng.standard_normal((50, 60), np.float32)}


def test_when_the_gemm_has_no_working_width_matmul_runs_on_cpu_with_the_reason(opencl, monkeypatch):
    monkeypatch.setattr(opencl, "gemm_widths", {np.dtype(np.float32): (0, "width 16: LLVM ERROR: test")})
    product, feeds = _matmul_graph()
    with pytest.warns(UserWarning) as caught:
        with tf.Session() as sess:
            got = sess.run(product, feeds)
    message = " ".join(str(w.message) for w in caught)
    assert "'product' (MatMul) cannot run on /opencl:0" in message and "LLVM ERROR: test" in message
    assert "runs on /cpu:0 instead" in message
    np.testing.assert_allclose(got, feeds[product.op.inputs[0]] @ feeds[product.op.inputs[1]], rtol=1e-5)


def test_a_program_found_broken_while_running_fails_that_run_naming_the_op_and_the_next_runs_on_cpu(opencl,
                                                                                                   monkeypatch):
    from tensorflux_opencl.kernels import matmul

    product, feeds = _matmul_graph()
    want = feeds[product.op.inputs[0]] @ feeds[product.op.inputs[1]]
    with tf.Session() as sess:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_allclose(sess.run(product, feeds), want, rtol=1e-4, atol=1e-4)
        width = matmul.gemm_width(opencl, np.float32)[0]
        key = ("gemm", np.dtype(np.float32), width)
        monkeypatch.setitem(opencl.programs.broken, key, "the driver lost the program")
        monkeypatch.delitem(opencl.programs.built, key)
        monkeypatch.setattr(opencl, "__dict__", {**opencl.__dict__})  # forget marks after the test
        with pytest.raises(tf.errors.UnavailableError, match=r"op 'product' \(MatMul\) cannot run on its device: "
                                                              r"the driver lost the program"):
            sess.run(product, feeds)
        with pytest.warns(UserWarning, match=r"'product' \(MatMul\) cannot run on /opencl:0 .*runs on /cpu:0"):
            np.testing.assert_allclose(sess.run(product, feeds), want, rtol=1e-4, atol=1e-4)


def test_the_health_check_passes_on_a_working_device(opencl):
    assert opencl.health_check() == ""


def test_devices_command_shows_health_and_info_lists_driver_versions():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "tensorflux", *args], capture_output=True, text=True,
                              check=True, timeout=600).stdout

    report = json.loads(run("devices", "--json"))
    opencl = next(d for d in report["devices"] if d["device"] == "/opencl:0")
    assert opencl["health"] == "ok"
    deps = json.loads(run("info", "--json"))["plugin_dependencies"]
    assert {"pyopencl", "pocl-binary-distribution", "/opencl:0 driver"} <= set(deps["opencl"])
    assert {"numba", "llvmlite", "BLAS"} <= set(deps["cpu"])
