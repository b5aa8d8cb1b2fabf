"""Kernels of the functional control-flow ops (tf.cond's If, tf.while_loop's While): core's host kernels, as they
are, since the traced branches run as host plans."""

from __future__ import annotations

from tensorflux.extend import control_flow_kernels

KERNELS = control_flow_kernels()


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
