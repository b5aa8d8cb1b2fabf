"""tf.data kernels (``MakeIterator``, ``IteratorGetNext``): core's host kernels, whose iterator state lives in the
session (``ctx.state``); the cpu device holds host arrays, so they run here as they are."""

from __future__ import annotations

from tensorflux.extend import dataset_kernels

KERNELS = dataset_kernels()


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
