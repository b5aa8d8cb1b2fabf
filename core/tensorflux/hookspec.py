"""The plugin contract: every hook a tensorflux plugin may implement, in one module.

A plugin is a module (or object) exposed through the entry-point group ``tensorflux.plugins``.
It declares ``TENSORFLUX_CONTRACT = "1.0"`` (the contract version it targets) and implements any
of the hooks below, marked with :data:`hookimpl`. Each hook receives a ``registrar`` bound to the
plugin, so every registration is attributed to it and rolled back if the plugin fails.

Example (a plugin module)::

    from tensorflux.extend import hookimpl

    TENSORFLUX_CONTRACT = "1.0"

    @hookimpl
    def tensorflux_register_kernels(registrar):
        registrar.kernel("Swish", "cpu", lambda x: x / (1 + np.exp(-x)))
"""

from __future__ import annotations

import pluggy

PROJECT = "tensorflux"
CONTRACT_VERSION = "1.0"

# Fused ops are part of the contract: the graph pass ``fusion`` rewrites a pattern into one of these only on a
# device that registered a kernel for it, so a device may implement any of them, or none. Their inputs, attrs
# and exact semantics are documented in docs/architecture.md ("Fused ops") and checked by the conformance
# suite against the unfused composition.
FUSED_OPS = {
    "_FusedConv2D": "Conv2D, then a per-channel bias add, an optional activation (relu), then an optional 2x2 max pool; "
                    "kernels that take the `residual` attr also add a 4th input of the output's shape before the "
                    "activation and apply relu6, those that take `filter_const` are told when the filter is constant",
    "_FusedDepthwiseConv2dNative": "DepthwiseConv2dNative, then a per-channel bias add (one per output channel), "
                                   "then an optional activation (relu, relu6 or swish, y * sigmoid(y)); kernels "
                                   "that take `filter_const` are told when the filter is constant",
    "_FusedSwish": "x * sigmoid(beta * x) (a swish; the attr beta is the constant scale, 1 when there is none)",
    "_FusedMaxPoolGrad": "MaxPoolGrad whose incoming gradient is masked by ReluGrad at the pool's input",
    "_FusedScaleShift": "x * scale + offset, per channel along the last axis (constants), then an optional relu or "
                        "relu6: an inference batch norm no convolution absorbs",
    "_MatMulApplyAdam": "ApplyAdam whose gradient is MatMul(a, b) (with its transpose attrs), computed blockwise",
}

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def tensorflux_register_ops(registrar) -> None:
    """Register op definitions with ``registrar.op(OpDef(...))``. Called before every other hook."""


@hookspec
def tensorflux_register_devices(registrar) -> None:
    """Register devices with ``registrar.device(DeviceSubclass(index))``, one call per device found.

    A plugin whose hardware is absent registers nothing and may call ``registrar.no_devices(why)``.
    """


@hookspec
def tensorflux_register_kernels(registrar) -> None:
    """Register kernels with ``registrar.kernel(op_name, device_type, fn, dtypes=None)``.

    ``fn(*inputs, **attrs)`` receives the op's inputs positionally and, as keyword-only
    parameters, the attributes it names; a parameter named ``ctx`` receives the KernelContext.
    """


@hookspec
def tensorflux_register_optimizers(registrar) -> None:
    """Register optimizer classes (subclasses of ``tensorflux.extend.Optimizer``) with ``registrar.optimizer(name, cls)``.

    Users then find them with ``tf.train.get_optimizer(name)`` and ``tf.train.list_optimizers()``.
    """


@hookspec
def tensorflux_versions() -> dict:
    """Versions of what the plugin runs on, for ``python -m tensorflux info``: libraries and drivers by name.

    Optional, and called only by ``info``, so it may import its libraries. Example return value:
    ``{"pyopencl": "2026.1.4", "PoCL": "3.0-rc2 (LLVM 14.0.6)"}``.
    """


@hookspec
def tensorflux_cli_commands() -> dict:
    """Subcommands the plugin adds to ``python -m tensorflux``: ``{name: command}``.

    ``command`` has ``help`` (one line), ``add_arguments(parser)`` (an argparse subparser) and ``run(args)``
    returning the exit status. Called only by the command line; a name core already uses is skipped.
    """


@hookspec
def tensorflux_register_checkpoint_formats(registrar) -> None:
    """Register checkpoint formats with ``registrar.checkpoint_format(name, fmt)``.

    ``fmt`` has ``write(prefix, tensors)``, ``read(prefix)``, ``detect(prefix)`` and ``files(prefix)``
    (see ``tensorflux.extend.CheckpointFormat``); ``tf.train.Saver(format=name)`` then writes it,
    and ``restore`` detects it from the files.
    """
