"""TensorFlow's functional control flow from a GraphDef: ``If``/``StatelessIf`` and ``While``/``StatelessWhile``
nodes become our ``If`` and ``While`` ops, each FunctionDef they call a traced function (``function_graph.Branch``)
registered with the importing graph. A ``PartitionedCall`` (a ``tf.function`` called in a graph) becomes an ``If``
whose predicate is always true; one marked ``_tensorflux_op`` (``composite_export.py``) becomes our ``Scan`` or
``WhileGrad`` again.

A FunctionDef's body is imported like a GraphDef (by the importer ``graph_def.py`` hands in): its arguments become
placeholders, and its ``"node:output_arg:index"`` inputs are rewritten to ``"node:output"`` from our OpDefs' output
arguments, which carry TF's names. Each function is imported once per GraphDef however many nodes call it, so a
library that calls one function from many places stays linear; a function that calls itself, a missing function,
and nesting deeper than :data:`MAX_DEPTH` are refused, naming the function.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ...proto import function_pb2, graph_pb2
from .. import dtypes as _dtypes
from ..control_flow import _common_shape
from ..function_graph import Branch, FuncGraph, _host_device_name, tie_effects
from ..graph import Graph, get_default_graph
from ..op_builder import apply_op
from ..ops import control_flow_ops  # noqa: F401 - defines If and While
from ..ops.base_array_ops import identity
from ..registry import OPS, OpDef
from ..shapes import TensorShape
from .attr_value import attr_from_proto
from .tensor_proto import dtype_from_enum, shape_from_proto

# Functions calling functions deeper than this are refused: each level is a nested import (and Python frames).
MAX_DEPTH = 32
# TF's v1 control flow: a GraphDef with these needs re-exporting with control flow v2.
TF1_CONTROL_FLOW = frozenset({"Switch", "Merge", "Enter", "Exit", "NextIteration", "LoopCond", "RefSwitch", "RefMerge",
                              "RefEnter", "RefExit", "RefNextIteration"})
CALL_OPS = frozenset({"If", "StatelessIf", "While", "StatelessWhile", "PartitionedCall", "StatefulPartitionedCall"})
# The private attr on a PartitionedCall that stands for one of our ops (composite_export.py).
MARKER = "_tensorflux_op"

Importer = Callable[[Graph, graph_pb2.GraphDef, "LibraryReader"], Any]


class LibraryReader:
    """The functions of one GraphDef's library, imported on first call as traced functions of ``graph``.

    ``import_body(graph, graph_def, reader)`` imports a GraphDef into ``graph`` and returns an object whose
    ``lookup("node:i")`` gives a tensor (graph_def's importer).

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, [], name="x")
        ...     _ = tf.cond(x > 0.0, lambda: x, lambda: -x, name="abs")
        >>> with tf.Graph().as_default():
        ...     (y,) = tf.import_graph_def(g.as_graph_def(), name="", return_elements=["abs/If:0"])
        ...     y.op.type, float(tf.Session().run(y, {"x:0": -3.0}))
        ('If', 3.0)
    """

    def __init__(self, library: function_pb2.FunctionDefLibrary, graph: Graph, import_body: Importer,
                 aliases: dict | None = None) -> None:
        self.graph = graph
        self.import_body = import_body
        self.aliases = aliases or {}
        self.functions: dict[str, function_pb2.FunctionDef] = {}
        for fdef in library.function:
            name = fdef.signature.name
            if not name or name in self.functions:
                problem = f"two functions named '{name}'" if name else "a function without a name"
                raise ValueError(f"import_graph_def: the GraphDef's library has {problem}")
            self.functions[name] = fdef
        self._tokens: dict[str, tuple[str, Branch]] = {}
        self._active: list[str] = []
        self._trimmed: dict[tuple, str] = {}

    # -- nodes that call functions -----------------------------------------------------------------------------
    def translate(self, node: Any, data: list) -> tuple[str, list, dict]:
        """Our op type, grouped inputs and attributes for the TF call node ``node`` with inputs ``data``."""
        where = f"node '{node.name}' ({node.op})"
        if node.op in ("If", "StatelessIf"):
            return self._if(node, data, where)
        if node.op in ("While", "StatelessWhile"):
            return self._while(node, data, where)
        if MARKER in node.attr and node.attr[MARKER].WhichOneof("value") == "func":
            return self._ours(node, data, where)
        return self._call(node, data, where)

    def _call(self, node: Any, data: list, where: str) -> tuple[str, list, dict]:
        # A plain call (a tf.function called in a graph) is an If whose predicate is always true: one op that runs
        # the function, with the If's gradient.
        token, branch = self.branch(_func(node, "f", where), where)
        types = [t.dtype.base_dtype for t in data]
        tout = [t.dtype.base_dtype for t in branch.outputs]
        _check_signature(branch, types, _type_list(node, "Tout", where) if "Tout" in node.attr else tout, where)
        with get_default_graph().control_dependencies(None):  # the caller's graph: a function's, or the root
            (true,) = apply_op("Const", value=np.array(True), dtype=_dtypes.bool_, name=f"{node.name}/_always")
        return "If", [true, data], dict(Tin=types, Tout=tout, then_branch=token, else_branch=token,
                                        output_shapes=[t.shape for t in branch.outputs])

    def _ours(self, node: Any, data: list, where: str) -> tuple[str, list, dict]:
        # A Scan or WhileGrad written by composite_export.py: its own attributes are in the marker.
        marker = node.attr[MARKER].func
        needs = _MARKED.get(marker.name)
        if needs is None or not needs <= set(marker.attr):
            raise ValueError(f"import_graph_def: {where} has attr '{MARKER}' naming '{marker.name}' without the "
                             "attributes that op needs; it was not written by Tensorflux")
        attrs: dict = {}
        for key in sorted(needs | {"output_shapes", "reverse"} & set(marker.attr)):
            av = marker.attr[key]
            if key in _MARKER_KINDS:
                attrs[key] = attr_from_proto(_MARKER_KINDS[key], av, f"attr '{MARKER}.{key}' of {where}")
            else:
                attrs[key] = self.branch(_func(marker, key, where), where)
        types = [t.dtype.base_dtype for t in data]
        if marker.name == "Scan":
            return self._scan(data, types, attrs, where)
        return self._while_grad(data, types, attrs, where)

    def _scan(self, data: list, types: list, attrs: dict, where: str) -> tuple[str, list, dict]:
        carry, sliced, tout = attrs["num_carry"], attrs["num_sliced"], attrs["Tout"]
        if not (0 <= carry and 1 <= sliced and carry + sliced <= len(data) and carry <= len(tout)):
            raise ValueError(f"import_graph_def: {where}: Scan with num_carry={carry} and num_sliced={sliced} over "
                             f"{len(data)} inputs and {len(tout)} outputs")
        token, body = attrs["body"]
        _check_signature(body, types, tout, f"{where} Scan body")
        shapes = attrs.get("output_shapes", [])
        attrs.update(body=token, T=types, output_shapes=shapes if len(shapes) == len(tout) else
                     [TensorShape(None)] * len(tout))
        return "Scan", [data], attrs

    def _while_grad(self, data: list, types: list, attrs: dict, where: str) -> tuple[str, list, dict]:
        n, g, count = attrs["num_loop_vars"], attrs["num_grad_loop_vars"], len(attrs["T"])
        tgrad = attrs["Tgrad"]
        cond, body, grad = attrs["cond"][1], attrs["body"][1], attrs["body_grad"][1]
        if not (0 <= g <= n <= count <= len(data) and g <= len(tgrad) and len(body.outputs) >= n):
            raise ValueError(f"import_graph_def: {where}: WhileGrad with num_loop_vars={n} and "
                             f"num_grad_loop_vars={g} over {count} loop inputs of {len(data)}")
        _check_signature(cond, types[:count], None, f"{where} WhileGrad cond")
        _check_signature(body, types[:count], None, f"{where} WhileGrad body")
        _check_signature(grad, types[:count] + types[count:count + g], tgrad, f"{where} WhileGrad body_grad")
        # The body in the library returns the captured tensors too (TF's loop form); WhileGrad's returns the loop
        # variables alone.
        key = (attrs["body"][0], n)
        if key not in self._trimmed:
            self._trimmed[key] = Branch(body.graph, body.inputs, body.outputs[:n]).register()
        shapes = attrs.get("output_shapes", [])
        attrs.update(cond=attrs["cond"][0], body=self._trimmed[key], body_grad=attrs["body_grad"][0],
                     T=types[:count], Tdy=types[count:],
                     output_shapes=shapes if len(shapes) == len(tgrad) else [TensorShape(None)] * len(tgrad))
        return "WhileGrad", [data[:count], data[count:]], attrs

    def _if(self, node: Any, data: list, where: str) -> tuple[str, list, dict]:
        if not data:
            raise ValueError(f"import_graph_def: {where} has no condition input")
        inputs = data[1:]
        then_tok, then_b = self.branch(_func(node, "then_branch", where), where)
        else_tok, else_b = self.branch(_func(node, "else_branch", where), where)
        tin = [t.dtype.base_dtype for t in inputs]
        tout = _type_list(node, "Tout", where)
        for attr, b in (("then_branch", then_b), ("else_branch", else_b)):
            _check_signature(b, tin, tout, f"{where} attr '{attr}'")
        shapes = _shape_list(node, len(tout), where) or [_common_shape(a.shape, b.shape)
                                                         for a, b in zip(then_b.outputs, else_b.outputs)]
        return "If", [data[0], inputs], dict(Tin=tin, Tout=tout, then_branch=then_tok, else_branch=else_tok,
                                             output_shapes=shapes)

    def _while(self, node: Any, data: list, where: str) -> tuple[str, list, dict]:
        cond_tok, cond_b = self.branch(_func(node, "cond", where), where)
        body_tok, body_b = self.branch(_func(node, "body", where), where)
        types = [t.dtype.base_dtype for t in data]
        _check_signature(body_b, types, types, f"{where} attr 'body'")
        _check_signature(cond_b, types, None, f"{where} attr 'cond'")
        if len(cond_b.outputs) != 1:
            raise ValueError(f"import_graph_def: {where}: its cond function returns {len(cond_b.outputs)} values; a "
                             "loop condition returns one")
        shapes = _shape_list(node, len(types), where) or [TensorShape(None)] * len(types)
        return "While", [data], dict(T=types, cond=cond_tok, body=body_tok, num_loop_vars=len(data),
                                     output_shapes=shapes)

    # -- functions ---------------------------------------------------------------------------------------------
    def branch(self, name: str, where: str) -> tuple[str, Branch]:
        """The token and traced function of FunctionDef ``name``, imported on first use."""
        found = self._tokens.get(name)
        if found is not None:
            return found
        if name in self._active:
            chain = " -> ".join(self._active[self._active.index(name):] + [name])
            raise ValueError(f"import_graph_def: function '{name}' calls itself ({chain}); recursive functions are "
                             "not supported")
        if len(self._active) >= MAX_DEPTH:
            raise ValueError(f"import_graph_def: function '{name}' ({where}) is nested {len(self._active) + 1} calls "
                             f"deep; at most {MAX_DEPTH} levels of functions calling functions are supported")
        fdef = self.functions.get(name)
        if fdef is None:
            known = ", ".join(sorted(self.functions)[:10]) or "none"
            raise ValueError(f"import_graph_def: {where} calls function '{name}', which the GraphDef's library does "
                             f"not define (it defines: {known})")
        self._active.append(name)
        try:
            branch = self._import_function(fdef)
        finally:
            self._active.pop()
        self._tokens[name] = (branch.register(), branch)
        return self._tokens[name]

    def _import_function(self, fdef: function_pb2.FunctionDef) -> Branch:
        name = fdef.signature.name
        where = f"function '{name}'"
        body, args = body_graph_def(fdef, self.aliases)
        by_name = {node.name: node for node in fdef.node_def}
        graph = FuncGraph(self.graph, f"import_graph_def: {where}")
        with graph.as_default(), graph.device(_host_device_name()):
            try:
                importer = self.import_body(graph, body, self)
            except (TypeError, ValueError) as exc:
                text = str(exc).removeprefix("import_graph_def: ")
                raise type(exc)(f"import_graph_def: in {where}: {text}") from None
            inputs = [importer.lookup(f"{a}:0") for a in args]
            outputs = []
            for out in fdef.signature.output_arg:
                if out.name not in fdef.ret:
                    raise ValueError(f"import_graph_def: {where} has no 'ret' entry for its output '{out.name}'")
                ret = _tensor_name(fdef.ret[out.name], by_name, args, f"{where} ret '{out.name}'", self.aliases)
                t = importer.lookup(ret)
                # A plan cannot fetch what it is fed: an argument returned as it is goes through an identity.
                outputs.append(identity(t) if t.op.type == "Placeholder" else t)
        fed = {t.op for t in inputs}
        for op in graph.get_operations():
            if op.type == "Placeholder" and op not in fed:
                raise ValueError(f"import_graph_def: {where} has a Placeholder node '{op.name}'; a function's inputs "
                                 "are its arguments")
        # Stateful nodes (TF's If and While functions) run on the session's state; each runs whenever the function does.
        with graph.device(_host_device_name()):
            outputs = tie_effects(graph, outputs)
        branch = Branch(graph, inputs, outputs)
        for t, out in zip(outputs, fdef.signature.output_arg):
            want = dtype_from_enum(out.type, f"{where} output '{out.name}'") if out.type else None
            if want is not None and t.dtype.base_dtype is not want:
                raise ValueError(f"import_graph_def: {where} declares output '{out.name}' as {want.name}, but it "
                                 f"returns a {t.dtype.base_dtype.name} tensor")
        return branch


def body_graph_def(fdef: function_pb2.FunctionDef, aliases: dict | None = None) -> tuple[graph_pb2.GraphDef, list[str]]:
    """A FunctionDef's body as a GraphDef: one Placeholder per argument, inputs in GraphDef form.

    ``aliases`` maps TF op types to ours where they differ (``graph_def.OP_ALIASES``).

    Example:
        >>> from tensorflux.proto import function_pb2
        >>> f = function_pb2.FunctionDef()
        >>> _ = f.signature.input_arg.add(name="x", type=1)
        >>> n = f.node_def.add(name="neg", op="Neg", input=["x"])
        >>> n.attr["T"].type = 1
        >>> gdef, args = body_graph_def(f)
        >>> [(node.name, node.op) for node in gdef.node], args
        ([('x', 'Placeholder'), ('neg', 'Neg')], ['x'])
    """
    where = f"function '{fdef.signature.name}'"
    out = graph_pb2.GraphDef()
    args = []
    for i, arg in enumerate(fdef.signature.input_arg):
        if arg.type_attr or arg.number_attr or arg.type_list_attr or not arg.type:
            raise ValueError(f"import_graph_def: {where} argument '{arg.name}' has a polymorphic type; only "
                             "functions with fixed argument types (as tf.function traces them) are supported")
        if not arg.name or arg.name in args:
            problem = f"two arguments named '{arg.name}'" if arg.name else "an argument without a name"
            raise ValueError(f"import_graph_def: {where} has {problem}")
        node = out.node.add(name=arg.name, op="Placeholder")
        node.attr["dtype"].type = arg.type
        shapes = fdef.arg_attr[i].attr["_output_shapes"].list.shape if i in fdef.arg_attr else []
        if len(shapes) == 1:
            node.attr["shape"].shape.CopyFrom(shapes[0])
        args.append(arg.name)
    names = set(args)
    for node in fdef.node_def:
        if node.name in names:
            raise ValueError(f"import_graph_def: {where} has two nodes or arguments named '{node.name}'")
        names.add(node.name)
    by_name = {node.name: node for node in fdef.node_def}
    for node in fdef.node_def:
        copy = out.node.add()
        copy.CopyFrom(node)
        for key in node.attr:
            if node.attr[key].WhichOneof("value") == "placeholder":
                raise ValueError(f"import_graph_def: {where} node '{node.name}' attr '{key}' is a placeholder "
                                 f"('${node.attr[key].placeholder}'); only functions with fixed attributes are "
                                 "supported")
        del copy.input[:]
        for spec in node.input:
            if spec.startswith("^"):
                copy.input.append(spec)
            else:
                copy.input.append(_tensor_name(spec, by_name, args, f"{where} node '{node.name}'", aliases or {}))
    return out, args


def _tensor_name(spec: str, nodes: Any, args: list, where: str, aliases: dict | None = None) -> str:
    """A FunctionDef tensor reference (``arg``, ``node:output_arg:index``) as a GraphDef one (``node:i``)."""
    parts = spec.split(":")
    if len(parts) == 1:
        if spec not in args:
            raise ValueError(f"import_graph_def: {where} reads '{spec}', which is not an argument of the function "
                             "(a node's output is named 'node:output_arg:index')")
        return f"{spec}:0"
    name, arg = parts[0], parts[1]
    index = parts[2] if len(parts) == 3 else "0"
    if len(parts) > 3 or not index.isdigit():
        raise ValueError(f"import_graph_def: {where} reads '{spec}', which is not of the form node:output_arg:index")
    node = nodes.get(name)
    if node is None:
        raise ValueError(f"import_graph_def: {where} reads '{spec}', but the function has no node '{name}'")
    return f"{name}:{_output_offset(node, arg, where, spec, aliases or {}) + int(index)}"


def _output_offset(node: Any, arg: str, where: str, spec: str, aliases: dict) -> int:
    """Where output argument ``arg`` of ``node``'s op starts among its outputs."""
    if node.op in CALL_OPS:
        return 0  # one list of outputs
    op_def = _op_def(node.op, aliases)
    if op_def is None:
        return 0  # an unknown op: the import names it when it gets there
    specs = op_def.output_specs
    names = [s.name for s in specs]
    if arg not in names:
        if len(specs) == 1:
            return 0  # TF and we name this op's one output differently (e.g. Assign's output_ref)
        raise ValueError(f"import_graph_def: {where} reads '{spec}', but op '{node.op}' has no output argument "
                         f"'{arg}' (it has {', '.join(names)})")
    start = 0
    for s in specs[:names.index(arg)]:
        start += _count(node, op_def, s) if s.variadic else 1
    return start


def _count(node: Any, op_def: OpDef, spec: Any) -> int:
    # How many outputs a variadic output argument has: a list(type) attr's length, or the op's count attr.
    if spec.type_spec in node.attr and node.attr[spec.type_spec].WhichOneof("value") == "list":
        return len(node.attr[spec.type_spec].list.type)
    for key in ("num", "num_split", "N"):
        if key in op_def.attr_defs and key in node.attr:
            return int(node.attr[key].i)
    raise ValueError(f"import_graph_def: cannot tell how many outputs node '{node.name}' ({node.op}) has")


def _op_def(op_type: str, aliases: dict) -> OpDef | None:
    for name in (op_type, aliases.get(op_type)):
        if name and OPS.has(name):
            return OPS.get(name)
    return None


def _func(node: Any, key: str, where: str) -> str:
    if key not in node.attr or node.attr[key].WhichOneof("value") != "func":
        raise ValueError(f"import_graph_def: {where} has no function attr '{key}'")
    func = node.attr[key].func
    if func.attr:
        raise ValueError(f"import_graph_def: {where} attr '{key}' instantiates function '{func.name}' with "
                         "attributes; only functions with fixed types are supported")
    return func.name


# What the marker of each of our ops must hold; the function-valued ones are FunctionDefs of the library.
_MARKED = {"Scan": {"body", "num_carry", "num_sliced", "T", "Tout"},
           "WhileGrad": {"cond", "body", "body_grad", "num_loop_vars", "num_grad_loop_vars", "T", "Tdy", "Tgrad"}}
_MARKER_KINDS = {"num_carry": "int", "num_sliced": "int", "reverse": "bool", "num_loop_vars": "int",
                 "num_grad_loop_vars": "int", "T": "list(type)", "Tout": "list(type)", "Tdy": "list(type)",
                 "Tgrad": "list(type)", "output_shapes": "list(shape)"}


def _type_list(node: Any, key: str, where: str) -> list:
    if key not in node.attr:
        raise ValueError(f"import_graph_def: {where} has no attr '{key}'")
    return attr_from_proto("list(type)", node.attr[key], f"attr '{key}' of {where}")


def _shape_list(node: Any, count: int, where: str) -> list | None:
    if "output_shapes" not in node.attr:
        return None
    shapes = node.attr["output_shapes"].list.shape
    if len(shapes) != count:
        return None  # TF leaves the list empty where it does not know them
    return [shape_from_proto(s, f"attr 'output_shapes' of {where}") for s in shapes]


def _check_signature(branch: Branch, tin: list, tout: list | None, where: str) -> None:
    got_in = [t.dtype.base_dtype for t in branch.inputs]
    got_out = [t.dtype.base_dtype for t in branch.outputs]
    if got_in != tin or (tout is not None and got_out != tout):
        def shown(types: list) -> str:
            return "[" + ", ".join(t.name for t in types) + "]"

        raise ValueError(f"import_graph_def: {where}: the function takes {shown(got_in)} and returns "
                         f"{shown(got_out)}, but the node passes {shown(tin)}"
                         + (f" and expects {shown(tout)}" if tout is not None else ""))


def tf1_control_flow_error(node: Any) -> ValueError:
    """The error for a node of TF 1's dataflow control flow (Switch, Merge, Enter...)."""
    return ValueError(
        f"import_graph_def: node '{node.name}' is a {node.op}, TensorFlow 1's dataflow control flow, which Tensorflux "
        "does not import; re-export the graph from TensorFlow with control flow v2 (the default of TF 2's "
        "tf.compat.v1 graph mode: do not call tf.compat.v1.disable_control_flow_v2(), or call "
        "tf.compat.v1.enable_control_flow_v2() before building it), which writes tf.cond and tf.while_loop as "
        "If and While nodes")
