"""Checkpoint kernels (``SaveV2``, ``RestoreV2``, a Saver's graph ops): core's host kernels, as they are."""

from __future__ import annotations

from tensorflux.extend import checkpoint_kernels

KERNELS = checkpoint_kernels()


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
