"""Kernels of the ops that run Python or print (py_func, tf.print, tf.Print): core's host kernels, as they are."""

from __future__ import annotations

from tensorflux.extend import script_kernels

KERNELS = script_kernels()


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
