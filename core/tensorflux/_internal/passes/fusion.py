"""Fusion: Conv2D followed by a per-channel bias add (and a Relu, and a 2x2 max pool) becomes one node.

The node is ``_FusedConv2D``: the device's fused kernel applies the bias, the activation and the pool
to each chunk of the convolution's output while it is still in cache, instead of a pass over the whole
activation for each (the unpooled activation is then never stored at all). The pool (ksize and
strides 2x2, NHWC) is fused only when the convolution's output height and width are even, where SAME
and VALID pooling agree. The pattern fuses only when every intermediate value has exactly one reader
and is not fetched, all nodes sit on one device, that device has a ``_FusedConv2D`` kernel, the layout
is NHWC and the bias is 1-D with one entry per output channel (``AddV2`` with it on either side, or
``BiasAdd``). Errors of the fused kernel name the convolution.

Frozen inference graphs (see ``_ConvChain``): where the filter is a plan constant, an inference batch norm
after the convolution (a constant per-channel ``Mul``, then ``AddV2``/``Sub``) is folded into a new
constant filter and bias, as TF's grappler does; a residual ``AddV2`` and Relu6 join the chain on devices
whose kernel takes them, and a bias-less convolution with a constant filter is fused alone, so that the
kernel knows its filter is constant (``filter_const``: a Winograd kernel then transforms it once). On such
kernels a zero ``Pad`` of height and width before a VALID (or EXPLICIT) convolution becomes its explicit padding.

Depthwise convolutions (``_DepthwiseChain``): DepthwiseConv2dNative with a bias add or a folded batch norm, then
Relu/Relu6, becomes one ``_FusedDepthwiseConv2dNative`` the same way (MobileNet's and EfficientNet's blocks, a zero
``Pad`` before it taken as padding). Swish activations, ``x * sigmoid(beta * x)``, become ``_FusedSwish`` nodes,
or the activation of a fused depthwise convolution just before them (``swish``).

Pool gradients: MaxPoolGrad whose only reader is the ReluGrad at the pool's own input (the backward
pass of ``max_pool(relu(...))``) becomes one ``_FusedMaxPoolGrad`` node, which routes each window's
gradient only when its maximum is positive, in one pass instead of two.

Gradient products: an ApplyAdam whose gradient is a MatMul that nothing else reads (a dense layer's
weight gradient) becomes one ``_MatMulApplyAdam`` node, which computes the product in blocks of rows
and updates the variable and its slots with each block while it is in cache, instead of writing the
whole gradient out and reading it back.

Last, elementwise chains become one step each (``elementwise_chains``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..registry import lookup_kernel
from . import swish
from .elementwise_chains import chains
from .plan import Node, PassContext, consumers

# The fused ops this pass produces; the plugin contract (hookspec.FUSED_OPS) lists and documents them.
FUSED_CONV2D, FUSED_MAX_POOL_GRAD, MATMUL_APPLY_ADAM = "_FusedConv2D", "_FusedMaxPoolGrad", "_MatMulApplyAdam"
FUSED_SCALE_SHIFT = "_FusedScaleShift"
FUSED_DEPTHWISE = swish.FUSED_DEPTHWISE
PRODUCES = (FUSED_CONV2D, FUSED_MAX_POOL_GRAD, MATMUL_APPLY_ADAM, FUSED_SCALE_SHIFT, FUSED_DEPTHWISE, swish.FUSED_SWISH)


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
    """``nodes`` with each node whose id is in ``replaced`` swapped for its replacement (a node, or a list of
    them), or dropped for None."""
    out: list = []
    for n in nodes:
        new = replaced.get(id(n), n)
        if isinstance(new, list):
            out.extend(new)
        elif new is not None:
            out.append(new)
    return out


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
    nodes = _convolutions(nodes, ctx, "DepthwiseConv2dNative", FUSED_DEPTHWISE)
    nodes = swish.run(_scale_shifts(_convolutions(nodes, ctx), ctx), ctx, Blame)
    return chains(_gradient_products(_pool_gradients(nodes, ctx), ctx), ctx)


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


def _convolutions(nodes: list, ctx: PassContext, op_type: str = "Conv2D", fused_op: str = FUSED_CONV2D) -> list:
    counts = consumers(nodes)
    readers = _first_readers(nodes)
    constants = {n.outputs[0]: n.value for n in nodes if n.kind == "const" and n.outputs and n.outputs[0] is not None}
    producers = {n.outputs[0]: n for n in nodes if n.kind == "kernel" and len(n.outputs) == 1}
    replaced: dict = {}  # id(node) -> fused node (at the position of the chain's last node), or None to drop
    for node in nodes:
        if node.kind != "kernel" or node.op.type != op_type or id(node) in replaced:
            continue
        if node.op.attrs.get("data_format", "NHWC") != "NHWC" or node.device is None:
            continue
        kdef = lookup_kernel(fused_op, node.device.device_type, node.op.attrs)
        dims = node.op.outputs[0].shape._dims
        if kdef is None or dims is None or dims[-1] is None:
            continue
        chain = (_ConvChain if op_type == "Conv2D" else _DepthwiseChain)(node, kdef, dims[-1], counts, readers,
                                                                          constants, ctx, replaced)
        if not chain.grow():
            continue
        pad = producers.get(node.inputs[0])
        if "filter_const" in kdef.attr_params and chain.absorb_padding(pad):
            replaced[id(pad)] = None
        fused, extra = chain.fused_node()
        for dropped in chain.nodes[:-1]:
            replaced[id(dropped)] = None
        replaced[id(chain.nodes[-1])] = extra + [fused]
    return _replace(nodes, replaced)


class _FoldedKey:
    """The key of a constant the pass made: a convolution's filter or bias with a batch norm folded in."""

    __slots__ = ("op", "what", "dtype", "shape")

    def __init__(self, op: Any, what: str, like: Any) -> None:
        self.op, self.what, self.dtype, self.shape = op, what, like.dtype, None

    def __repr__(self) -> str:
        return f"<{self.what} of {self.op.name}>"


def _per_channel(value: Any, channels: int) -> Any:
    """``value`` as a 1-D array of ``channels`` entries, when it broadcasts along the last axis only, else None."""
    if not isinstance(value, np.ndarray) or value.ndim > 4 or value.size not in (1, channels):
        return None
    if value.ndim and any(d != 1 for d in value.shape[:-1]):
        return None
    return np.broadcast_to(value.reshape(-1), (channels,))


class _ConvChain:
    """A Conv2D and the nodes after it that one ``_FusedConv2D`` computes.

    In order: a per-channel bias add; a per-channel constant scale and offset (an inference batch norm, as
    frozen graphs spell it: ``Mul`` then ``AddV2``/``Sub``), folded into the filter and bias when the filter is
    a constant; a residual ``AddV2`` of another value of the output's shape; Relu or Relu6; a 2x2 max pool.
    Each intermediate value must have that one reader and not be fetched, on the convolution's device.
    Kernels apply only the stages they take as attributes: ``activation`` (relu; with ``residual``, relu6
    too), ``pool``, ``residual`` (the added input, as a fourth input) and ``filter_const`` (told when the
    filter is a plan constant; a bias-less convolution with a constant filter is fused for that alone).
    """

    def __init__(self, conv: Node, kdef: Any, channels: int, counts: dict, readers: dict, constants: dict,
                 ctx: PassContext, claimed: dict) -> None:
        self.conv, self.kdef, self.channels, self.claimed = conv, kdef, channels, claimed
        self.counts, self.readers, self.constants, self.ctx = counts, readers, constants, ctx
        self.nodes = [conv]
        self.filter, self.bias = conv.inputs[1], None
        self.scale = self.offset = None  # a folded batch norm's per-channel arrays
        self.side, self.activation, self.pool = None, "", ""
        self.input, self.padding = conv.inputs[0], None  # with an absorbed Pad: its input, and the explicit pads

    def _next(self, *types: str) -> Node | None:
        node = _only_reader(self.nodes[-1].outputs[0], self.readers, self.counts, self.ctx)
        if (node is None or node.kind != "kernel" or node.device is not self.conv.device or node.op.type not in types
                or id(node) in self.claimed):  # already in an earlier convolution's chain
            return None
        return node

    def _other(self, node: Node) -> Any:
        """The input of the two-input ``node`` that is not the chain's value (None if both are)."""
        out = self.nodes[-1].outputs[0]
        if len(node.inputs) != 2 or node.inputs.count(out) != 1:
            return None
        return node.inputs[1] if node.inputs[0] is out else node.inputs[0]

    def _bias(self) -> None:
        add = self._next("BiasAdd", "AddV2")
        if add is None or (add.op.type == "BiasAdd" and (add.inputs[0] is not self.nodes[-1].outputs[0]
                                                         or add.op.attrs.get("data_format", "NHWC") != "NHWC")):
            return
        bias = self._other(add)
        dims = getattr(getattr(bias, "shape", None), "_dims", None)
        if dims is None or len(dims) != 1 or dims[0] != self.channels or bias.dtype != self.conv.outputs[0].dtype:
            return
        self.bias = bias
        self.nodes.append(add)

    def _batch_norm(self) -> None:
        """A constant per-channel scale (and offset) after a constant filter, folded into filter and bias."""
        host = self.conv.device.host_memory
        if not host or self.filter not in self.constants or (self.bias is not None and self.bias not in self.constants):
            return
        mul = self._next("Mul")
        scale = None if mul is None else _per_channel(self.constants.get(self._other(mul)), self.channels)
        if scale is None:
            return
        self.nodes.append(mul)
        self.scale = scale
        add = self._next("AddV2", "Sub", "BiasAdd")
        offset = None if add is None else _per_channel(self.constants.get(self._other(add)), self.channels)
        if offset is not None and (add.op.type != "Sub" or add.inputs[0] is self.nodes[-1].outputs[0]):
            self.offset = -offset if add.op.type == "Sub" else offset
            self.nodes.append(add)

    def _residual(self) -> None:
        add = self._next("AddV2")
        side = None if add is None else self._other(add)
        out = self.nodes[-1].outputs[0]
        if side is None or side in self.constants or getattr(side, "dtype", None) != out.dtype:
            return
        want, have = getattr(out.shape, "_dims", None), getattr(getattr(side, "shape", None), "_dims", None)
        if want is None or None in want or have != want:
            return
        self.side = side
        self.nodes.append(add)

    def grow(self) -> bool:
        """Take every stage the kernel applies; whether there is anything to fuse."""
        params = self.kdef.attr_params
        self._bias()
        self._batch_norm()
        if self.bias is None and self.scale is None and not (
                "filter_const" in params and self.filter in self.constants and self.conv.device.host_memory):
            return False
        if "residual" in params:
            self._residual()
        if "activation" in params:
            act = self._next("Relu", "Relu6")
            if act is not None and (act.op.type == "Relu" or "residual" in params):
                self.activation = act.op.type
                self.nodes.append(act)
        pooling = self._next("MaxPool") if "pool" in params else None
        if pooling is not None and self.side is None and self.activation != "Relu6" and _is_pool2x2(pooling, self.conv):
            self.pool = "MaxPool2x2"
            self.nodes.append(pooling)
        return True

    def absorb_padding(self, pad: Node | None) -> bool:
        """Take a zero ``Pad``/``PadV2`` of height and width before the convolution as its explicit padding (as
        TF's frozen Keras models pad their stems), when nothing else reads the padded value."""
        conv = self.conv
        if (pad is None or pad.kind != "kernel" or pad.op.type not in ("Pad", "PadV2") or pad.device is not conv.device
                or _only_reader(pad.outputs[0], self.readers, self.counts, self.ctx) is not conv
                or conv.op.attrs.get("padding") not in ("VALID", "EXPLICIT") or id(pad) in self.claimed):
            return False
        pads = self.constants.get(pad.inputs[1])
        fill = self.constants.get(pad.inputs[2]) if pad.op.type == "PadV2" else 0
        if (not isinstance(pads, np.ndarray) or pads.shape != (4, 2) or pads[0].any() or pads[3].any()
                or (pads < 0).any() or fill is None or np.any(fill)):
            return False
        have = list(conv.op.attrs.get("explicit_paddings") or [0] * 8) if conv.op.attrs["padding"] == "EXPLICIT" \
            else [0] * 8
        self.input = pad.inputs[0]
        self.padding = [int(a) + int(b) for a, b in zip(have, pads.reshape(-1))]
        return True

    def _constant(self, what: str, value: Any) -> tuple[Any, Node]:
        value = np.ascontiguousarray(value)
        value.setflags(write=False)
        key = _FoldedKey(self.conv.op, what, self.conv.outputs[0])
        return key, Node(self.conv.op, "const", self.conv.device, None, None, [], [key], value=value)

    def _folded_filter(self) -> Any:
        """The constant filter times the folded batch norm's per-output-channel scale."""
        return self.constants[self.filter] * self.scale

    def fused_node(self) -> tuple[Node, list]:
        """The ``_FusedConv2D`` node, and the constant nodes it reads that this pass made."""
        extra, filt, bias = [], self.filter, self.bias
        constant = filt in self.constants
        dtype = self.conv.outputs[0].dtype.np_dtype
        if self.scale is not None or bias is None:
            b = np.zeros(self.channels, dtype) if bias is None else self.constants[bias]
            if self.scale is not None:
                f = self._folded_filter().astype(dtype, copy=False)
                b = b * self.scale + (0 if self.offset is None else self.offset)
                filt, node = self._constant("folded filter", f)
                extra.append(node)
            bias, node = self._constant("folded bias", np.asarray(b, dtype))
            extra.append(node)
        attrs = {**self.conv.op.attrs, "activation": self.activation, "pool": self.pool,
                 "residual": self.side is not None, "filter_const": constant}
        if self.padding is not None:
            attrs.update(padding="EXPLICIT", explicit_paddings=self.padding)
        kwargs = {p: attrs[p] for p in self.kdef.attr_params if p in attrs}
        fn = Blame(functools.partial(self.kdef.fn, **kwargs), self.conv.op)
        inputs = [self.input, filt, bias] + ([self.side] if self.side is not None else [])
        last = self.nodes[-1]
        return Node(last.op, "kernel", self.conv.device, self.kdef, fn, inputs, [last.outputs[0]]), extra


class _DepthwiseChain(_ConvChain):
    """A DepthwiseConv2dNative and what one ``_FusedDepthwiseConv2dNative`` computes after it: a per-channel bias add,
    a constant per-channel scale and offset (folded into the constant filter and bias), Relu or Relu6. A zero
    ``Pad`` before it becomes its explicit padding, as for ``_ConvChain``."""

    def grow(self) -> bool:
        self._bias()
        self._batch_norm()
        if self.bias is None and self.scale is None:
            return False
        act = self._next("Relu", "Relu6") if "activation" in self.kdef.attr_params else None
        if act is not None:
            self.activation = act.op.type
            self.nodes.append(act)
        return True

    def _folded_filter(self) -> Any:
        f = self.constants[self.filter]  # [kh, kw, c, multiplier]: output channel c * multiplier + m
        return f * np.reshape(self.scale, f.shape[2:])


def _scale_shifts(nodes: list, ctx: PassContext) -> list:
    """A Mul by a per-channel constant, then an AddV2/Sub of one, then Relu/Relu6 (each optional after the Mul,
    at least one present), becomes one ``_FusedScaleShift`` node on host-memory devices with the kernel."""
    counts = consumers(nodes)
    readers = _first_readers(nodes)
    constants = {n.outputs[0]: n.value for n in nodes if n.kind == "const" and n.outputs and n.outputs[0] is not None}
    replaced: dict = {}
    for node in nodes:
        if node.kind != "kernel" or node.op.type != "Mul" or node.device is None or not node.device.host_memory:
            continue
        kdef = lookup_kernel(FUSED_SCALE_SHIFT, node.device.device_type, node.op.attrs)
        x, scale = _scaled(node, constants)
        if kdef is None or x is None:
            continue
        chain = [node]
        channels = scale.shape[0]
        offset = np.zeros(channels, scale.dtype)
        add = _only_reader(node.outputs[0], readers, counts, ctx)
        if add is not None and add.kind == "kernel" and add.device is node.device and add.op.type in ("AddV2", "Sub"):
            other = add.inputs[1] if add.inputs[0] is node.outputs[0] else add.inputs[0]
            value = _per_channel(constants.get(other), channels) if add.inputs.count(node.outputs[0]) == 1 else None
            if value is not None and (add.op.type == "AddV2" or add.inputs[1] is other):
                offset = -value if add.op.type == "Sub" else value
                chain.append(add)
        act = _only_reader(chain[-1].outputs[0], readers, counts, ctx)
        activation = ""
        if act is not None and act.kind == "kernel" and act.device is node.device and act.op.type in ("Relu", "Relu6"):
            activation = act.op.type
            chain.append(act)
        if len(chain) == 1:
            continue
        made = []
        for what, value in (("scale", scale), ("offset", offset)):
            value = np.ascontiguousarray(value, scale.dtype)
            value.setflags(write=False)
            key = _FoldedKey(node.op, what, node.outputs[0])
            made.append(Node(node.op, "const", node.device, None, None, [], [key], value=value))
        fn = Blame(functools.partial(kdef.fn, **({"activation": activation} if "activation" in kdef.attr_params
                                                  else {})), node.op)
        last = chain[-1]
        fused = Node(last.op, "kernel", node.device, kdef, fn, [x, made[0].outputs[0], made[1].outputs[0]],
                     [last.outputs[0]])
        for dropped in chain[:-1]:
            replaced[id(dropped)] = None
        replaced[id(last)] = made + [fused]
    return _replace(nodes, replaced)


def _scaled(mul: Node, constants: dict) -> tuple[Any, Any]:
    """(x, 1-D scale) when ``mul`` multiplies a value by a per-channel constant that leaves its shape, else (None, None)."""
    if len(mul.inputs) != 2:
        return None, None
    for x, c in (mul.inputs, mul.inputs[::-1]):
        dims = getattr(getattr(x, "shape", None), "_dims", None)
        value = constants.get(c) if x not in constants else None
        if (value is None or not dims or dims[-1] is None or getattr(value, "ndim", 99) > len(dims)
                or getattr(mul.outputs[0], "shape", None) is None or mul.outputs[0].shape._dims != dims):
            continue
        scale = _per_channel(value, dims[-1])
        if scale is not None:
            return x, scale
    return None, None


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
