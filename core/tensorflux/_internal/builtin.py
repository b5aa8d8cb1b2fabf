"""Core's own plugin: it registers core's op definitions and checkpoint formats through the same hooks third
parties use."""

from __future__ import annotations

from ..hookspec import CONTRACT_VERSION, hookimpl
from .ops import (  # noqa: F401 - each defines its op family
    array_composites,
    array_ops,
    batch_norm_ops,
    binary_math_ops,
    collective_ops,
    conv3d_ops,
    conv_ops,
    data_ops,
    depthwise_ops,
    gradient_args_ops,
    image_ops,
    io_ops,
    lrn_ops,
    math_ops,
    matrix_ops,
    nn_ops,
    random_ops,
    resource_ops,
    scan_ops,
    scatter_nd_ops,
    script_ops,
    shape_ops,
    slice_ops,
    sparse_ops,
    special_math_ops,
    state_ops,
    stateless_random_ops,
    summary_ops,
    svd_ops,
    training_ops,
)
from .ops.common import CORE_OPS

TENSORFLUX_CONTRACT = CONTRACT_VERSION


@hookimpl
def tensorflux_register_ops(registrar) -> None:
    CORE_OPS.register(registrar)


@hookimpl
def tensorflux_register_checkpoint_formats(registrar) -> None:
    from .checkpoint.formats.native import NativeFormat
    from .checkpoint.formats.npz import NpzFormat
    from .checkpoint.formats.tf_bundle import TfBundleFormat

    registrar.checkpoint_format("native", NativeFormat())
    registrar.checkpoint_format("npz", NpzFormat())
    registrar.checkpoint_format("tf_bundle", TfBundleFormat())


@hookimpl
def tensorflux_register_optimizers(registrar) -> None:
    from .training import adagrad, adam, gradient_descent, momentum, rmsprop

    registrar.optimizer("gradient_descent", gradient_descent.GradientDescentOptimizer)
    registrar.optimizer("momentum", momentum.MomentumOptimizer)
    registrar.optimizer("adam", adam.AdamOptimizer)
    registrar.optimizer("adagrad", adagrad.AdagradOptimizer)
    registrar.optimizer("rmsprop", rmsprop.RMSPropOptimizer)
