"""A driver made of bytearrays, for the device SDK's unit tests: the unit under test is the SDK, not a driver.

``BytesDevice`` is a complete :class:`~tensorflux.extend.BufferDevice`: its buffers are bytearrays and its
copies are memory copies, and it counts what the SDK asks of it, so tests can tell an upload from a view.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tensorflux.extend import BufferDevice


class BytesDevice(BufferDevice):
    """A BufferDevice over bytearrays that counts allocations, frees and copies each way."""

    device_type = "bytes"

    def __init__(self, index: int = 0, **limits) -> None:
        self.allocated: list[bytearray] = []
        self.freed: list[bytearray] = []
        self.copies_in = 0
        self.copies_out = 0
        super().__init__(index, **limits)

    def allocate_buffer(self, nbytes: int) -> bytearray:
        buf = bytearray(nbytes)
        self.allocated.append(buf)
        return buf

    def free_buffer(self, buffer: bytearray) -> None:
        self.freed.append(buffer)

    def copy_in(self, buffer: bytearray, host: np.ndarray) -> None:
        self.copies_in += 1
        buffer[:host.nbytes] = host.tobytes()

    def copy_out(self, host: np.ndarray, buffer: bytearray) -> None:
        self.copies_out += 1
        host.reshape(-1).view(np.uint8)[:] = np.frombuffer(buffer, np.uint8, host.nbytes)


def kernel_context(device: BytesDevice) -> SimpleNamespace:
    """What a kernel's ``ctx`` offers the SDK's kernels: the device it runs on."""
    return SimpleNamespace(device=device)
