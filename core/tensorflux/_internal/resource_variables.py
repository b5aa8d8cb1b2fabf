"""Resource variables imported from TF: a ``tf.Variable`` whose ops are TF's ``VarHandleOp`` family.

``import_meta_graph`` wraps each resource variable of a meta graph TF wrote (``VariableDef.is_resource``) as a
:class:`ResourceVariable` bound to the imported ops, so collections, ``Saver``, ``sess.run`` and new assigns work
as with our own (``VariableV2``) variables. Its ``_ref`` is the handle; reads and writes are resource ops
(``ops/resource_ops.py``). Tensorflux creates resource variables of its own only as the slots an optimizer keeps for
an imported one (TF's resource updates take every slot as a handle).
"""

from __future__ import annotations

from typing import Any

from . import dtypes as _dtypes
from .graph import Operation, Tensor, get_default_graph
from .op_builder import apply_op, convert_to_tensor
from .shapes import TensorShape
from .variables import Variable


def op_without_outputs(op_type: str, *inputs: Any, name: str | None = None, **attrs: Any) -> Operation:
    """Add op ``op_type`` (one with no outputs, such as ``AssignVariableOp``) to the default graph; return it.

    Example:
        >>> import tensorflux as tf
        >>> h = apply_op("VarHandleOp", dtype=tf.float32, shape=[], shared_name="v", name="v")[0]
        >>> op_without_outputs("AssignVariableOp", h, tf.constant(1.0), dtype=tf.float32).type
        'AssignVariableOp'
    """
    graph = get_default_graph()
    apply_op(op_type, *inputs, name=name, **attrs)
    return graph._op_list[-1]  # the last op added: constants made of the inputs come before it


class ResourceVariable(Variable):
    """A variable TF wrote as a resource variable: ``VarHandleOp`` handle, ``AssignVariableOp`` initializer and a
    ``ReadVariableOp`` snapshot.

    Example:
        >>> import tensorflux as tf
        >>> h = apply_op("VarHandleOp", dtype=tf.float32, shape=[2], shared_name="w", name="w")[0]
        >>> init = op_without_outputs("AssignVariableOp", h, tf.constant([1.0, 2.0]), dtype=tf.float32, name="w/Assign")
        >>> read = apply_op("ReadVariableOp", h, dtype=tf.float32, name="w/Read/ReadVariableOp")[0]
        >>> w = ResourceVariable._from_graph_elements(h, init, read)
        >>> with tf.Session() as sess:
        ...     _ = sess.run(w.initializer)
        ...     sess.run(w.assign_add([1.0, 1.0]))
        array([2., 3.], dtype=float32)
    """

    _REF_OP = "VarHandleOp"  # what ``Variable._from_graph_elements`` expects ``ref`` to come from

    @classmethod
    def _create(cls, initial_value: Any, name: str, dtype: Any = None, trainable: bool = False,
                collections: list | None = None) -> "ResourceVariable":
        """A new resource variable ``name`` (``VarHandleOp`` + ``AssignVariableOp`` + ``ReadVariableOp``), added to
        ``collections`` (default: global variables): the slots an optimizer keeps for an imported resource variable.

        Example:
            >>> import tensorflux as tf
            >>> with tf.Graph().as_default():
            ...     m = ResourceVariable._create(lambda: tf.zeros([2]), "w/Adam")
            ...     with tf.Session() as sess:
            ...         _ = sess.run(tf.global_variables_initializer())
            ...         sess.run(m).tolist(), m.op.type
            ([0.0, 0.0], 'VarHandleOp')
        """
        graph = get_default_graph()
        with graph.name_scope(name) as scope:
            with graph.name_scope("Initializer" if callable(initial_value) else None):
                init = initial_value() if callable(initial_value) else initial_value
            with graph.control_dependencies(None):
                init = convert_to_tensor(init, dtype=dtype, name="initial_value")
            if not init.shape.is_fully_defined():
                raise ValueError(f"ResourceVariable._create: the initial value of '{scope[:-1]}' must have a fully "
                                 f"defined shape, got {init.shape}")
            ref = apply_op("VarHandleOp", dtype=init.dtype, shape=init.shape, shared_name=scope[:-1], name=scope)[0]
            assign = op_without_outputs("AssignVariableOp", ref, init, dtype=init.dtype, name="Assign")
            with graph.name_scope("Read"):
                snapshot = apply_op("ReadVariableOp", ref, dtype=init.dtype, name="ReadVariableOp")[0]
        var = cls._from_graph_elements(ref, assign, snapshot, init, trainable)
        from .graph import GraphKeys

        collections = list(collections) if collections is not None else [GraphKeys.GLOBAL_VARIABLES]
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        graph.add_to_collections(collections, var)
        return var

    @property
    def dtype(self) -> _dtypes.DType:
        return self._ref.op.attrs["dtype"]

    @property
    def shape(self) -> TensorShape:
        return self._ref.op.attrs["shape"]

    def get_shape(self) -> TensorShape:
        return self.shape

    def read_value(self) -> Tensor:
        """A new read of the variable's current value (a fresh ReadVariableOp)."""
        graph = get_default_graph()
        # Inside a tf.cond or tf.while_loop function, a read under the function's control dependencies (after an
        # assign there) is made in the function, so it sees their effect; other reads stay outside, captured.
        inside = graph is not self._ref.graph and graph._current_control_inputs() and _encloses(self._ref.graph, graph)
        with (graph if inside else self._ref.graph).as_default():
            return apply_op("ReadVariableOp", self._ref, dtype=self.dtype, name="ReadVariableOp")[0]

    def _as_tensor(self) -> Tensor:
        # A new read where the variable is used as a value, as TF's resource variables convert: it runs after the
        # control dependencies in effect, so a value computed after an update sees the update. (``value()`` stays
        # the snapshot: export and ``Session.load_variable`` name it without adding ops.)
        return self.read_value()

    def _write(self, op_type: str, value: Any, name: str | None, read_value: bool, **attrs: Any) -> Any:
        value = convert_to_tensor(value, dtype=self.dtype)
        op = op_without_outputs(op_type, self._ref, value, dtype=self.dtype, name=name or op_type, **attrs)
        if not read_value:
            return op
        with get_default_graph().control_dependencies([op]):
            return self.read_value()

    def assign(self, value: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """Set the variable to ``value``; returns the new value (or the op when read_value=False)."""
        return self._write("AssignVariableOp", value, name, read_value, validate_shape=True)

    def assign_add(self, delta: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """Add ``delta`` to the variable; returns the new value (or the op when read_value=False)."""
        return self._write("AssignAddVariableOp", delta, name, read_value)

    def assign_sub(self, delta: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """Subtract ``delta`` from the variable; returns the new value (or the op when read_value=False)."""
        return self._write("AssignSubVariableOp", delta, name, read_value)

    def _resource_scatter(self, op_type: str, indices: Any, updates: Any, name: str | None) -> Tensor:
        """TF's ``Resource<op_type>`` (ScatterAdd, ScatterSub, ScatterUpdate) on the variable; the new value, read
        after it, as ``tf.scatter_add`` and its kin return it."""
        updates = convert_to_tensor(updates, dtype=self.dtype)
        update = op_without_outputs("Resource" + op_type, self._ref, indices, updates, dtype=self.dtype, name=name)
        with self.graph.control_dependencies([update]):
            return self.read_value()

    def is_initialized(self) -> Tensor:
        return apply_op("VarIsInitializedOp", self._ref, name="VarIsInitializedOp")[0]

    def __repr__(self) -> str:
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name} (resource)>"


def _encloses(outer: Any, graph: Any) -> bool:
    # Whether ``graph`` is a function's graph traced inside ``outer`` (function_graph.FuncGraph's ``outer`` chain).
    while graph is not None and graph is not outer:
        graph = getattr(graph, "outer", None)
    return graph is outer


def is_resource_variable(var: Any) -> bool:
    """Whether ``var`` is a variable TF wrote as a resource variable.

    Example:
        >>> import tensorflux as tf
        >>> is_resource_variable(tf.Variable(1.0))
        False
    """
    return isinstance(var, ResourceVariable)

