"""The CPU device: host numpy memory, so copies to and from the host are free."""

from __future__ import annotations

import os

from tensorflux.extend import Device

from .allocator import retain_freed_memory


class CpuDevice(Device):
    """The host CPU. Values are numpy arrays."""

    device_type = "cpu"
    priority = 0
    host_memory = True

    def __init__(self, index: int = 0) -> None:
        super().__init__(index)
        retain_freed_memory()  # a model's buffers are reused run after run, not faulted in again (allocator.py)

    def describe(self) -> dict:
        return {"platform": "numpy", "name": "host CPU", "compute units": os.cpu_count() or 1}
