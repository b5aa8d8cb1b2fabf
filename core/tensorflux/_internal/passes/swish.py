"""Fusion of swish activations: ``x * Sigmoid(x)`` or ``x * Sigmoid(beta * x)`` becomes one ``_FusedSwish`` node.

EfficientNet's activation, as TF freezes Keras's ``swish``: ``Mul(beta, x)``, ``Sigmoid``, ``Mul(x, sigmoid)``,
then an ``IdentityN`` (the custom gradient's wrapper) that passes the product on, its other outputs unread. As
three (or four) steps, ``x`` is read three times and two temporaries are written; the fused kernel reads ``x``
once. The pattern fuses on host-memory devices that register the kernel, when ``beta`` is a one-value constant
that leaves the shape as it is, and every intermediate value (the scaled input, the sigmoid, and the product when
an IdentityN follows) has that one reader and is not fetched: a training graph's sigmoid, which its gradient
reads, stays as it is. ``x`` itself may have any readers.

A swish (beta 1) of a ``_FusedDepthwiseConv2dNative`` that has no activation and no other reader then becomes
that node's ``"Swish"`` activation, applied to each output row while it is in cache.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..registry import lookup_kernel
from .plan import Node, PassContext, consumers

FUSED_SWISH = "_FusedSwish"
FUSED_DEPTHWISE = "_FusedDepthwiseConv2dNative"  # made by the fusion pass, which imports this module


def run(nodes: list, ctx: PassContext, wrap: Any) -> list:
    """Each swish in ``nodes`` as one ``_FusedSwish`` node, at the position of the pattern's last node. ``wrap(fn, op)``
    is the fusion pass's kernel wrapper whose errors name ``op`` (``fusion.Blame``).

    Example:
        >>> run([], PassContext(None, set()), None)
        []
    """
    counts = consumers(nodes)
    readers: dict = {}
    for node in nodes:
        for key in node.inputs:
            readers.setdefault(key, node)
    producers = {key: n for n in nodes if n.kind == "kernel" for key in n.outputs if key is not None}
    constants = {n.outputs[0]: n.value for n in nodes if n.kind == "const" and n.outputs and n.outputs[0] is not None}
    replaced: dict = {}
    plain: set = set()  # the fused nodes of swishes with beta 1

    def only_reader(key: Any, device: Any, op_type: str) -> Node | None:
        node = readers.get(key)
        if (key in ctx.keep or counts.get(key, 0) != 1 or node is None or node.kind != "kernel"
                or node.device is not device or node.op.type != op_type or id(node) in replaced):
            return None
        return node

    for sig in nodes:
        if (sig.kind != "kernel" or sig.op is None or sig.op.type != "Sigmoid" or sig.device is None
                or not sig.device.host_memory or id(sig) in replaced):
            continue
        kdef = lookup_kernel(FUSED_SWISH, sig.device.device_type, sig.op.attrs)
        if kdef is None:
            continue
        chain, x, beta = [sig], sig.inputs[0], 1.0
        scaled = _scaled_input(producers.get(x), x, sig, counts, constants, ctx)
        if scaled is not None:
            pre, x, beta = scaled
            if id(pre) in replaced:
                continue
            chain.insert(0, pre)
        product = only_reader(sig.outputs[0], sig.device, "Mul")
        if product is None or sorted(map(id, product.inputs)) != sorted((id(x), id(sig.outputs[0]))):
            continue
        chain.append(product)
        wrapper = only_reader(product.outputs[0], sig.device, "IdentityN")
        if (wrapper is not None and wrapper.inputs and wrapper.inputs[0] is product.outputs[0]
                and wrapper.inputs.count(product.outputs[0]) == 1
                and all(k is None or (counts.get(k, 0) == 0 and k not in ctx.keep) for k in wrapper.outputs[1:])):
            chain.append(wrapper)
        last = chain[-1]
        attrs = {**sig.op.attrs, "beta": beta}
        fn = wrap(functools.partial(kdef.fn, **{p: attrs[p] for p in kdef.attr_params if p in attrs}), sig.op)
        for dropped in chain[:-1]:
            replaced[id(dropped)] = None
        replaced[id(last)] = Node(last.op, "kernel", sig.device, kdef, fn, [x], [last.outputs[0]])
        if beta == 1.0:
            plain.add(id(replaced[id(last)]))
    return _into_depthwise(_replace(nodes, replaced), plain, ctx, wrap)


def _replace(nodes: list, replaced: dict) -> list:
    """``nodes`` with each node whose id is in ``replaced`` swapped for its replacement, or dropped for None."""
    return [replaced.get(id(n), n) for n in nodes if replaced.get(id(n), n) is not None]


def _into_depthwise(nodes: list, plain: set, ctx: PassContext, wrap: Any) -> list:
    """Each swish of beta 1 (ids in ``plain``) whose input is a ``_FusedDepthwiseConv2dNative`` with no activation,
    read by the swish alone, becomes that node's activation (EfficientNet's depthwise convolution, batch norm and
    swish: one pass)."""
    counts = consumers(nodes)
    producers = {n.outputs[0]: n for n in nodes if n.kind == "kernel" and len(n.outputs) == 1}
    replaced: dict = {}
    for node in nodes:
        if id(node) not in plain:
            continue
        x = node.inputs[0]
        conv = producers.get(x)
        if (conv is None or conv.kdef is None or conv.kdef.op != FUSED_DEPTHWISE or conv.device is not node.device
                or counts.get(x, 0) != 1 or x in ctx.keep or "activation" not in conv.kdef.attr_params
                or type(conv.fn) is not wrap or not isinstance(conv.fn.fn, functools.partial)):
            continue
        bound = conv.fn.fn
        if bound.keywords.get("activation", "") != "":
            continue
        fn = wrap(functools.partial(bound.func, *bound.args, **{**bound.keywords, "activation": "Swish"}), conv.fn.op)
        replaced[id(conv)] = None
        replaced[id(node)] = Node(node.op, "kernel", node.device, conv.kdef, fn, list(conv.inputs), list(node.outputs))
    return _replace(nodes, replaced)


def _scaled_input(pre: Node | None, key: Any, sig: Node, counts: dict, constants: dict,
                  ctx: PassContext) -> tuple[Node, Any, float] | None:
    """(the Mul, x, beta) when the sigmoid's input ``key`` is ``beta * x`` (or ``x * beta``) for a one-value constant
    beta that leaves x's shape, read by the sigmoid alone; else None."""
    if (pre is None or pre.kind != "kernel" or pre.op.type != "Mul" or pre.device is not sig.device
            or len(pre.inputs) != 2 or key in ctx.keep or counts.get(key, 0) != 1):
        return None
    for x, c in (pre.inputs, pre.inputs[::-1]):
        value = constants.get(c)
        if value is None or x in constants or np.size(value) != 1:
            continue
        x_dims = getattr(getattr(x, "shape", None), "_dims", None)
        out_dims = getattr(getattr(key, "shape", None), "_dims", None)
        if x_dims is None or out_dims != x_dims or getattr(x, "dtype", None) != getattr(key, "dtype", None):
            continue
        return pre, x, float(np.reshape(value, ()))
    return None
