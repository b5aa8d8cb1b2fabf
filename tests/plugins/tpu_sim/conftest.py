"""Shared fixtures of the tpu_sim tests: the device, with its settings put back after each test."""

from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture
def tpu() -> Iterator:
    """The ``tensorflux_tpu_sim`` module, its device's chip and precision restored after the test."""
    module = pytest.importorskip("tensorflux_tpu_sim", reason="the tpu_sim plugin is not installed")
    device = module.get_device()
    saved = (device.chip, device.precision)
    yield module
    device.chip, device.precision = saved
