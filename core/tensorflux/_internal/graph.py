"""The Graph, Operation and Tensor object model, with scopes and collections."""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any, Iterator

from . import dtypes as _dtypes
from .devices import canonical_device
from .shapes import TensorShape, as_shape


class GraphKeys:
    """Standard collection names, as in TF 1.x.

    Example:
        >>> import tensorflux as tf
        >>> tf.GraphKeys.TRAINABLE_VARIABLES
        'trainable_variables'
    """

    GLOBAL_VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    GLOBAL_STEP = "global_step"
    LOSSES = "losses"
    SUMMARIES = "summaries"
    TRAIN_OP = "train_op"
    UPDATE_OPS = "update_ops"
    REGULARIZATION_LOSSES = "regularization_losses"
    METRIC_VARIABLES = "metric_variables"
    ACTIVATIONS = "activations"
    TABLE_INITIALIZERS = "table_initializer"


class Tensor:
    """A symbolic handle to one output of an Operation, named ``"op_name:index"``.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     t = tf.constant([1.0, 2.0], name="c")
        >>> t.name, t.dtype, t.shape
        ('c:0', tf.float32, TensorShape([2]))
    """

    __array_priority__ = 100

    def __init__(self, op: "Operation", value_index: int, dtype: _dtypes.DType, shape: TensorShape) -> None:
        self.op = op
        self.value_index = value_index
        self.dtype = dtype
        self._shape = shape
        self._consumers: list[Operation] = []

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> "Graph":
        return self.op.graph

    @property
    def device(self) -> str:
        return self.op.device

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    def set_shape(self, shape: Any) -> None:
        """Refine the static shape; raises ValueError naming the tensor if incompatible."""
        shape = as_shape(shape)
        if not self._shape.is_compatible_with(shape):
            raise ValueError(f"Tensor '{self.name}' has shape {self._shape}, which is incompatible with {shape}")
        self._shape = self._shape.merge_with(shape)

    def consumers(self) -> list["Operation"]:
        return list(self._consumers)

    def eval(self, feed_dict: dict | None = None, session: Any = None) -> Any:
        """Evaluate in ``session`` or the default session: ``t.eval()`` is ``sess.run(t)``."""
        return (session or get_default_session_or_error()).run(self, feed_dict=feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self.dtype.name}>"

    # By identity, in C: a Python __hash__ cost every plan-cache lookup of Session.run a call.
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError(
            f"Using Tensor '{self.name}' as a Python bool is not allowed; build the condition with ops "
            "and run it in a Session"
        )

    def __iter__(self) -> Iterator:
        raise TypeError(f"Tensor '{self.name}' is not iterable; use tf.unstack to split it")

    def __len__(self) -> int:
        raise TypeError(f"len() is not defined on Tensor '{self.name}'; use tf.shape or tensor.shape")


class Operation:
    """A node in the graph: an op type, inputs, attributes and outputs.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     c = tf.add(1.0, 2.0, name="sum")
        >>> c.op.type, c.op.name, [t.name for t in c.op.inputs]
        ('AddV2', 'sum', ['sum/x:0', 'sum/y:0'])
    """

    def __init__(self, graph: "Graph", op_def: Any, name: str, inputs: list[Tensor], attrs: dict,
                 control_inputs: list["Operation"], device: str) -> None:
        self.graph = graph
        self.op_def = op_def
        self.type = op_def.name
        self.name = name
        self._inputs = tuple(inputs)
        self.attrs = attrs
        self.control_inputs = list(control_inputs)
        self.device = device
        self.outputs: list[Tensor] = []
        self._id = graph._next_id()
        self.colocate_with: Operation | None = None

    @property
    def inputs(self) -> tuple:
        return self._inputs

    def get_attr(self, name: str) -> Any:
        if name not in self.attrs:
            raise ValueError(f"Operation '{self.name}' ({self.type}) has no attr named '{name}'")
        return self.attrs[name]

    def values(self) -> tuple:
        return tuple(self.outputs)

    def run(self, feed_dict: dict | None = None, session: Any = None) -> None:
        """Run this op in ``session`` or the default session."""
        (session or get_default_session_or_error()).run(self, feed_dict=feed_dict)

    def _add_control_input(self, op: "Operation") -> None:
        if op not in self.control_inputs:
            self.control_inputs.append(op)

    def __repr__(self) -> str:
        return f"<tf.Operation '{self.name}' type={self.type}>"


_thread_state = threading.local()
_NAME_RE = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")


class Graph:
    """A dataflow graph: operations, name and device scopes, control dependencies and collections.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default(), tf.name_scope("layer"):
        ...     w = tf.constant(1.0, name="w")
        >>> w.name, g.get_tensor_by_name("layer/w:0") is w
        ('layer/w:0', True)
    """

    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self._op_list: list[Operation] = []
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._device_stack: list[str | None] = []
        self._control_stack: list[list[Operation] | None] = []
        self._collections: dict[str, list] = {}
        self._finalized = False
        self._lock = threading.RLock()
        self._id_counter = 0
        self.seed: int | None = None
        self.version = 0
        self._gradient_override_map: dict[str, str] = {}

    def _next_id(self) -> int:
        self._id_counter += 1
        return self._id_counter

    # -- default graph --------------------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self) -> Iterator["Graph"]:
        """Make this graph the default for ops created inside the ``with`` block."""
        stack = _graph_stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    # -- finalize -------------------------------------------------------------------------
    def finalize(self) -> None:
        """Make the graph read-only; adding an op afterwards raises RuntimeError."""
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    def _unsafe_unfinalize(self) -> None:
        self._finalized = False

    # -- names ----------------------------------------------------------------------------
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """Return ``name`` under the current name scope, made unique with a ``_N`` suffix."""
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        count = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = count + 1
        if count > 0:
            base = name
            while True:
                name = f"{base}_{count}"
                if name.lower() not in self._names_in_use:
                    break
                count += 1
            if mark_as_used:
                self._names_in_use[name.lower()] = 1
        return name

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Open a name scope; ops created inside get ``scope/`` prefixes. A name ending in '/' is reused as is."""
        old = self._name_stack
        if name is None or name == "":
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            if not _NAME_RE.match(name):
                raise ValueError(f"'{name}' is not a valid scope name")
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._name_stack = old

    # -- device and control scopes ----------------------------------------------------------
    @contextlib.contextmanager
    def device(self, device_name: str | None) -> Iterator[None]:
        """Place ops created inside on ``device_name`` ('/cpu:0', '/device:CPU:0', '/opencl:1', None)."""
        self._device_stack.append(None if device_name is None else canonical_device(device_name))
        try:
            yield
        finally:
            self._device_stack.pop()

    def _current_device(self) -> str:
        for spec in reversed(self._device_stack):
            return spec or ""
        return ""

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: list | None) -> Iterator[None]:
        """Ops created inside run after every op (or tensor's op) in ``control_inputs``; None clears."""
        if control_inputs is None:
            self._control_stack.append(None)
        else:
            ops = []
            for c in control_inputs:
                if isinstance(c, Tensor):
                    c = c.op
                elif hasattr(c, "op") and isinstance(c.op, Operation):
                    c = c.op
                if not isinstance(c, Operation):
                    raise TypeError(f"control_dependencies expects Operations or Tensors, got {c!r}")
                ops.append(c)
            self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    def _current_control_inputs(self) -> list[Operation]:
        out: list[Operation] = []
        for ops in reversed(self._control_stack):
            if ops is None:
                break
            out.extend(o for o in ops if o not in out)
        return out

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map: dict) -> Iterator[None]:
        """Ops of a mapped type created inside differentiate with the gradient registered under the new name.

        Each such op gets the ``_gradient_op_type`` attr (as TF stores it), which ``tf.gradients`` reads first.

        Example:
            >>> import tensorflux as tf
            >>> @tf.RegisterGradient("DocExampleDoubleGrad")
            ... def _double(op, grad):
            ...     return [2.0 * grad]
            >>> g = tf.Graph()
            >>> with g.as_default(), g.gradient_override_map({"Identity": "DocExampleDoubleGrad"}):
            ...     x = tf.constant(3.0)
            ...     y = tf.identity(x)
            >>> y.op.get_attr("_gradient_op_type")
            b'DocExampleDoubleGrad'
        """
        if not isinstance(op_type_map, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in op_type_map.items()):
            raise TypeError(f"gradient_override_map: op_type_map must be a dictionary mapping strings to strings, "
                            f"got {op_type_map!r}")
        saved = dict(self._gradient_override_map)
        self._gradient_override_map.update(op_type_map)
        try:
            yield
        finally:
            self._gradient_override_map = saved

    # -- ops --------------------------------------------------------------------------------
    def _add_op(self, op: Operation) -> None:
        with self._lock:
            if self._finalized:
                raise RuntimeError(f"Graph is finalized and cannot be modified (adding op '{op.name}')")
            self._ops[op.name] = op
            self._op_list.append(op)
            self.version += 1

    def as_graph_def(self, from_version: int | None = None, add_shapes: bool = False) -> Any:
        """This graph as a GraphDef protobuf, with TensorFlow's op and attribute names.

        ``add_shapes=True`` adds each node's output shapes as the ``_output_shapes`` attribute.

        Example:
            >>> import tensorflux as tf
            >>> g = tf.Graph()
            >>> with g.as_default():
            ...     _ = tf.constant(1.0, name="c")
            >>> [(n.name, n.op) for n in g.as_graph_def().node]
            [('c', 'Const')]
        """
        del from_version  # accepted for TF compatibility; every op is always serialized
        return _graph_def_writer("graph_to_graph_def")(self, add_shapes=add_shapes)

    @property
    def graph_def_versions(self) -> Any:
        """The VersionDef that :meth:`as_graph_def` writes."""
        return _graph_def_writer("versions")()

    def get_operations(self) -> list[Operation]:
        return list(self._op_list)

    def get_operation_by_name(self, name: str) -> Operation:
        """Look up an op by its full name; raises KeyError naming it if absent."""
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings, got {name!r}")
        if ":" in name:
            raise ValueError(f"Name '{name}' looks like a tensor name; use get_tensor_by_name")
        try:
            return self._ops[name]
        except KeyError:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        """Look up a tensor as ``"op_name:index"``; raises KeyError or ValueError naming it."""
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(f"The name '{name}' does not look like a tensor name ('op_name:index')")
        op_name, _, index = name.rpartition(":")
        if op_name not in self._ops:
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist; op '{op_name}' is not in the graph")
        op = self._ops[op_name]
        try:
            idx = int(index)
        except ValueError:
            raise ValueError(f"The name '{name}' does not look like a tensor name: output index '{index}' "
                             "is not an integer") from None
        if idx >= len(op.outputs):
            raise KeyError(
                f"The name '{name}' refers to a Tensor which does not exist; op '{op_name}' has {len(op.outputs)} outputs"
            )
        return op.outputs[idx]

    def as_graph_element(self, obj: Any) -> Any:
        if isinstance(obj, (Tensor, Operation)):
            if obj.graph is not self:
                raise ValueError(f"{obj!r} is not an element of this graph")
            return obj
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        if hasattr(obj, "_as_graph_element"):
            return obj._as_graph_element()
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation")

    # -- collections ------------------------------------------------------------------------
    def add_to_collection(self, name: str, value: Any) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names: Any, value: Any) -> None:
        for n in ([names] if isinstance(names, str) else set(names)):
            self.add_to_collection(n, value)

    def get_collection(self, name: str, scope: str | None = None) -> list:
        items = list(self._collections.get(name, []))
        if scope is None:
            return items
        pattern = re.compile(scope)
        return [i for i in items if hasattr(i, "name") and pattern.match(i.name)]

    def get_collection_ref(self, name: str) -> list:
        return self._collections.setdefault(name, [])

    def get_all_collection_keys(self) -> list[str]:
        return [k for k, v in self._collections.items() if v]

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)


# GraphDef writing lives in the serialization layer above this module, which registers it here on import.
_GRAPH_DEF_WRITERS: dict = {}


def register_graph_def_writer(name: str, fn: Any) -> None:
    """Install ``fn`` as the GraphDef writer ``name`` (``graph_to_graph_def`` or ``versions``).

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.graph import _GRAPH_DEF_WRITERS
        >>> sorted(_GRAPH_DEF_WRITERS)
        ['graph_to_graph_def', 'versions']
    """
    _GRAPH_DEF_WRITERS[name] = fn


def _graph_def_writer(name: str) -> Any:
    try:
        return _GRAPH_DEF_WRITERS[name]
    except KeyError:
        raise RuntimeError(f"No GraphDef writer '{name}' is registered; import tensorflux (its package root loads "
                           "the serialization layer) before writing GraphDefs") from None


def _graph_stack() -> list[Graph]:
    stack = getattr(_thread_state, "graphs", None)
    if stack is None:
        stack = _thread_state.graphs = []
    return stack


_default_graph = Graph()


def get_default_graph() -> Graph:
    """The graph new ops go to: the innermost ``as_default()`` graph, else the global one.

    Example:
        >>> import tensorflux as tf
        >>> isinstance(tf.get_default_graph(), tf.Graph)
        True
    """
    stack = _graph_stack()
    return stack[-1] if stack else _default_graph


def reset_default_graph() -> None:
    """Replace the global default graph with a new, empty one."""
    global _default_graph
    if _graph_stack():
        raise AssertionError("Do not use tf.reset_default_graph() inside a graph's as_default() block")
    _default_graph = Graph()


# -- the default session: beside the default graph, so tensors, ops and variables find it without
# importing the session module above them -----------------------------------------------------------
_interactive_sessions: list = []


def session_stack() -> list:
    """This thread's sessions entered with ``with`` / ``as_default()``, innermost last."""
    stack = getattr(_thread_state, "sessions", None)
    if stack is None:
        stack = _thread_state.sessions = []
    return stack


def interactive_sessions() -> list:
    """Open InteractiveSessions, newest last: the default when no session is entered on this thread."""
    return _interactive_sessions


def get_default_session() -> Any:
    """The innermost session entered with ``with`` (or an InteractiveSession), else None.

    Example:
        >>> import tensorflux as tf
        >>> tf.get_default_session() is None
        True
    """
    stack = session_stack()
    if stack:
        return stack[-1]
    return _interactive_sessions[-1] if _interactive_sessions else None


def get_default_session_or_error() -> Any:
    """The default session; ValueError explaining how to make one when there is none."""
    sess = get_default_session()
    if sess is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: no default session is registered. "
                         "Use `with sess.as_default()` or pass an explicit session")
    return sess


def name_scope(name: str | None, default_name: str | None = None, values: Any = None) -> Any:
    """Open a name scope on the default graph (``with tf.name_scope('hidden1'):``)."""
    return get_default_graph().name_scope(name if name is not None else default_name)


def device(device_name: str | None) -> Any:
    """Place ops created inside the block on ``device_name``, e.g. ``with tf.device('/cpu:0'):``."""
    return get_default_graph().device(device_name)


def control_dependencies(control_inputs: list | None) -> Any:
    """Ops created inside the block run after ``control_inputs``."""
    return get_default_graph().control_dependencies(control_inputs)


def add_to_collection(name: str, value: Any) -> None:
    """Add ``value`` to the default graph's collection ``name``."""
    get_default_graph().add_to_collection(name, value)


def get_collection(name: str, scope: str | None = None) -> list:
    """Items in the default graph's collection ``name``, optionally filtered by a name regex."""
    return get_default_graph().get_collection(name, scope)


def get_collection_ref(name: str) -> list:
    """The live list behind collection ``name`` of the default graph."""
    return get_default_graph().get_collection_ref(name)
