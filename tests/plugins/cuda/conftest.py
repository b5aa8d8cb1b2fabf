"""The cuda plugin's test devices (sim_device.py), installed through a real entry point for each module."""

from __future__ import annotations

from typing import Iterator

import array_api_strict as xp_strict
import pytest

from tests.installed_plugins import installed

SIM_PLUGIN = "tests.plugins.cuda.sim_device"


@pytest.fixture(scope="module")
def sim_devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Install the cuda_strict and cuda_numpy test devices for this module."""
    pytest.importorskip("tensorflux_cuda", reason="the tensorflux-cuda plugin is not installed")
    with installed(tmp_path_factory.mktemp("cuda_sim"), {"cuda_sim": SIM_PLUGIN}):
        yield ("cuda_strict", "cuda_numpy")


@pytest.fixture(autouse=True)
def array_api_2023_12() -> Iterator[None]:
    """Hold ``array_api_strict`` to the 2023.12 standard, the version the kernels are written against."""
    with xp_strict.ArrayAPIStrictFlags(api_version="2023.12"):
        yield


# The conformance suite here runs every op, since every kernel goes through the plugin's dispatch, but at the
# dtypes that tell its paths apart (a float, an integer, bool) rather than at all eight, which run the same
# code; the plugin's own kernels run at float64 too, and the numeric gradient checks run for the ops whose
# kernels the plugin writes itself (the convolution gradients' own values are checked directly). The whole
# suite, at every dtype, takes about four times as long here; benchmarks/gpu_check.py runs it on a GPU.
DISPATCH_DTYPES = frozenset({"float32", "int32", "bool"})
OWN_KERNELS = frozenset({
    "MatMul", "BatchMatMulV2", "Sum", "Mean", "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "_FusedConv2D",
    "MaxPool", "MaxPoolGrad", "_FusedMaxPoolGrad", "Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits",
    "SparseSoftmaxCrossEntropyWithLogits", "ApplyAdam", "_MatMulApplyAdam",
})
GRADIENT_CHECKED = frozenset({"MatMul", "Sum", "Mean", "Conv2D", "MaxPool", "Softmax", "LogSoftmax",
                              "SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits"})


def _wanted(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    info = params.get("info")
    if info is None:
        return True
    if item.originalname == "test_gradient_matches_numeric":
        return info.op in GRADIENT_CHECKED
    dtype = params["dtype"].name
    return dtype in DISPATCH_DTYPES or (info.op in OWN_KERNELS and dtype == "float64")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    here = [i for i in items if i.path.name == "test_cuda_conformance.py"]
    dropped = [i for i in here if not _wanted(i)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [i for i in items if id(i) not in gone]
