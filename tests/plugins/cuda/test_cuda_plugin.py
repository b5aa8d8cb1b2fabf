"""The cuda plugin on a machine without a GPU: it loads, registers no device, says why, and stays out of the way.

Nothing is mocked: this machine has no NVIDIA driver, and cupy (installed with the plugin) is really imported
where the probe asks it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("tensorflux_cuda", reason="the tensorflux-cuda plugin is not installed")

import tensorflux as tf  # noqa: E402
from tensorflux.__main__ import main  # noqa: E402
from tensorflux.extend import PlacementWarning, list_devices, plugin_infos  # noqa: E402
from tensorflux_cuda import plugin, probe  # noqa: E402 - after the importorskip

if probe.find_gpus()[0]:
    pytest.skip(f"this machine has {probe.find_gpus()[0]} GPU(s); these tests are for machines without one "
                "(benchmarks/gpu_check.py checks a GPU)", allow_module_level=True)


class _Recorder:
    def __init__(self) -> None:
        self.devices, self.reason, self.kernels = [], "", []

    def device(self, dev) -> None:
        self.devices.append(dev)

    def no_devices(self, reason: str) -> None:
        self.reason = reason

    def kernel(self, *args, **kwargs) -> None:
        self.kernels.append(args[0])


def test_the_plugin_is_installed_and_reports_no_device_with_the_reason(capsys):
    info = next((i for i in plugin_infos() if i.name == "cuda"), None)
    assert info is not None and info.status == "ok", info
    assert info.devices == [] and info.kernels == []
    assert not [d for d in list_devices() if d.device_type == "cuda"]
    assert main(["devices", "--no-check"]) == 0
    out = capsys.readouterr().out
    assert "plugin 'cuda' has no devices: " in out
    assert info.no_devices_reason in out and "CUDA driver" in info.no_devices_reason


def test_hooks_register_nothing_and_give_the_probe_reason():
    rec = _Recorder()
    plugin.tensorflux_register_devices(rec)
    plugin.tensorflux_register_kernels(rec)
    assert rec.devices == [] and rec.kernels == [] and rec.reason == probe.find_gpus()[1]


def test_cupy_itself_finds_no_usable_driver():
    """The probe's second step, run for real: cupy imports without a GPU and its runtime reports the driver."""
    count, why = probe.cupy_device_count()
    assert count == 0
    assert why.startswith("cupy ") and "cudaError" in why, why


def test_a_gpu_placement_names_the_cuda_device_that_is_missing():
    """TF's '/gpu:0' names the cuda device; without a GPU a graph pinned there runs on the cpu with soft placement,
    saying which device is missing and why, and is refused without it."""
    with tf.device("/gpu:0"):
        y = tf.constant([1.0, 2.0]) * 3.0
    assert y.op.device == "/cuda:0"
    with pytest.warns(PlacementWarning, match=r"/cuda:0: no such device is available .*plugin 'cuda' found no device"):
        assert tf.Session().run(y).tolist() == [3.0, 6.0]
    strict = tf.Session(config=tf.ConfigProto(allow_soft_placement=False))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"/cuda:0, but no such device is available"):
        strict.run(y)


def test_importing_the_plugin_and_running_its_hooks_does_not_import_cupy():
    code = ("import sys, time, tensorflux.extend; t = time.perf_counter(); import tensorflux_cuda.plugin as p; "
            "t_import = time.perf_counter() - t\n"
            "class R:\n"
            "    def no_devices(self, why): self.why = why\n"
            "    def kernel(self, *a, **k): raise AssertionError('a kernel was registered')\n"
            "r = R(); t = time.perf_counter(); p.tensorflux_register_devices(r); p.tensorflux_register_kernels(r)\n"
            "import json; print(json.dumps({'cupy': 'cupy' in sys.modules, 'import_s': t_import, "
            "'hooks_s': time.perf_counter() - t, 'why': r.why}))")
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert out["cupy"] is False, out
    assert out["import_s"] < 0.5 and out["hooks_s"] < 0.5, out  # measured: under 1 ms and ~2 ms; cupy's import ~1 s
    assert "libcuda" in out["why"] or "nvcuda" in out["why"] or "cupy" in out["why"]


def test_versions_name_cupy_and_why_there_is_no_gpu():
    found = plugin.tensorflux_versions()
    assert any(k.startswith("cupy-cuda") for k in found), found
    assert found["GPUs"].startswith("none: ")
