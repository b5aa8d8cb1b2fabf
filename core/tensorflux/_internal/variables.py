"""Variables: named, mutable, per-session state, initialized by an assign op."""

from __future__ import annotations

from typing import Any

from . import dtypes as _dtypes
from .graph import GraphKeys, Operation, Tensor, get_default_graph, get_default_session_or_error
from .op_builder import apply_op, convert_to_tensor
from .ops.array_ops import identity
from .ops.state_ops import group
from .shapes import TensorShape


class Variable:
    """A TF-1.x variable: a VariableV2 op, an ``initializer`` (Assign) and a ``read`` snapshot.

    Using a Variable where a tensor is expected reads its current value.

    Example:
        >>> import tensorflux as tf
        >>> w = tf.Variable([1.0, 2.0], name="w")
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     sess.run(w.assign_add([1.0, 1.0]))
        array([2., 3.], dtype=float32)
    """

    def __init__(self, initial_value: Any = None, trainable: bool = True, collections: list | None = None,
                 validate_shape: bool = True, name: str | None = None, dtype: Any = None, expected_shape: Any = None,
                 **_ignored: Any) -> None:
        if initial_value is None:
            raise ValueError("Variable needs an initial_value")
        graph = get_default_graph()
        with graph.name_scope(name or "Variable") as scope:
            with graph.name_scope("Initializer" if callable(initial_value) else None):
                init = initial_value() if callable(initial_value) else initial_value
            with graph.control_dependencies(None):
                init_tensor = convert_to_tensor(init, dtype=dtype, name="initial_value") if not isinstance(
                    init, Tensor) else init
                if dtype is not None and init_tensor.dtype is not _dtypes.as_dtype(dtype):
                    from .ops.math_ops import cast

                    init_tensor = cast(init_tensor, dtype)
            shape = init_tensor.shape if validate_shape else TensorShape(None)
            if validate_shape and not shape.is_fully_defined():
                raise ValueError(
                    f"initial_value of variable '{scope[:-1]}' must have a fully defined shape, got {shape}; "
                    "pass validate_shape=False to allow that"
                )
            self._ref = apply_op("VariableV2", shape=shape, dtype=init_tensor.dtype, name=scope)[0]
            self._initializer_op = apply_op("Assign", self._ref, init_tensor, validate_shape=validate_shape,
                                            name="Assign")[0].op
            with graph.device(self._ref.op.device or None):
                self._snapshot = identity(self._ref, name="read")
        self._initial_value = init_tensor
        self._trainable = trainable
        self._ref.op._variable = self
        collections = list(collections) if collections is not None else [GraphKeys.GLOBAL_VARIABLES]
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        graph.add_to_collections(collections, self)

    _REF_OP = "VariableV2"  # the op a wrapped ``ref`` must come from (ResourceVariable: VarHandleOp)

    @classmethod
    def _from_graph_elements(cls, ref: Tensor, initializer: Operation, snapshot: Tensor,
                             initial_value: Tensor | None = None, trainable: bool = True) -> "Variable":
        """Wrap ops that already exist (e.g. imported from a MetaGraphDef) as a Variable; adds no ops.

        ``ref`` is the VariableV2 output, ``initializer`` its Assign op and ``snapshot`` its read.
        The caller adds the result to whatever collections it belongs to.

        Example:
            >>> import tensorflux as tf
            >>> from tensorflux._internal.variables import Variable
            >>> v = tf.Variable(1.0, name="v")
            >>> w = Variable._from_graph_elements(v._ref, v.initializer, v.value(), v.initial_value)
            >>> w.name, w.initializer.name
            ('v:0', 'v/Assign')
        """
        if ref.op.type != cls._REF_OP:
            raise TypeError(f"{cls.__name__}._from_graph_elements: '{ref.name}' is produced by a {ref.op.type} op, "
                            f"expected a {cls._REF_OP} op")
        var = cls.__new__(cls)
        var._ref = ref
        var._initializer_op = initializer
        var._snapshot = snapshot
        var._initial_value = initial_value
        var._trainable = trainable
        ref.op._variable = var
        return var

    # -- identity ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._ref.name

    @property
    def op(self) -> Operation:
        return self._ref.op

    @property
    def graph(self) -> Any:
        return self._ref.graph

    @property
    def dtype(self) -> _dtypes.DType:
        return self._ref.dtype

    @property
    def shape(self) -> TensorShape:
        return self._ref.shape

    def get_shape(self) -> TensorShape:
        return self._ref.shape

    @property
    def device(self) -> str:
        return self._ref.op.device

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def initializer(self) -> Operation:
        return self._initializer_op

    @property
    def initial_value(self) -> Tensor:
        return self._initial_value

    def _as_tensor(self) -> Tensor:
        return self._snapshot

    def _as_graph_element(self) -> Tensor:
        return self._snapshot

    def value(self) -> Tensor:
        """The ``read`` snapshot tensor of this variable."""
        return self._snapshot

    def read_value(self) -> Tensor:
        """A new read of the variable's current value (a fresh Identity op)."""
        return identity(self._ref, name="read")

    # -- updates ------------------------------------------------------------------------------
    def assign(self, value: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """Set the variable to ``value``; returns the new value (or the op when read_value=False)."""
        out = apply_op("Assign", self._ref, value, use_locking=use_locking, name=name or "Assign")[0]
        return out if read_value else out.op

    def assign_add(self, delta: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """Add ``delta`` to the variable; returns the new value."""
        out = apply_op("AssignAdd", self._ref, delta, use_locking=use_locking, name=name or "AssignAdd")[0]
        return out if read_value else out.op

    def assign_sub(self, delta: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """Subtract ``delta`` from the variable; returns the new value."""
        out = apply_op("AssignSub", self._ref, delta, use_locking=use_locking, name=name or "AssignSub")[0]
        return out if read_value else out.op

    def eval(self, session: Any = None) -> Any:
        """The current value in ``session`` or the default session."""
        return self._snapshot.eval(session=session)

    def load(self, value: Any, session: Any = None) -> None:
        """Write ``value`` into the variable in ``session`` without adding ops per call."""
        (session or get_default_session_or_error()).load_variable(self, value)

    def is_initialized(self) -> Tensor:
        return apply_op("IsVariableInitialized", self._ref, name="IsVariableInitialized")[0]

    def __repr__(self) -> str:
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    def __hash__(self) -> int:
        return id(self)


def global_variables(scope: str | None = None) -> list[Variable]:
    """Variables in the GLOBAL_VARIABLES collection.

    Example:
        >>> import tensorflux as tf
        >>> isinstance(tf.global_variables(), list)
        True
    """
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def trainable_variables(scope: str | None = None) -> list[Variable]:
    """Variables in the TRAINABLE_VARIABLES collection (what optimizers update by default).

    Example:
        >>> import tensorflux as tf
        >>> isinstance(tf.trainable_variables(), list)
        True
    """
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope: str | None = None) -> list[Variable]:
    """Variables in the LOCAL_VARIABLES collection."""
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def variables_initializer(var_list: list, name: str = "init") -> Operation:
    """One op that runs the initializers of ``var_list``.

    Example:
        >>> import tensorflux as tf
        >>> v = tf.Variable(1.0)
        >>> tf.variables_initializer([v]).type
        'NoOp'
    """
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Operation:
    """One op that initializes every global variable.

    Example:
        >>> import tensorflux as tf
        >>> tf.global_variables_initializer().name.startswith("init")
        True
    """
    return variables_initializer(global_variables(), name="init")


def initialize_all_variables() -> Operation:
    """Deprecated alias of :func:`global_variables_initializer` (TF 0.x/1.x spelling)."""
    return global_variables_initializer()


def local_variables_initializer() -> Operation:
    """One op that initializes every local variable."""
    return variables_initializer(local_variables(), name="init_1")
