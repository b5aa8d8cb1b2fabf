"""Freezing tools on GraphDefs, as TensorFlow's ``tf.graph_util`` (1.15's, which 2.x keeps as
``tf.compat.v1.graph_util``): ``extract_sub_graph``, ``convert_variables_to_constants`` and ``remove_training_nodes``.

Every function takes our GraphDef, TensorFlow's (any message of the same wire format) or its serialized bytes,
never changes it, and returns a new GraphDef of ours (``tensorflux.proto.graph_pb2``), which TensorFlow's
``tf.import_graph_def`` reads as it is.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from ..proto import attr_value_pb2, graph_pb2, node_def_pb2
from . import tf_logging
from .serialization.tensor_proto import dtype_from_enum, to_tensor_proto
from .untrusted import parsing

_VARIABLE_OPS = ("Variable", "VariableV2", "VarHandleOp")


def as_graph_def(graph_def: Any, what: str) -> graph_pb2.GraphDef:
    """A private copy of ``graph_def`` (ours, TensorFlow's, or serialized bytes) as our GraphDef.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     _ = tf.constant(1.0, name="c")
        >>> [n.name for n in as_graph_def(g.as_graph_def().SerializeToString(), "example").node]
        ['c']
    """
    if isinstance(graph_def, (bytes, bytearray)):
        data = bytes(graph_def)
    elif hasattr(graph_def, "SerializeToString") and hasattr(graph_def, "node"):
        data = graph_def.SerializeToString()
    else:
        raise TypeError(f"{what}: graph_def must be a GraphDef proto (or its serialized bytes), got "
                        f"{type(graph_def).__name__}")
    out = graph_pb2.GraphDef()
    with parsing(f"{what}: the serialized graph_def"):
        out.ParseFromString(data)
    return out


def node_name(input_spec: str) -> str:
    """The node an input of a NodeDef names: ``"^n"``, ``"n"`` and ``"n:1"`` all name node ``n``.

    Example:
        >>> node_name("^init"), node_name("split:1"), node_name("x")
        ('init', 'split', 'x')
    """
    name = input_spec[1:] if input_spec.startswith("^") else input_spec
    head, colon, index = name.rpartition(":")
    return head if colon and index.isdigit() else name


def _colocated_with(node: Any) -> list[str]:
    """The nodes a ``_class`` attribute (``loc:@name``) colocates ``node`` with: TF keeps them with it."""
    if "_class" not in node.attr:
        return []
    names = [s.decode("utf-8") if isinstance(s, bytes) else s for s in node.attr["_class"].list.s]
    return [n[len("loc:@"):] for n in names if n.startswith("loc:@")]


def _check_dest_nodes(dest_nodes: Any, what: str) -> list[str]:
    if isinstance(dest_nodes, (str, bytes)):
        raise TypeError(f"{what}: the destination nodes must be a list of node names, got the string {dest_nodes!r}")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in dest_nodes]


def extract_sub_graph(graph_def: Any, dest_nodes: Iterable[str]) -> graph_pb2.GraphDef:
    """The part of ``graph_def`` that the nodes ``dest_nodes`` need: them and everything they reach through data,
    control and colocation (``_class``) inputs, in the original order, with the versions and TensorFlow's function library.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     a = tf.constant(1.0, name="a")
        ...     _ = tf.add(a, 2.0, name="b")
        ...     _ = tf.negative(a, name="unused")
        >>> [n.name for n in tf.graph_util.extract_sub_graph(g.as_graph_def(), ["b"]).node]
        ['a', 'b/y', 'b']
    """
    dest_nodes = _check_dest_nodes(dest_nodes, "extract_sub_graph")
    source = as_graph_def(graph_def, "extract_sub_graph")
    by_name = {node_name(n.name): n for n in source.node}
    missing = [d for d in dest_nodes if d not in by_name]
    if missing:
        raise ValueError(f"extract_sub_graph: {', '.join(repr(m) for m in missing)} "
                         f"{'is' if len(missing) == 1 else 'are'} not in the graph (it has {len(by_name)} nodes)")
    keep: set[str] = set()
    pending = list(dest_nodes)
    while pending:
        name = pending.pop()
        if name in keep or name not in by_name:
            continue
        keep.add(name)
        node = by_name[name]
        pending.extend(node_name(i) for i in node.input)
        pending.extend(_colocated_with(node))
    return keep_only(source, lambda node: node_name(node.name) in keep)


def keep_only(graph: graph_pb2.GraphDef, keep: Callable[[Any], bool]) -> graph_pb2.GraphDef:
    """``graph`` without the nodes ``keep`` refuses, removed in place; its versions and every other field
    (TensorFlow's function library, an unknown field of our schema) stay. Returns ``graph``.

    Example:
        >>> g = graph_pb2.GraphDef()
        >>> _ = g.node.add(name="a"), g.node.add(name="b")
        >>> [n.name for n in keep_only(g, lambda n: n.name == "b").node]
        ['b']
    """
    for i in reversed([i for i, node in enumerate(graph.node) if not keep(node)]):
        del graph.node[i]
    return graph


def _resource_reads(by_name: dict, graph: graph_pb2.GraphDef) -> tuple[dict, dict]:
    """({VarHandleOp name: a ReadVariableOp tensor that reads it}, {Identity between them: the read's dtype})."""
    reads: dict[str, str] = {}
    identity_dtypes: dict[str, Any] = {}
    for node in graph.node:
        if node.op not in ("ReadVariableOp", "ResourceGather"):
            continue
        source = node_name(node.input[0])
        while source in by_name and by_name[source].op == "Identity":
            identity_dtypes[source] = node.attr["dtype"]
            source = node_name(by_name[source].input[0])
        if source not in by_name or by_name[source].op != "VarHandleOp":
            raise ValueError(f"convert_variables_to_constants: {node.op} node '{node.name}' does not read a "
                             f"VarHandleOp (its input leads to '{source}')")
        if node.op == "ReadVariableOp":
            reads.setdefault(source, f"{node.name}:0")
    return reads, identity_dtypes


def _variables_to_freeze(graph: graph_pb2.GraphDef, whitelist: Any, blacklist: Any, reads: dict) -> dict[str, str]:
    """{variable node name: the tensor whose value it holds}, for the variables the lists allow."""
    found = {}
    for node in graph.node:
        if node.op not in _VARIABLE_OPS:
            continue
        if (whitelist is not None and node.name not in whitelist) or (blacklist is not None and node.name in blacklist):
            continue
        if node.op == "VarHandleOp":
            # A read of it in the graph, else TF's own reader of a resource variable, '<name>/Read/ReadVariableOp',
            # which the session's graph holds even where the outputs do not need it.
            found[node.name] = reads.get(node.name, f"{node.name}/Read/ReadVariableOp:0")
        else:
            found[node.name] = f"{node.name}:0"
    return found


def _const_node(name: str, dtype_attr: Any, value: np.ndarray) -> Any:
    node = node_def_pb2.NodeDef(name=name, op="Const")
    node.attr["dtype"].CopyFrom(dtype_attr)
    dtype = dtype_from_enum(dtype_attr.type, f"attr 'dtype' of variable '{name}'")
    node.attr["value"].CopyFrom(attr_value_pb2.AttrValue(tensor=to_tensor_proto(np.asarray(value), dtype)))
    return node


def convert_variables_to_constants(sess: Any, input_graph_def: Any, output_node_names: Iterable[str],
                                   variable_names_whitelist: Iterable[str] | None = None,
                                   variable_names_blacklist: Iterable[str] | None = None) -> graph_pb2.GraphDef:
    """The part of ``input_graph_def`` that ``output_node_names`` need, with each variable replaced by a ``Const``
    of its current value in ``sess``: a frozen graph that runs without a checkpoint.

    As TensorFlow 1.15: ``Variable`` / ``VariableV2`` nodes become constants of the same name;
    a ``VarHandleOp`` becomes one too, its ``ReadVariableOp`` readers ``Identity`` ops (and the Identity ops in
    between take the value's dtype), a ``ResourceGather`` a ``GatherV2``. A whitelist keeps only the variables it
    names, a blacklist leaves out the ones it names. ``sess`` is any session that can fetch the variables' values
    (``sess.run`` of their tensors): ours, or TensorFlow's for a graph of its own.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float32, [None, 2], name="x")
        >>> w = tf.Variable([[1.0], [2.0]], name="w")
        >>> y = tf.matmul(x, w, name="y")
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     frozen = tf.graph_util.convert_variables_to_constants(sess, sess.graph.as_graph_def(), ["y"])
        >>> sorted((n.name, n.op) for n in frozen.node)
        [('w', 'Const'), ('w/read', 'Identity'), ('x', 'Placeholder'), ('y', 'MatMul')]
    """
    whitelist = None if variable_names_whitelist is None else set(variable_names_whitelist)
    blacklist = None if variable_names_blacklist is None else set(variable_names_blacklist)
    graph = extract_sub_graph(input_graph_def, _check_dest_nodes(output_node_names, "convert_variables_to_constants"))
    by_name = {n.name: n for n in graph.node}
    reads, identity_dtypes = _resource_reads(by_name, graph)
    tensors = _variables_to_freeze(graph, whitelist, blacklist, reads)
    values = dict(zip(tensors, sess.run(list(tensors.values())))) if tensors else {}
    nodes = []
    for node in graph.node:
        if node.name in values:
            nodes.append(_const_node(node.name, node.attr["dtype"], values[node.name]))
        elif node.op == "ReadVariableOp" and node_name(node.input[0]) in values:
            new = node_def_pb2.NodeDef(name=node.name, op="Identity", input=[node.input[0]], device=node.device)
            new.attr["T"].CopyFrom(node.attr["dtype"])
            if "_class" in node.attr:
                new.attr["_class"].CopyFrom(node.attr["_class"])
            nodes.append(new)
        elif node.op == "ResourceGather" and node_name(node.input[0]) in values:
            nodes.extend(_gather_of_constant(node))
        else:
            new = node_def_pb2.NodeDef()
            new.CopyFrom(node)
            if node.op == "Identity" and node.name in identity_dtypes:
                new.attr["T"].CopyFrom(identity_dtypes[node.name])
            nodes.append(new)
    del graph.node[:]
    graph.node.extend(nodes)
    tf_logging.info("Froze %d variables.", len(values))
    return graph


def _gather_of_constant(node: Any) -> list:
    """A ``ResourceGather`` of a frozen variable as ``GatherV2`` along axis 0: [a new ``<name>/axis`` constant,
    the gather]."""
    if node.attr["batch_dims"].i != 0:
        raise ValueError(f"convert_variables_to_constants: ResourceGather '{node.name}' has batch_dims "
                         f"{node.attr['batch_dims'].i}; only 0 can be frozen")
    index_type = node.attr["Tindices"]
    axis = _const_node(f"{node.name}/axis", index_type, np.asarray(0))
    gather = node_def_pb2.NodeDef(name=node.name, op="GatherV2", input=[node.input[0], node.input[1], axis.name],
                                  device=node.device)
    gather.attr["Tparams"].CopyFrom(node.attr["dtype"])
    gather.attr["Tindices"].CopyFrom(index_type)
    gather.attr["Taxis"].CopyFrom(index_type)
    gather.attr["batch_dims"].i = 0
    if "_class" in node.attr:
        gather.attr["_class"].CopyFrom(node.attr["_class"])
    return [axis, gather]


def remove_training_nodes(input_graph: Any, protected_nodes: Iterable[str] | None = None) -> graph_pb2.GraphDef:
    """``input_graph`` without the nodes only training needs: every ``CheckNumerics``, and the ``Identity`` and
    ``StopGradient`` nodes whose removal cannot change control flow; ``protected_nodes`` (say, the outputs) stay.

    As TensorFlow: control dependencies on a removed ``CheckNumerics`` go with it; then an Identity stays when it
    has control inputs, is itself a control input or has nodes colocated with it (``_class``), and the readers of
    a removed one read its input.
    The readers of a removed CheckNumerics read its input too (TensorFlow drops that edge, leaving them an input
    short; the node sets are the same).

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, name="x")
        ...     _ = tf.negative(tf.identity(x, name="copy"), name="y")
        >>> pruned = tf.graph_util.remove_training_nodes(g.as_graph_def())
        >>> [(n.name, list(n.input)) for n in pruned.node]
        [('x', []), ('y', ['x'])]
    """
    protected = set(protected_nodes or ())
    graph = as_graph_def(input_graph, "remove_training_nodes")
    # name -> the input (with its output index) its readers read instead
    checks = {n.name: n.input[0] for n in graph.node if n.op == "CheckNumerics" and n.name not in protected and n.input}
    _rewire(graph, checks, drop_control=True)
    control_inputs = {node_name(i) for n in graph.node if n.name not in checks for i in n.input if i.startswith("^")}
    with_control = {n.name for n in graph.node if any(i.startswith("^") for i in n.input)}
    colocated = {name for n in graph.node if n.name not in checks for name in _colocated_with(n)}
    kept = protected | with_control | control_inputs | colocated
    identities = {n.name: n.input[0] for n in graph.node
                  if n.op in ("Identity", "StopGradient") and n.name not in kept and n.input}
    _rewire(graph, identities, drop_control=False)
    return keep_only(graph, lambda node: node.name not in checks and node.name not in identities)


def _rewire(graph: graph_pb2.GraphDef, spliced: dict[str, str], drop_control: bool) -> None:
    """Point every input of a node outside ``spliced`` through the spliced nodes; with ``drop_control``, control
    inputs on them are dropped instead."""
    for node in graph.node:
        if node.name in spliced:
            continue
        inputs = [_through(i, spliced) for i in node.input
                  if not (drop_control and i.startswith("^") and node_name(i) in spliced)]
        del node.input[:]
        node.input.extend(inputs)


def _through(input_spec: str, spliced: dict[str, str]) -> str:
    """``input_spec`` followed through spliced nodes to the tensor they pass on (a control input stays one)."""
    control = input_spec.startswith("^")
    spec = input_spec[1:] if control else input_spec
    seen = set()
    while node_name(spec) in spliced and node_name(spec) not in seen:
        seen.add(node_name(spec))
        spec = spliced[node_name(spec)]
        spec = spec[1:] if spec.startswith("^") else spec
    return f"^{node_name(spec)}" if control else spec
