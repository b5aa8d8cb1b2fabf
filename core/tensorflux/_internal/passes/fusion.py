"""Fusion: Conv2D followed by a per-channel bias add (and a Relu, and a 2x2 max pool) becomes one node.

The node is ``_FusedConv2D``: the device's fused kernel applies the bias, the activation and the pool
to each chunk of the convolution's output while it is still in cache, instead of a pass over the whole
activation for each (the unpooled activation is then never stored at all). The pool (ksize and
strides 2x2, NHWC) is fused only when the convolution's output height and width are even, where SAME
and VALID pooling agree. The pattern fuses only when every intermediate value has exactly one reader
and is not fetched, all nodes sit on one device, that device has a ``_FusedConv2D`` kernel, the layout
is NHWC and the bias is 1-D with one entry per output channel (``AddV2`` with it on either side, or
``BiasAdd``). Errors of the fused kernel name the convolution.

Pool gradients: MaxPoolGrad whose only reader is the ReluGrad at the pool's own input (the backward
pass of ``max_pool(relu(...))``) becomes one ``_FusedMaxPoolGrad`` node, which routes each window's
gradient only when its maximum is positive, in one pass instead of two.

Gradient products: an ApplyAdam whose gradient is a MatMul that nothing else reads (a dense layer's
weight gradient) becomes one ``_MatMulApplyAdam`` node, which computes the product in blocks of rows
and updates the variable and its slots with each block while it is in cache, instead of writing the
whole gradient out and reading it back.

Elementwise chains: consecutive elementwise nodes on one host-memory device, each reading the
previous one's output as its only reader (``x + 1 + 1 ...``, ``relu(a * b)``), become one step that
calls the kernels in turn. That saves the per-step slot traffic, and each kernel that accepts
``donated`` may write into the previous result when nobody else holds it. An error still names the
op whose kernel raised.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from ..registry import lookup_kernel
from .plan import Node, PassContext, consumers

# The fused ops this pass produces; the plugin contract (hookspec.FUSED_OPS) lists and documents them.
FUSED_CONV2D, FUSED_MAX_POOL_GRAD, MATMUL_APPLY_ADAM = "_FusedConv2D", "_FusedMaxPoolGrad", "_MatMulApplyAdam"
PRODUCES = (FUSED_CONV2D, FUSED_MAX_POOL_GRAD, MATMUL_APPLY_ADAM)


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


def _is_pool2x2(node: Node, conv: Node) -> bool:
    if node.kind != "kernel" or node.op.type != "MaxPool" or node.device is not conv.device:
        return False
    attrs = node.op.attrs
    dims = conv.op.outputs[0].shape._dims
    return (attrs.get("data_format", "NHWC") == "NHWC" and list(attrs["ksize"]) == [1, 2, 2, 1]
            and list(attrs["strides"]) == [1, 2, 2, 1] and dims is not None and dims[1] is not None
            and dims[2] is not None and dims[1] % 2 == 0 and dims[2] % 2 == 0)


def _first_readers(nodes: list) -> dict:
    """Each value key -> the first node that reads it."""
    readers: dict = {}
    for node in nodes:
        for key in node.inputs:
            readers.setdefault(key, node)
    return readers


def _replace(nodes: list, replaced: dict) -> list:
    """``nodes`` with each node whose id is in ``replaced`` swapped for its replacement, or dropped for None."""
    return [replaced.get(id(n), n) for n in nodes if replaced.get(id(n), n) is not None]


def _only_reader(key: Any, readers: dict, counts: dict, ctx: PassContext) -> Node | None:
    if key is None or key in ctx.keep or counts.get(key, 0) != 1:
        return None
    return readers.get(key)


def run(nodes: list, ctx: PassContext) -> list:
    """Fuse Conv2D + bias (+ Relu) (+ 2x2 MaxPool) and MaxPoolGrad + ReluGrad where the device has kernels,
    then elementwise chains.

    Example:
        >>> run([], PassContext(None, set()))
        []
    """
    return _chains(_gradient_products(_pool_gradients(_convolutions(nodes, ctx), ctx), ctx), ctx)


def _gradient_products(nodes: list, ctx: PassContext) -> list:
    """ApplyAdam whose gradient is a MatMul nobody else reads becomes one ``_MatMulApplyAdam`` node."""
    counts = consumers(nodes)
    producer: dict = {}
    for node in nodes:
        for key in node.outputs:
            producer[key] = node
    replaced: dict = {}
    for node in nodes:
        if node.kind != "kernel" or node.op.type != "ApplyAdam" or node.device is None:
            continue
        grad = node.inputs[9]
        product = producer.get(grad)
        if (product is None or product.kind != "kernel" or product.op.type != "MatMul" or grad in ctx.keep
                or counts.get(grad) != 1 or product.device is not node.device or id(product) in replaced):
            continue
        attrs = {**node.op.attrs, "transpose_a": product.op.attrs["transpose_a"],
                 "transpose_b": product.op.attrs["transpose_b"]}
        kdef = lookup_kernel(MATMUL_APPLY_ADAM, node.device.device_type, attrs)
        if kdef is None:
            continue
        fn = Blame(functools.partial(kdef.fn, **{p: attrs[p] for p in kdef.attr_params if p in attrs}), node.op)
        replaced[id(product)] = None
        replaced[id(node)] = Node(node.op, "kernel", node.device, kdef, fn, node.inputs[:9] + product.inputs,
                                  list(node.outputs))
    return _replace(nodes, replaced)


def _pool_gradients(nodes: list, ctx: PassContext) -> list:
    counts = consumers(nodes)
    readers = _first_readers(nodes)
    replaced: dict = {}
    for node in nodes:
        if node.kind != "kernel" or node.op.type != "MaxPoolGrad" or node.device is None:
            continue
        kdef = lookup_kernel(FUSED_MAX_POOL_GRAD, node.device.device_type, node.op.attrs)
        relu_grad = _only_reader(node.outputs[0], readers, counts, ctx)
        if (kdef is None or relu_grad is None or relu_grad.kind != "kernel" or relu_grad.op.type != "ReluGrad"
                or relu_grad.device is not node.device or relu_grad.inputs[0] is not node.outputs[0]
                or relu_grad.inputs[1] is not node.inputs[0]):
            continue
        attrs = {**node.op.attrs, "activation": "Relu"}
        fn = Blame(functools.partial(kdef.fn, **{p: attrs[p] for p in kdef.attr_params if p in attrs}), node.op)
        replaced[id(node)] = None
        replaced[id(relu_grad)] = Node(relu_grad.op, "kernel", node.device, kdef, fn, list(node.inputs),
                                       [relu_grad.outputs[0]])
    return _replace(nodes, replaced)


def _convolutions(nodes: list, ctx: PassContext) -> list:
    counts = consumers(nodes)
    readers = _first_readers(nodes)
    replaced: dict = {}  # id(node) -> fused node (at the position of the chain's last node), or None to drop
    for node in nodes:
        if node.kind != "kernel" or node.op.type != "Conv2D" or id(node) in replaced:
            continue
        if node.op.attrs.get("data_format", "NHWC") != "NHWC" or node.device is None:
            continue
        kdef = lookup_kernel(FUSED_CONV2D, node.device.device_type, node.op.attrs)
        conv_out = node.outputs[0]
        add = _only_reader(conv_out, readers, counts, ctx)
        channels = node.op.outputs[0].shape._dims
        if kdef is None or add is None or add.kind != "kernel" or add.device is not node.device or channels is None:
            continue
        bias = _bias_of(add, conv_out, channels[-1])
        if bias is None:
            continue
        chain, activation, pool = [node, add], "", ""
        # A kernel applies only the stages it takes as attributes (an older device kernel may lack ``pool``).
        relu = _only_reader(add.outputs[0], readers, counts, ctx) if "activation" in kdef.attr_params else None
        if relu is not None and relu.kind == "kernel" and relu.op.type == "Relu" and relu.device is node.device:
            chain.append(relu)
            activation = "Relu"
        pooling = _only_reader(chain[-1].outputs[0], readers, counts, ctx) if "pool" in kdef.attr_params else None
        if pooling is not None and _is_pool2x2(pooling, node):
            chain.append(pooling)
            pool = "MaxPool2x2"
        last = chain[-1]
        attrs = {**node.op.attrs, "activation": activation, "pool": pool}
        kwargs = {p: attrs[p] for p in kdef.attr_params if p in attrs}
        fn = Blame(functools.partial(kdef.fn, **kwargs), node.op)
        fused = Node(last.op, "kernel", node.device, kdef, fn, [node.inputs[0], node.inputs[1], bias],
                     [last.outputs[0]])
        for dropped in chain[:-1]:
            replaced[id(dropped)] = None
        replaced[id(last)] = fused
    return _replace(nodes, replaced)


class Blame:
    """A fused kernel whose errors name the op they most likely come from (the convolution)."""

    __slots__ = ("fn", "op")

    def __init__(self, fn: Any, op: Any) -> None:
        self.fn, self.op = fn, op

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.fn(*args, **kwargs)
        except Exception as exc:
            exc.tensorflux_op = self.op
            raise


ELEMENTWISE = frozenset({
    "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "SquaredDifference", "Pow", "FloorDiv", "FloorMod",
    "Neg", "Abs", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Log1p", "Sign", "Reciprocal", "Floor", "Ceil", "Round",
    "Relu", "Relu6", "Elu", "Softplus", "Sigmoid", "Tanh", "BiasAdd", "Cast",
})
# Results smaller than this are not worth writing into: a fresh array costs less than the checks.
DONATE_MIN_BYTES = 1 << 16


def _refs_in_stage(value: Any, args: list) -> int:
    return sys.getrefcount(value)


def _sole_refs() -> int:
    value = np.empty(1)
    args = [value]
    return _refs_in_stage(value, args)


_SOLE = _sole_refs()  # the references of a value held only by the chain's local variable and argument list


class ElementwiseChain:
    """One step running several kernels in turn, each on the previous one's result.

    ``stages`` are ``(kernel, argument map, donated position or -1, op)``; an argument map entry is an
    index into the chain's inputs, or -1 for the previous stage's result. ``plugins`` names each stage's
    kernel's plugin: an error names the one that raised, and ``plugin`` (the last stage's) is the one
    whose result the executor checks against the graph's promise.

    Example:
        >>> import numpy as np
        >>> ElementwiseChain([(np.negative, [0], -1, None), (np.add, [-1, 0], -1, None)])(np.ones(2)).tolist()
        [0.0, 0.0]
    """

    __slots__ = ("stages", "_compiled", "plugins", "plugin")

    def __init__(self, stages: list, plugins: list | None = None) -> None:
        self.stages = stages
        self.plugins = plugins or [""] * len(stages)
        self.plugin = self.plugins[-1] if self.plugins else ""
        compiled = []
        for fn, argmap, donate, op in stages:
            # Common shapes get a direct call: f(prev), f(prev, input j), f(input j, prev).
            if argmap == [-1]:
                shape, j = 1, 0
            elif len(argmap) == 2 and argmap[0] == -1 and argmap[1] >= 0:
                shape, j = 2, argmap[1]
            elif len(argmap) == 2 and argmap[1] == -1 and argmap[0] >= 0:
                shape, j = 3, argmap[0]
            else:
                shape, j = 0, 0
            compiled.append((fn, shape, j, argmap, donate, op))
        self._compiled = compiled

    def __call__(self, *inputs: Any) -> Any:
        value = None
        op = None
        index = -1
        try:
            for index, stage in enumerate(self._compiled):  # noqa: B007 - the handler reads it
                fn, shape, j, argmap, donate, op = stage
                if (donate >= 0 and type(value) is np.ndarray and value.nbytes >= DONATE_MIN_BYTES
                        and value.base is None and value.flags.writeable):
                    args = [value if k < 0 else inputs[k] for k in argmap]
                    if _refs_in_stage(value, args) <= _SOLE:
                        value = fn(*args, donated=(donate,))
                        continue
                    value = fn(*args)
                elif shape == 2:
                    value = fn(value, inputs[j])
                elif shape == 3:
                    value = fn(inputs[j], value)
                elif shape == 1:
                    value = fn(value)
                else:
                    value = fn(*[value if k < 0 else inputs[k] for k in argmap])
        except Exception as exc:
            exc.tensorflux_op = op  # the executor names this op, and its kernel's plugin, in the error
            if 0 <= index < len(self.plugins) and self.plugins[index]:
                exc.tensorflux_plugin = self.plugins[index]
            raise
        return value


def _chainable(node: Node) -> bool:
    return (node.kind == "kernel" and node.pure and not node.multi and len(node.outputs) == 1
            and node.op is not None and node.op.type in ELEMENTWISE and node.device is not None
            and node.device.host_memory)


def _chains(nodes: list, ctx: PassContext) -> list:
    counts = consumers(nodes)
    out: list = []
    chain: list = []  # kernel nodes of the chain being built; const nodes in between go to ``out`` directly

    def flush() -> None:
        if len(chain) > 1:
            out.append(_fuse_chain(chain))
        elif chain:
            out.append(chain[0])
        chain.clear()

    for node in nodes:
        if node.kind == "const":
            out.append(node)
            continue
        if chain and _chainable(node) and node.device is chain[-1].device:
            prev = chain[-1].outputs[0]
            if (prev is not None and prev not in ctx.keep and counts.get(prev) == 1
                    and node.inputs.count(prev) == 1):
                chain.append(node)
                continue
        flush()
        if _chainable(node):
            chain.append(node)
        else:
            out.append(node)
    flush()
    return out


def _fuse_chain(chain: list) -> Node:
    inputs: list = []
    stages = []
    plugins = []
    for i, node in enumerate(chain):
        prev = chain[i - 1].outputs[0] if i else None
        argmap, donate = [], -1
        for pos, key in enumerate(node.inputs):
            if key is prev and prev is not None:
                argmap.append(-1)
                if node.kdef is not None and node.kdef.wants_donated:
                    donate = pos
                continue
            if key not in inputs:
                inputs.append(key)
            argmap.append(inputs.index(key))
        stages.append((node.fn, argmap, donate, node.op))
        plugins.append((node.kdef.plugin or "core") if node.kdef is not None else "")
    last = chain[-1]
    return Node(last.op, "kernel", last.device, None, ElementwiseChain(stages, plugins), inputs,
                [last.outputs[0]])
