"""Graph <-> GraphDef: ``Graph.as_graph_def()`` and ``tf.import_graph_def``.

Node and attribute names are TensorFlow's, so GraphDefs move between the two in both directions
wherever the ops overlap.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Iterator

from ...proto import graph_pb2, versions_pb2
from ..devices import canonical_device
from ..errors import InvalidArgumentError
from ..graph import Graph, Operation, Tensor, get_default_graph, register_graph_def_writer
from ..op_builder import apply_op
from ..registry import OPS, OpDef
from ..untrusted import parsing
from .attr_value import attr_from_proto, shape_to_proto
from .function_export import LibraryWriter
from .function_import import CALL_OPS, TF1_CONTROL_FLOW, LibraryReader, tf1_control_flow_error
from .tensor_proto import dtype_from_enum

# The GraphDef version of the TensorFlow release (2.21) whose op semantics exported graphs follow.
GRAPH_DEF_PRODUCER = 2474

# TF op types that are the same computation as one of ours under another name.
OP_ALIASES = {
    "Add": "AddV2",
    "Variable": "VariableV2",
    "PlaceholderV2": "Placeholder",
    "Snapshot": "Identity",
    "BatchMatMul": "BatchMatMulV2",
}

# TF-only attributes that never change what an op computes, dropped silently on import.
HARMLESS_TF_ATTRS = {"grad_a", "grad_b", "use_cudnn_on_gpu", "debug_name", "allowed_devices"}


class GraphImportWarning(UserWarning):
    """A TF-only attribute with a non-default value was dropped while importing a GraphDef."""


def tensor_input_name(t: Tensor) -> str:
    """A tensor as a NodeDef input: ``"op"`` for output 0, ``"op:i"`` otherwise."""
    return t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}"


def graph_to_graph_def(graph: Graph, add_shapes: bool = False, clear_devices: bool = False) -> graph_pb2.GraphDef:
    """Serialize every op of ``graph`` into a GraphDef, in creation (hence topological) order."""
    gdef = graph_pb2.GraphDef()
    gdef.versions.producer = GRAPH_DEF_PRODUCER
    library = LibraryWriter()  # the functions of If and While ops, as TF's FunctionDefs
    for op in graph.get_operations():
        node = gdef.node.add(name=op.name, op=op.type)
        node.input.extend(tensor_input_name(t) for t in op.inputs)
        node.input.extend(f"^{c.name}" for c in op.control_inputs)
        if op.device and not clear_devices:
            node.device = op.device
        library.write_attrs(op, node)
        if add_shapes:
            node.attr["_output_shapes"].list.shape.extend(shape_to_proto(t.shape) for t in op.outputs)
    if library.library.function:
        gdef.library.CopyFrom(library.library)
    return gdef


def as_graph_def_message(graph_def: Any) -> graph_pb2.GraphDef:
    """Accept our GraphDef, TensorFlow's GraphDef (any message with the same wire format) or serialized bytes."""
    if isinstance(graph_def, graph_pb2.GraphDef):
        return graph_def
    if isinstance(graph_def, (bytes, bytearray)):
        data = bytes(graph_def)
    elif hasattr(graph_def, "SerializeToString"):
        data = graph_def.SerializeToString()
    else:
        raise TypeError(f"import_graph_def: graph_def must be a GraphDef proto, got {type(graph_def).__name__}")
    out = graph_pb2.GraphDef()
    with parsing("import_graph_def: the serialized graph_def"):
        out.ParseFromString(data)
    return out


def import_graph_def(graph_def: Any, input_map: dict | None = None, return_elements: list | None = None,
                     name: str | None = None, op_dict: Any = None, producer_op_list: Any = None) -> list | None:
    """Add the nodes of ``graph_def`` to the default graph, under the name scope ``name`` ('import' by default).

    ``input_map`` maps tensor names in ``graph_def`` (``"x:0"``, or ``"^x"`` for a control input)
    to tensors of the default graph; ``return_elements`` names the imported tensors (``"y:0"``) or
    operations (``"train"``) to return. TF-only attributes that do not change the computation
    (``_class``, ``grad_a``...) are dropped; a few TF op aliases map to ours (``Add`` -> ``AddV2``).

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, [None], name="x")
        ...     y = tf.multiply(x, 2.0, name="y")
        >>> with tf.Graph().as_default():
        ...     z = tf.constant([1.0, 3.0])
        ...     (y2,) = tf.import_graph_def(g.as_graph_def(), input_map={"x:0": z}, return_elements=["y:0"])
        ...     tf.Session().run(y2)
        array([2., 6.], dtype=float32)
    """
    del op_dict, producer_op_list  # accepted for TF compatibility; op definitions come from the registry
    importer = import_graph_def_scoped(graph_def, input_map, "import" if name is None else name)
    if return_elements is None:
        return None
    return [importer.lookup(n) for n in return_elements]


def import_graph_def_scoped(graph_def: Any, input_map: dict | None, name: str,
                            clear_devices: bool = False) -> "_Importer":
    """Import into the default graph under name scope ``name``; the returned importer resolves original names.

    All or nothing: on any error the graph is left exactly as it was (see :func:`all_or_nothing`).
    """
    gdef = as_graph_def_message(graph_def)
    graph = get_default_graph()
    if graph.finalized:
        raise RuntimeError("Graph is finalized and cannot be modified (import_graph_def)")
    mapped = _normalize_input_map(graph, dict(input_map or {}))
    nodes = {node.name for node in gdef.node}
    missing = sorted(k for k in mapped if _node_name(k) not in nodes)
    if missing:
        raise InvalidArgumentError(f"import_graph_def: input_map names tensors that are not in graph_def: {missing}")
    # A graph's content is not a file: whatever it provokes is invalid content, not corruption.
    with all_or_nothing(graph), parsing("import_graph_def", corrupt=InvalidArgumentError):
        with graph.name_scope(name) as scope:
            return _Importer(graph, gdef, scope, mapped, clear_devices).run()


@contextlib.contextmanager
def all_or_nothing(graph: Graph) -> Iterator[None]:
    """Undo everything the block adds to ``graph`` (ops, consumers, names in use, collections) if it raises.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.serialization.graph_def import all_or_nothing
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     try:
        ...         with all_or_nothing(g):
        ...             _ = tf.constant(1.0, name="a")
        ...             raise ValueError("later node is bad")
        ...     except ValueError:
        ...         pass
        ...     g.get_operations(), tf.constant(2.0, name="a").name
        ([], 'a:0')
    """
    n_ops = len(graph._op_list)
    names = dict(graph._names_in_use)
    collections = {k: list(v) for k, v in graph._collections.items()}
    version, id_counter = graph.version, graph._id_counter
    n_held = len(graph.__dict__.get("_data_objects", ()))  # the functions of imported If/While ops
    try:
        yield
    except BaseException:
        del graph.__dict__.get("_data_objects", [])[n_held:]
        added = set(graph._op_list[n_ops:])
        for op in added:
            graph._ops.pop(op.name, None)
            for t in op.inputs:
                if t.op not in added:
                    t._consumers[:] = [c for c in t._consumers if c is not op]
        del graph._op_list[n_ops:]
        graph._names_in_use.clear()
        graph._names_in_use.update(names)
        graph._collections.clear()
        graph._collections.update(collections)
        graph.version, graph._id_counter = version, id_counter
        raise


def _normalize_input_map(graph: Graph, input_map: dict) -> dict:
    out = {}
    for key, value in input_map.items():
        if not isinstance(key, str):
            raise TypeError(f"import_graph_def: input_map keys must be tensor names, got {key!r}")
        if key.startswith("^"):
            if not isinstance(value, Operation):
                raise TypeError(f"import_graph_def: input_map['{key}'] must be an Operation, got {value!r}")
        else:
            if hasattr(value, "_as_tensor"):
                value = value._as_tensor()
            if not isinstance(value, Tensor):
                raise TypeError(f"import_graph_def: input_map['{key}'] must be a Tensor, got {value!r}")
            key = key if ":" in key else f"{key}:0"
        if value.graph is not graph:
            raise ValueError(f"import_graph_def: input_map['{key}'] is not an element of the default graph")
        out[key] = value
    return out


class _Importer:
    """Creates the ops of one GraphDef in dependency order."""

    def __init__(self, graph: Graph, gdef: graph_pb2.GraphDef, scope: str, mapped: dict,
                 clear_devices: bool = False, functions: LibraryReader | None = None) -> None:
        self.graph = graph
        self._functions = functions  # the library's functions; a function's body shares its caller's
        self.clear_devices = clear_devices
        self.gdef = gdef
        self.scope = scope
        self.mapped = mapped
        self.ops: dict[str, Operation] = {}
        self.nodes = {}
        for node in gdef.node:
            if node.name in self.nodes:
                raise ValueError(f"import_graph_def: graph_def has two nodes named '{node.name}'")
            self.nodes[node.name] = node

    def run(self) -> "_Importer":
        for node in self._topological_order():
            self.ops[node.name] = self._create(node)
        return self

    def lookup(self, name: str) -> Any:
        """The imported op (``"name"``) or tensor (``"name:i"``) of a node name in the GraphDef."""
        if not isinstance(name, str):
            raise TypeError(f"import_graph_def: return_elements must be names, got {name!r}")
        op_name, _, index = name.partition(":")
        op = self.ops.get(op_name)
        if op is None:
            raise ValueError(f"import_graph_def: requested return element '{name}' is not in graph_def")
        if not index:
            return op
        if not index.isdigit() or int(index) >= len(op.outputs):
            raise ValueError(f"import_graph_def: requested return element '{name}': op '{op_name}' "
                             f"has {len(op.outputs)} outputs")
        return op.outputs[int(index)]

    def _topological_order(self) -> list:
        order, state = [], {}
        for root in self.gdef.node:
            if root.name in state:
                continue
            state[root.name] = 1
            stack = [(root, iter(_dependency_names(root)))]
            while stack:
                node, pending = stack[-1]
                for dep in pending:
                    if dep not in self.nodes:
                        raise ValueError(
                            f"import_graph_def: node '{node.name}' ({node.op}) has input '{dep}', which is not a "
                            "node of graph_def")
                    s = state.get(dep)
                    if s is None:
                        state[dep] = 1
                        stack.append((self.nodes[dep], iter(_dependency_names(self.nodes[dep]))))
                        break
                    if s == 1:
                        tf1_loop = next((n for n in self.gdef.node if n.op in TF1_CONTROL_FLOW), None)
                        if tf1_loop is not None:  # TF 1's while_loop: say how to write it as a functional While
                            raise tf1_control_flow_error(tf1_loop)
                        raise ValueError(f"import_graph_def: graph_def has a cycle through node '{dep}'; "
                                         "control-flow loops are not supported")
                else:
                    stack.pop()
                    state[node.name] = 2
                    order.append(node)
        return order

    def _input(self, node: Any, spec: str) -> Tensor | Operation:
        if spec.startswith("^"):
            if spec in self.mapped:
                return self.mapped[spec]
            return self.ops[spec[1:]]
        key = spec if ":" in spec else f"{spec}:0"
        if key in self.mapped:
            return self.mapped[key]
        op_name, _, index = key.rpartition(":")
        op = self.ops[op_name]
        if not index.isdigit() or int(index) >= len(op.outputs):
            raise ValueError(f"import_graph_def: node '{node.name}' ({node.op}) reads '{spec}', but node "
                             f"'{op_name}' ({op.type}) has {len(op.outputs)} outputs")
        return op.outputs[int(index)]

    @property
    def functions(self) -> LibraryReader:
        if self._functions is None:
            self._functions = LibraryReader(self.gdef.library, self.graph, _import_body, OP_ALIASES)
        return self._functions

    def _create(self, node: Any) -> Operation:
        op_def = None if node.op in CALL_OPS else _lookup_op(node)
        full_name = self.scope + node.name
        if full_name in self.graph._ops:
            raise ValueError(f"import_graph_def: node '{node.name}' would be named '{full_name}', which the graph "
                             "already has; import under a name scope (name='...')")
        data, control = [], []
        for spec in node.input:
            (control if spec.startswith("^") else data).append(self._input(node, spec))
        if op_def is None:  # a TF If or While: our op over the FunctionDefs it calls, imported
            op_type, args, attrs = self.functions.translate(node, data)
        else:
            op_type, attrs, args = op_def.name, _node_attrs(node, op_def), _group_inputs(node, op_def, data)
        device = "" if self.clear_devices else _device_of(node)
        before = len(self.graph._op_list)
        with contextlib.ExitStack() as stack:
            stack.enter_context(self.graph.control_dependencies(None))
            stack.enter_context(self.graph.control_dependencies(control))
            if device:
                stack.enter_context(self.graph.device(device))
            override = node.attr["_gradient_op_type"].s.decode() if "_gradient_op_type" in node.attr else ""
            if override:  # TF keeps this private attr: the imported op differentiates with the same gradient
                stack.enter_context(self.graph.gradient_override_map({op_type: override}))
            try:
                apply_op(op_type, *args, name=full_name + "/", **attrs)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"import_graph_def: cannot import node '{node.name}' ({node.op}): {exc}") from None
        return self.graph._op_list[before]


def _import_body(graph: Graph, gdef: graph_pb2.GraphDef, functions: LibraryReader) -> _Importer:
    # A function's body: no devices (it runs on the host), and the library shared with its caller.
    return _Importer(graph, gdef, "", {}, clear_devices=True, functions=functions).run()


def _node_name(input_spec: str) -> str:
    """The node an input names: ``"^n"``, ``"n"`` and ``"n:1"`` all name node ``n``."""
    return input_spec.lstrip("^").split(":")[0]


def _dependency_names(node: Any) -> list[str]:
    return [_node_name(s) for s in node.input]


def _lookup_op(node: Any) -> OpDef:
    try:
        return OPS.get(node.op)
    except KeyError:
        alias = OP_ALIASES.get(node.op)
        if alias is not None and OPS.has(alias):
            return OPS.get(alias)
        if node.op in TF1_CONTROL_FLOW:
            raise tf1_control_flow_error(node) from None
        raise ValueError(
            f"import_graph_def: node '{node.name}' uses op '{node.op}', which is not registered in Tensorflux; "
            "install a plugin that defines it, or rewrite the graph without it"
        ) from None


def _node_attrs(node: Any, op_def: OpDef) -> dict:
    attrs = {}
    for key in sorted(node.attr):
        av = node.attr[key]
        adef = op_def.attr_defs.get(key)
        what = f"attr '{key}' of node '{node.name}' ({node.op})"
        if adef is None:
            _drop_unknown_attr(node, key, av)
            continue
        attrs[key] = attr_from_proto(adef.kind, av, what)
    _check_value_dtype(node, op_def)
    return attrs


def _check_value_dtype(node: Any, op_def: OpDef) -> None:
    """A Const's ``dtype`` attr must name its ``value``'s dtype, as TensorFlow requires; else the op would
    promise one dtype and produce another."""
    kinds = {k: a.kind for k, a in op_def.attr_defs.items()}
    if kinds.get("dtype") != "type" or kinds.get("value") != "tensor" or "dtype" not in node.attr or "value" not in node.attr:
        return
    where = f"node '{node.name}' ({node.op})"
    declared = dtype_from_enum(node.attr["dtype"].type, f"attr 'dtype' of {where}")
    actual = dtype_from_enum(node.attr["value"].tensor.dtype, f"attr 'value' of {where}")
    if declared is not actual:
        raise InvalidArgumentError(f"import_graph_def: {where} has attr dtype {declared.name}, but its value is a "
                                   f"{actual.name} tensor; they must agree")


def _drop_unknown_attr(node: Any, key: str, av: Any) -> None:
    """Drop an attribute our op lacks; warn unless it is private, known harmless, or holds its zero value."""
    if key.startswith("_") or key in HARMLESS_TF_ATTRS:
        return
    which = av.WhichOneof("value")
    value = getattr(av, which) if which else None
    if which is None or (which != "list" and not value) or (which == "list" and av.list.ByteSize() == 0):
        return
    warnings.warn(
        f"import_graph_def: dropped attr '{key}' of node '{node.name}' (op '{node.op}'): Tensorflux's '{node.op}' "
        "has no such attribute, so the imported op ignores it",
        GraphImportWarning, stacklevel=4,
    )


def _group_inputs(node: Any, op_def: OpDef, data: list) -> list:
    specs = op_def.input_specs
    variadic = [i for i, s in enumerate(specs) if s.variadic]
    if not variadic:
        if len(data) != len(specs):
            raise ValueError(f"import_graph_def: node '{node.name}' ({node.op}) has {len(data)} data inputs, but op "
                             f"'{op_def.name}' takes {len(specs)} ({', '.join(s.name for s in specs)})")
        return list(data)
    v = variadic[0]
    count = len(data) - (len(specs) - 1)
    if count < 1:
        raise ValueError(f"import_graph_def: node '{node.name}' ({node.op}) has {len(data)} data inputs, too few "
                         f"for op '{op_def.name}'")
    return list(data[:v]) + [list(data[v:v + count])] + list(data[v + count:])


def _device_of(node: Any) -> str:
    if not node.device:
        return ""
    try:
        return canonical_device(node.device)
    except ValueError:
        warnings.warn(f"import_graph_def: node '{node.name}' has device '{node.device}', which Tensorflux cannot "
                      "parse; it is imported without a device", GraphImportWarning, stacklevel=4)
        return ""


def _versions() -> versions_pb2.VersionDef:
    return versions_pb2.VersionDef(producer=GRAPH_DEF_PRODUCER)


register_graph_def_writer("graph_to_graph_def", graph_to_graph_def)
register_graph_def_writer("versions", _versions)
