"""Functions traced into graphs of their own, for the functional control-flow ops (``If``, ``While``).

A :class:`FuncGraph` records the tensors of the enclosing graph its function uses: each becomes a placeholder
of the function's graph (``op_builder.apply_op`` asks the graph to ``capture`` it) and an explicit input of the op
that calls the function. A :class:`Branch` is one traced function with its inputs in the calling op's order; it
runs as a compiled plan on a host device, as ``Dataset.map``'s functions do (``data/function.py``).

Why this design: tracing once keeps the user's graph free of the branches' ops and gives the op its output types
and shapes at build time; capturing explicitly makes the op's data dependencies visible to the executor, so the
outer tensors are computed before the op runs, and the gradient can flow back to them.
"""

from __future__ import annotations

from typing import Any, Callable

from .data import tokens
from .data.function import FunctionRunner, _host_device_name
from .errors import NotFoundError
from .graph import Graph, Tensor, get_default_graph
from .op_builder import convert_to_tensor
from .ops.base_array_ops import identity, placeholder
from .session_state import SessionState


class FuncGraph(Graph):
    """The graph of one traced function; ``captures`` maps each outer tensor it uses to its placeholder.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.constant(2.0)
        >>> g = FuncGraph(tf.get_default_graph(), "cond")
        >>> with g.as_default():
        ...     y = x * 3.0
        >>> [t.name for t in g.captures], y.graph is g
        (['Const:0'], True)
    """

    def __init__(self, outer: Graph, what: str) -> None:
        super().__init__()
        self.outer = outer
        self.what = what
        self.captures: dict[Tensor, Tensor] = {}
        # Ops traced inside a branch or loop body honour the gradient overrides in force where it is built, as TF's.
        self._gradient_override_map = dict(getattr(outer, "_gradient_override_map", {}))

    def capture(self, tensor: Tensor) -> Tensor:
        """The placeholder standing for the outer ``tensor`` here (made on first use); a tensor of a graph
        enclosing the outer one is captured by the outer one first."""
        if tensor.graph is self:
            return tensor
        if tensor.graph is not self.outer:
            if not isinstance(self.outer, FuncGraph):
                raise ValueError(f"{self.what}: tensor '{tensor.name}' is from a graph that does not enclose it")
            tensor = self.outer.capture(tensor)
        inner = self.captures.get(tensor)
        if inner is None:
            with self.as_default(), self.control_dependencies(None), self.device(_host_device_name()):
                inner = placeholder(tensor.dtype.base_dtype, tensor.shape, name="captured")
            self.captures[tensor] = inner
        return inner


class Branch:
    """A traced function: its graph, its input placeholders (the op's inputs, in order) and output tensors.

    ``structure`` nests the outputs as the function returned them.
    """

    def __init__(self, graph: FuncGraph, inputs: list, outputs: list, structure: Any = None) -> None:
        self.graph = graph
        self.inputs = inputs
        self.outputs = outputs
        self.structure = structure

    def bind(self, external: list) -> None:
        """Append one input per tensor of ``external`` (the captures of every function of the op, in order): the
        function's own placeholder, or an unused one where it did not capture that tensor."""
        for t in external:
            if t in self.graph.captures:
                self.inputs.append(self.graph.captures[t])
                continue
            with self.graph.as_default(), self.graph.device(_host_device_name()):
                self.inputs.append(placeholder(t.dtype.base_dtype, t.shape, name="unused"))

    def register(self) -> str:
        """A token naming this branch for the op's kernel, kept as long as the outer graph lives."""
        return tokens.register(_root(self.graph), "function", self)

    def check_stateless(self) -> None:
        """Refuse stateful ops (variables' updates, random draws): their state would live in the function's own
        plan, apart from the session's."""
        for op in self.graph.get_operations():
            if op.op_def.stateful:
                raise ValueError(f"{self.graph.what}: op '{op.name}' ({op.type}) is stateful; stateful ops inside "
                                 "tf.cond and tf.while_loop functions are not supported yet (compute it outside "
                                 "and use its value inside)")


def _root(graph: Graph) -> Graph:
    while isinstance(graph, FuncGraph):
        graph = graph.outer
    return graph


def trace(fn: Callable, args: list, what: str) -> Branch:
    """Trace ``fn`` on placeholders of ``args`` (``(dtype, shape)`` pairs) in a new graph inside the default one.

    ``fn``'s result is flattened (nested tuples, lists and dicts); each output is a tensor of the new graph.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.constant([1.0, 2.0])
        >>> branch = trace(lambda: {"y": x + 1.0}, [], "cond true_fn")
        >>> [t.dtype.name for t in branch.outputs], list(branch.graph.captures) == [x]
        (['float32'], True)
    """
    from .data.structure import flatten, lists_to_tuples, pack_as

    graph = FuncGraph(get_default_graph(), what)
    with graph.as_default(), graph.device(_host_device_name()):
        inputs = [placeholder(dtype, shape, name=f"arg{i}") for i, (dtype, shape) in enumerate(args)]
        result = lists_to_tuples(fn(*inputs))
        outputs = []
        for value in flatten(result):
            if value is None or hasattr(value, "type") and hasattr(value, "outputs"):
                raise TypeError(f"{what}: returns {value!r}; tf.cond and tf.while_loop functions must return "
                                "tensors (ops and None are not supported yet)")
            t = convert_to_tensor(value)  # a tf.Variable converts to its read in the enclosing graph
            t = t if t.graph is graph else graph.capture(t)
            # A plan cannot fetch what it is fed: an input returned as it is goes through an identity.
            outputs.append(identity(t) if t.op.type == "Placeholder" else t)
    return Branch(graph, inputs, outputs, pack_as(result, outputs))


def lookup(token: str, where: str) -> Branch:
    """The branch registered under ``token``; NotFoundError naming ``where`` when this process has none."""
    try:
        return tokens.lookup(token, where)
    except NotFoundError:
        raise NotFoundError(f"{where}: no traced function '{token}' in this process; tf.cond and tf.while_loop "
                            "functions are Python objects of the process that built the graph") from None


def runner(token: str, ctx: Any) -> FunctionRunner:
    """The branch of ``token`` compiled once per session (kept in its resources), run on host arrays."""
    key = f"function:{token}"
    found = ctx.state.resources.get(key)
    if found is None:
        found = FunctionRunner(lookup(token, f"op '{ctx.op_name}' ({ctx.op_type})"),
                               SessionState(config=ctx.state.config))
        ctx.state.resources[key] = found
    return found
