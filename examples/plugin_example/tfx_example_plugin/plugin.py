"""Hook implementations only: what this package adds to tensorflux."""

from __future__ import annotations

from tensorflux.extend import hookimpl

TENSORFLUX_CONTRACT = "1.0"


@hookimpl
def tensorflux_register_ops(registrar) -> None:
    from .ops import OPS

    OPS.register(registrar)


@hookimpl
def tensorflux_register_kernels(registrar) -> None:
    from .kernels import swish

    registrar.kernel("Swish", "cpu", swish)


@hookimpl
def tensorflux_register_optimizers(registrar) -> None:
    from .lion import LionOptimizer

    registrar.optimizer("lion", LionOptimizer)


@hookimpl
def tensorflux_register_checkpoint_formats(registrar) -> None:
    from .rawdir import RawDirFormat

    registrar.checkpoint_format("rawdir", RawDirFormat())
