"""Functions traced into graphs of their own, for the functional control-flow ops (``If``, ``While``).

A :class:`FuncGraph` records the tensors of the enclosing graph its function uses: each becomes a placeholder
of the function's graph (``op_builder.apply_op`` asks the graph to ``capture`` it) and an explicit input of the op
that calls the function. A :class:`Branch` is one traced function with its inputs in the calling op's order; it
runs as a compiled plan on a host device, as ``Dataset.map``'s functions do (``data/function.py``).

Why this design: tracing once keeps the user's graph free of the branches' ops and gives the op its output types
and shapes at build time; capturing explicitly makes the op's data dependencies visible to the executor, so the
outer tensors are computed before the op runs, and the gradient can flow back to them.

Stateful functions: a function runs on its session's own state, so a variable used inside is the session's (a ref
variable reaches the function as a ``VariableV2`` of the same name, a resource variable as its captured handle),
and each random op inside keeps its generator in the session, drawing anew on every run.
"""

from __future__ import annotations

from typing import Any, Callable

from .data import tokens
from .data.function import FunctionRunner, _host_device_name
from .errors import NotFoundError
from .graph import Graph, Tensor, get_default_graph
from .op_builder import apply_op, convert_to_tensor
from .ops.base_array_ops import identity, placeholder


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
        self._aliases: dict[str, Tensor] = {}  # outer ref variables' names -> their VariableV2 here
        # Random ops inside follow the graph seed as outside (TF 1.x's rule): ids go on from the enclosing graph's,
        # so each function's ops get seeds of their own, the same whenever the graph is rebuilt.
        self.seed = outer.seed
        self._id_counter = outer._id_counter
        # Ops traced inside a branch or loop body honour the gradient overrides in force where it is built, as TF's.
        self._gradient_override_map = dict(getattr(outer, "_gradient_override_map", {}))

    def capture(self, tensor: Tensor) -> Tensor:
        """The placeholder standing for the outer ``tensor`` here (made on first use); a tensor of a graph
        enclosing the outer one is captured by the outer one first."""
        if tensor.graph is self:
            return tensor
        if self._current_control_inputs() and _is_snapshot(tensor):
            # A variable read under the function's control dependencies (after an assign inside) must see the
            # value they leave, so it reads the variable here; elsewhere the read outside is captured, by value,
            # which keeps gradients to the variable flowing.
            with self.as_default(), self.device(_host_device_name()):
                return identity(self._variable_alias(tensor.op.inputs[0]))
        if tensor.graph is not self.outer:
            if not isinstance(self.outer, FuncGraph):
                raise ValueError(f"{self.what}: tensor '{tensor.name}' is from a graph that does not enclose it")
            tensor = self.outer.capture(tensor)
        if getattr(tensor, "_is_ref", False) and tensor.op.type == "VariableV2":
            return self._variable_alias(tensor)
        inner = self.captures.get(tensor)
        if inner is None:
            with self.as_default(), self.control_dependencies(None), self.device(_host_device_name()):
                inner = placeholder(tensor.dtype.base_dtype, tensor.shape, name="captured")
            self.captures[tensor] = inner
        return inner

    def _variable_alias(self, ref: Tensor) -> Tensor:
        # A ref variable is not passed in by value: the function gets a VariableV2 of the same name, and the
        # session keeps a variable's slot by its op's name, so reads and assigns inside reach the outer state.
        alias = self._aliases.get(ref.op.name)
        if alias is None:
            with self.as_default(), self.name_scope(None), self.control_dependencies(None), \
                    self.device(_host_device_name()):
                alias = apply_op("VariableV2", shape=ref.op.attrs["shape"], dtype=ref.op.attrs["dtype"],
                                 name=ref.op.name)[0]
            if alias.op.name != ref.op.name:
                raise ValueError(f"{self.what}: uses variable '{ref.op.name}' of the enclosing graph, but the "
                                 f"function already has an op of that name; rename the op made inside")
            self._aliases[ref.op.name] = alias
        return alias


class Branch:
    """A traced function: its graph, its input placeholders (the op's inputs, in order) and output tensors.

    ``structure`` nests the outputs as the function returned them.
    """

    def __init__(self, graph: FuncGraph, inputs: list, outputs: list, structure: Any = None) -> None:
        self.graph = graph
        self.inputs = inputs
        self.outputs = outputs
        self.structure = structure
        # Tensors of a stateful function that its op also outputs from index ``saved_at`` on, so that a gradient
        # reuses the forward run's values (a random mask, a value read before an assign) instead of rerunning them.
        self.saved: list = []
        self.saved_at = len(outputs)

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

    def stateful_ops(self) -> list:
        """The function's stateful ops (variable updates and reads, random draws), in creation order."""
        return [op for op in self.graph.get_operations() if op.op_def.stateful]

    def effects(self) -> list:
        """The stateful ops that do more than read a variable: running the function twice would repeat them."""
        return [op for op in self.stateful_ops() if op.type not in _READS]

    def needed_ops(self) -> list:
        """The ops the outputs need (through data and control inputs), in creation order, less the inputs' own."""
        fed = {t.op for t in self.inputs}
        seen: set = set()
        stack = [t.op for t in self.outputs]
        while stack:
            op = stack.pop()
            if op in seen or op in fed:
                continue
            seen.add(op)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
        return sorted(seen, key=lambda o: o._id)


def _is_snapshot(tensor: Tensor) -> bool:
    # A ref variable's ``read`` snapshot (``variables.Variable``), which its conversion to a tensor gives.
    op = tensor.op
    return (op.type == "Identity" and op.inputs[0].op.type == "VariableV2" and getattr(op.inputs[0], "_is_ref", False)
            and op.name == op.inputs[0].op.name + "/read")


# Stateful only because they read a variable's current value: rerunning them changes nothing.
_READS = frozenset({"VariableV2", "ReadVariableOp", "VarIsInitializedOp", "IsVariableInitialized", "VariableShape",
                    "ResourceGather"})


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
        outputs = tie_effects(graph, outputs)
    graph.outer._id_counter = max(graph.outer._id_counter, graph._id_counter)
    return Branch(graph, inputs, outputs, pack_as(result, outputs))


def tie_effects(graph: Graph, outputs: list) -> list:
    """``outputs`` made to wait for every side effect in ``graph`` (through identities), when it has any: as in
    TF's functions, each side effect happens whenever the function runs, even one no output needs.

    Example:
        >>> import tensorflux as tf
        >>> v = tf.Variable(0.0)
        >>> branch = trace(lambda: (tf.assign_add(v, 1.0), tf.constant(2.0))[1], [], "cond true_fn")
        >>> [c.type for c in branch.outputs[0].op.control_inputs]
        ['AssignAdd']
    """
    effects = [op for op in graph.get_operations() if op.op_def.stateful and op.type not in _READS]
    if not effects:
        return outputs
    with graph.as_default(), graph.control_dependencies(effects):
        return [identity(t) for t in outputs]


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
        # The session's own state: variables used inside are the session's, and each random op inside keeps its
        # generator there, so every run (and iteration) draws anew and seeded ops repeat across sessions.
        found = FunctionRunner(lookup(token, f"op '{ctx.op_name}' ({ctx.op_type})"), ctx.state)
        ctx.state.resources[key] = found
    return found
