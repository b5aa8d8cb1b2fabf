"""Fusion: Conv2D followed by a per-channel bias add (and a Relu) becomes one ``_FusedConv2D`` node.

The device's fused kernel applies the bias and the activation to each chunk of the convolution's
output while it is still in cache, instead of three passes over the whole activation. The pattern
fuses only when every intermediate value has exactly one reader and is not fetched, all nodes sit on
one device, that device has a ``_FusedConv2D`` kernel, the layout is NHWC and the bias is 1-D with
one entry per output channel (``AddV2`` with it on either side, or ``BiasAdd``).
"""

from __future__ import annotations

import functools
from typing import Any

from ..registry import KERNELS
from . import Node, PassContext, consumers


def _bias_of(add: Node, conv_out: Any, channels: int) -> Any:
    """The bias operand of ``add`` (a key), or None when ``add`` is not a per-channel bias add of ``conv_out``."""
    if add.op.type == "BiasAdd":
        if add.inputs[0] is not conv_out or add.op.attrs.get("data_format", "NHWC") != "NHWC":
            return None
        bias = add.inputs[1]
    elif add.op.type == "AddV2" and len(add.inputs) == 2 and conv_out in add.inputs:
        bias = add.inputs[1] if add.inputs[0] is conv_out else add.inputs[0]
        if bias is conv_out:
            return None
    else:
        return None
    shape = getattr(bias, "shape", None)
    dims = getattr(shape, "_dims", None)
    if dims is None or len(dims) != 1 or dims[0] != channels or bias.dtype != conv_out.dtype:
        return None
    return bias


def _only_reader(key: Any, readers: dict, counts: dict, ctx: PassContext) -> Node | None:
    if key is None or key in ctx.keep or counts.get(key, 0) != 1:
        return None
    return readers.get(key)


def run(nodes: list, ctx: PassContext) -> list:
    """Fuse every Conv2D + bias (+ Relu) chain whose device has a ``_FusedConv2D`` kernel.

    Example:
        >>> run([], PassContext(None, set()))
        []
    """
    counts = consumers(nodes)
    readers: dict = {}
    for node in nodes:
        for key in node.inputs:
            readers.setdefault(key, node)
    replaced: dict = {}  # id(node) -> fused node (at the position of the chain's last node), or None to drop
    for node in nodes:
        if node.kind != "kernel" or node.op.type != "Conv2D" or id(node) in replaced:
            continue
        if node.op.attrs.get("data_format", "NHWC") != "NHWC" or node.device is None:
            continue
        kdef = KERNELS.lookup("_FusedConv2D", node.device.device_type, node.op.attrs)
        conv_out = node.outputs[0]
        add = _only_reader(conv_out, readers, counts, ctx)
        channels = node.op.outputs[0].shape._dims
        if kdef is None or add is None or add.kind != "kernel" or add.device is not node.device or channels is None:
            continue
        bias = _bias_of(add, conv_out, channels[-1])
        if bias is None:
            continue
        last, activation = add, ""
        relu = _only_reader(add.outputs[0], readers, counts, ctx)
        if relu is not None and relu.kind == "kernel" and relu.op.type == "Relu" and relu.device is node.device:
            last, activation = relu, "Relu"
        attrs = {**node.op.attrs, "activation": activation}
        kwargs = {p: attrs[p] for p in kdef.attr_params if p in attrs}
        fused = Node(last.op, "kernel", node.device, kdef, functools.partial(kdef.fn, **kwargs),
                     [node.inputs[0], node.inputs[1], bias], [last.outputs[0]])
        replaced[id(node)] = None
        if last is relu:
            replaced[id(add)] = None
        replaced[id(last)] = fused
    return [n if id(n) not in replaced else replaced[id(n)] for n in nodes if replaced.get(id(n), n) is not None]
