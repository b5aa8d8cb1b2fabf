"""GraphDef rewrites for frozen inference graphs (a Tensorflux extension; TensorFlow has them in its separate
``transform_graph`` tool): ``fold_batch_norms``.

An inference batch norm after a convolution or a matrix product is a per-output-channel scale ``k`` and shift
``b``; folded into the weights (``w * k``) and a bias (``bias * k + b``), the normalization costs nothing at run
time. Two forms are folded:

- ``FusedBatchNorm`` / V2 / V3 with ``is_training=False``, whose scale, offset, mean and variance are constants;
- the Mul / Add form (``y * k + b``) that Keras layers and ``tf.nn.batch_normalization`` leave in a frozen graph,
  where ``k`` and ``b`` are computed from constants (``rsqrt(variance + eps) * gamma`` ...).

The producer may be ``Conv2D``, ``DepthwiseConv2dNative`` or ``MatMul`` (NHWC, channels last), optionally
followed by a ``BiasAdd`` of a constant. The rewritten chain is the producer with a new constant filter, then a
``BiasAdd`` named as the chain's last node, so its consumers are untouched; constants nothing reads any more are
dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..proto import attr_value_pb2, graph_pb2
from .graph_util import as_graph_def, keep_only, node_name
from .serialization.tensor_proto import dtype_from_enum, from_tensor_proto, to_tensor_proto

_PRODUCERS = ("Conv2D", "DepthwiseConv2dNative", "MatMul")
_FUSED_BATCH_NORMS = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
_ADDS = ("Add", "AddV2", "BiasAdd")
# Pure ops whose value is computed here when all their inputs are constants (what a batch norm's k and b are made of).
_FOLDABLE = {
    "Identity": lambda x: x, "Add": np.add, "AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply,
    "RealDiv": np.divide, "Maximum": np.maximum, "Neg": np.negative, "Sqrt": np.sqrt, "Square": np.square,
    "Rsqrt": lambda x: 1 / np.sqrt(x), "Reciprocal": lambda x: 1 / x,
}


_RESHAPES = ("Reshape", "Squeeze", "ExpandDims")  # Keras keeps a convolution's bias as a Squeeze of a constant


def _reshaped(node: Any, args: list) -> np.ndarray | None:
    """The value of a Reshape / Squeeze / ExpandDims of constant float ``args``, else None."""
    if any(a is None for a in args) or args[0].dtype.kind != "f":
        return None
    x = args[0]
    if node.op == "Squeeze":
        dims = tuple(node.attr["squeeze_dims"].list.i) if "squeeze_dims" in node.attr else ()
        return np.squeeze(x, axis=dims or None)
    shape = args[1].astype(np.int64).reshape(-1)
    return x.reshape(tuple(shape)) if node.op == "Reshape" else np.expand_dims(x, int(shape[0]))


class _Graph:
    """A mutable view of a GraphDef: nodes by name, who reads each node, and constant values on demand."""

    def __init__(self, graph: graph_pb2.GraphDef) -> None:
        self.graph = graph
        self.nodes = {n.name: n for n in graph.node}
        self._values: dict[str, np.ndarray | None] = {}
        self.readers: dict[str, list] = {}
        for n in graph.node:
            self.remember(n)
        self.read_before = set(self.readers)

    def remember(self, node: Any) -> None:
        """Note the inputs ``node`` reads."""
        for spec in node.input:
            self.readers.setdefault(node_name(spec), []).append((node.name, spec))

    def forget(self, node: Any) -> None:
        """Forget the inputs ``node`` reads (before it is rewritten or dropped)."""
        for spec in node.input:
            entries = self.readers.get(node_name(spec), [])
            if (node.name, spec) in entries:
                entries.remove((node.name, spec))

    def value(self, spec: str) -> np.ndarray | None:
        """The constant value of input ``spec`` (output 0 of a Const, or of pure ops of constants), else None."""
        name = node_name(spec)
        if spec.startswith("^") or (spec != name and not spec.endswith(":0")):
            return None
        if name not in self._values:
            self._values[name] = None  # guards cycles while computing
            self._values[name] = self._compute(self.nodes.get(name))
        return self._values[name]

    def _compute(self, node: Any) -> np.ndarray | None:
        if node is None:
            return None
        if node.op == "Const":
            return from_tensor_proto(node.attr["value"].tensor, f"value of Const '{node.name}'")
        data = [i for i in node.input if not i.startswith("^")]
        if node.op in _RESHAPES and data:
            return _reshaped(node, [self.value(i) for i in data])
        fn = _FOLDABLE.get(node.op)
        if fn is None or not data:
            return None
        args = [self.value(i) for i in data]
        if any(a is None or a.dtype.kind != "f" for a in args):
            return None
        with np.errstate(all="ignore"):
            return np.asarray(fn(*args), dtype=args[0].dtype)

    def only_reader(self, name: str) -> Any:
        """The one node reading output 0 of ``name`` (and nothing else of it), else None."""
        readers = self.readers.get(name, [])
        if len(readers) != 1 or not _first_output(readers[0][1]):
            return None
        return self.nodes[readers[0][0]]

    def data_reads_only_first_output(self, name: str) -> bool:
        """Whether the data inputs that read ``name`` all read its output 0."""
        return all(spec.startswith("^") or _first_output(spec) for _, spec in self.readers.get(name, []))

    def unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.nodes:
            name, i = f"{base}_{i}", i + 1
        return name


def _attr(node: Any, key: str, default: Any) -> Any:
    """A scalar attribute of ``node`` (``b``, ``f`` or ``s``), ``default`` when absent (reading a missing key of a
    proto map would add it)."""
    if key not in node.attr:
        return default
    return getattr(node.attr[key], node.attr[key].WhichOneof("value") or "s")


def _channels_last(node: Any) -> bool:
    return _attr(node, "data_format", b"NHWC") in (b"", b"NHWC")


def _first_output(spec: str) -> bool:
    """Whether the input ``spec`` is a data input reading output 0 (``"n"`` or ``"n:0"``)."""
    return not spec.startswith("^") and (spec == node_name(spec) or spec.endswith(":0"))


def _per_channel(value: np.ndarray | None, channels: int, rank: int) -> np.ndarray | None:
    """``value`` as a [channels] vector when, against a tensor of ``rank`` with ``channels`` last, it broadcasts
    along the channel axis alone (or is a scalar), else None."""
    if value is None or value.ndim > rank:
        return None
    if value.size == 1:
        return np.full(channels, value.reshape(()), np.float64)
    if value.shape[-1:] == (channels,) and value.size == channels:
        return value.reshape(channels).astype(np.float64)
    return None


def _producer(g: _Graph, spec: str) -> tuple[Any, Any, np.ndarray | None] | None:
    """(the Conv2D / DepthwiseConv2dNative / MatMul node, its BiasAdd or None, that bias) feeding ``spec``,
    when every node of the chain feeds only the next, its weights are constant and its layout is channels-last."""
    if not _first_output(spec):
        return None
    node = g.nodes.get(node_name(spec))
    bias_node, bias = None, None
    if node is not None and node.op == "BiasAdd":
        if not _channels_last(node) or g.value(node.input[1]) is None:
            return None
        bias_node, bias = node, g.value(node.input[1])
        if not _first_output(node.input[0]) or g.only_reader(node_name(node.input[0])) is not node:
            return None
        node = g.nodes.get(node_name(node.input[0]))
    if node is None or node.op not in _PRODUCERS or g.value(node.input[1]) is None:
        return None
    if node.op != "MatMul" and not _channels_last(node):
        return None
    return node, bias_node, bias


def _channels(producer: Any, weights: np.ndarray) -> int:
    if producer.op == "DepthwiseConv2dNative":
        return weights.shape[2] * weights.shape[3]
    if producer.op == "MatMul":
        return weights.shape[0] if _attr(producer, "transpose_b", False) else weights.shape[1]
    return weights.shape[3]


def _scaled_weights(producer: Any, weights: np.ndarray, k: np.ndarray) -> np.ndarray:
    w = weights.astype(np.float64)
    if producer.op == "DepthwiseConv2dNative":
        return w * k.reshape(w.shape[2], w.shape[3])
    if producer.op == "MatMul" and _attr(producer, "transpose_b", False):
        return w * k[:, None]
    return w * k


def _batch_norm_chain(g: _Graph, node: Any) -> tuple | None:
    """(producer, bias node, bias, k, b, nodes to drop) of an inference FusedBatchNorm* folding into its producer."""
    if _attr(node, "is_training", True) or not _channels_last(node):
        return None
    if not g.data_reads_only_first_output(node.name):
        return None  # the batch statistics or reserve outputs are read
    found = _producer(g, node.input[0])
    if found is None or g.only_reader(node_name(node.input[0])) is not node:
        return None
    scale, offset, mean, variance = (g.value(i) for i in node.input[1:5])
    if any(v is None for v in (scale, offset, mean, variance)):
        return None
    epsilon = _attr(node, "epsilon", 1e-4)
    k = scale.astype(np.float64) / np.sqrt(variance.astype(np.float64) + epsilon)
    b = offset.astype(np.float64) - mean.astype(np.float64) * k
    return (*found, k, b, [node])


def _mul_add_chain(g: _Graph, node: Any) -> tuple | None:
    """(producer, bias node, bias, k, b, nodes to drop, last node) of ``y * k (+ b)`` after a producer."""
    data = [i for i in node.input if not i.startswith("^")]
    for y_spec, k_spec in ((data[0], data[1]), (data[1], data[0])):
        found = _producer(g, y_spec)
        if found is None or g.only_reader(node_name(y_spec)) is not node:
            continue
        weights = g.value(found[0].input[1])
        channels, rank = _channels(found[0], weights), 2 if found[0].op == "MatMul" else 4
        k = _per_channel(g.value(k_spec), channels, rank)
        if k is None:
            continue
        b, dropped, last = np.zeros(channels), [node], node
        add = g.only_reader(node.name)
        if add is not None and add.op in _ADDS + ("Sub",):
            add_data = [i for i in add.input if not i.startswith("^")]
            other = add_data[1] if node_name(add_data[0]) == node.name else add_data[0]
            shift = _per_channel(g.value(other), channels, rank)
            subtracted_from = add.op == "Sub" and node_name(add_data[1]) == node.name
            if shift is not None and not subtracted_from and not (add.op == "BiasAdd" and other == add_data[0]):
                b = -shift if add.op == "Sub" else shift
                dropped, last = [node, add], add
        return (*found, k, b, dropped, last)
    return None


def fold_batch_norms(graph_def: Any) -> graph_pb2.GraphDef:
    """``graph_def`` with every inference batch norm that follows a convolution or a matrix product folded into
    that op's weights and a ``BiasAdd`` (see the module docstring for the forms folded); outputs are unchanged
    up to float rounding. Our extension: TensorFlow's graph transform tool has a ``fold_batch_norms`` of its own.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, [1, 4, 4, 3], name="x")
        ...     y = tf.nn.conv2d(x, np.ones((1, 1, 3, 2), np.float32), [1, 1, 1, 1], "SAME")
        ...     _ = tf.nn.fused_batch_norm(y, [2.0, 3.0], [0.5, 0.5], [0.0, 1.0], [1.0, 1.0],
        ...                                is_training=False, name="bn")
        >>> folded = tf.graph_util.fold_batch_norms(g.as_graph_def())
        >>> [n.op for n in folded.node if n.op != "Const"]
        ['Placeholder', 'Conv2D', 'BiasAdd']
    """
    g = _Graph(as_graph_def(graph_def, "fold_batch_norms"))
    dropped: set[str] = set()
    for node in list(g.graph.node):
        if node.name in dropped:
            continue
        if node.op in _FUSED_BATCH_NORMS:
            chain = _batch_norm_chain(g, node)
            chain = None if chain is None else (*chain, node)
        elif node.op == "Mul":
            chain = _mul_add_chain(g, node)
        else:
            chain = None
        if chain is not None and not dropped.intersection(n.name for n in chain[5]):
            dropped |= _fold(g, *chain)
    return _without(g, dropped)


def _fold(g: _Graph, producer: Any, bias_node: Any, bias: Any, k: np.ndarray, b: np.ndarray, chain: list,
          last: Any) -> set[str]:
    """Rewrite ``producer`` (+ ``bias_node``) + ``chain`` into the producer with scaled weights and a BiasAdd named
    as ``last``; returns the names of the nodes left out."""
    weights = g.value(producer.input[1])
    dtype_attr = producer.attr["T"]
    filter_name = g.unique(f"{producer.name}/folded_weights")
    bias_name = g.unique(f"{last.name}/folded_bias")
    total = b + (0 if bias is None else bias.astype(np.float64).reshape(-1) * k)
    for name, value in ((filter_name, _scaled_weights(producer, weights, k)), (bias_name, total)):
        const = g.graph.node.add(name=name, op="Const", device=producer.device)
        const.attr["dtype"].CopyFrom(dtype_attr)
        tensor = to_tensor_proto(value, dtype_from_enum(dtype_attr.type, f"attr 'T' of '{producer.name}'"))
        const.attr["value"].CopyFrom(attr_value_pb2.AttrValue(tensor=tensor))
        g.nodes[name] = const
    removed = list(chain) + ([bias_node] if bias_node is not None else [])
    for node in removed + [producer]:
        g.forget(node)
    producer.input[1] = filter_name
    controls = sorted({i for n in removed for i in n.input if i.startswith("^")})
    replaced = [n for n in removed if n is not last]
    last_name, device = last.name, last.device
    last.Clear()
    last.name, last.op, last.device = last_name, "BiasAdd", device
    last.input.extend([producer.name, bias_name] + controls)
    last.attr["T"].CopyFrom(dtype_attr)
    last.attr["data_format"].s = b"NHWC"
    g.remember(producer)
    g.remember(last)
    return {n.name for n in replaced}


def _without(g: _Graph, dropped: set[str]) -> graph_pb2.GraphDef:
    """The graph without ``dropped`` and without the constant-valued nodes that nothing reads any more."""
    removed = set(dropped)
    while True:
        # Constants read before the folds but not now were read only by what was folded away.
        read = {node_name(i) for n in g.graph.node if n.name not in removed for i in n.input}
        orphans = {n.name for n in g.graph.node if n.name not in removed and n.name in g.read_before
                   and n.name not in read and g.value(n.name) is not None}
        if not orphans:
            break
        removed |= orphans
    return keep_only(g.graph, lambda node: node.name not in removed)
