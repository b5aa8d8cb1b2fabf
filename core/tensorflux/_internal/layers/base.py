"""The layer base class of ``tf.layers``: variable scoping, weight creation and the ``training`` switch.

A layer opens its variable scope on first call (``dense``, ``dense_1``, ... or its ``name``) and creates its
weights there with ``get_variable``, so names, sharing (``reuse``) and regularizers follow TF 1.15. Calling the
same layer object again reuses its variables; its ops go under the scope's original name scope.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import dtypes as _dtypes
from ..graph import GraphKeys, Tensor, get_default_graph
from ..init_scope import outermost_graph
from ..op_builder import constant_value, convert_to_tensor
from ..ops import array_ops, math_ops
from ..variable_scope import get_variable, variable_scope
from ..variables import Variable


def static_training(training: Any) -> bool | None:
    """``training`` as a Python bool when it is known while building the graph, else None (a bool tensor).

    Example:
        >>> import tensorflux as tf
        >>> static_training(True), static_training(tf.constant(False)), static_training(tf.placeholder(tf.bool))
        (True, False, None)
    """
    if training is None:
        return False
    if isinstance(training, (bool, np.bool_, int)):
        return bool(training)
    tensor = convert_to_tensor(training)
    if tensor.dtype is not _dtypes.bool_:
        raise TypeError(f"training must be a Python bool or a bool tensor, got '{tensor.name}' of "
                        f"{tensor.dtype.name}")
    value = constant_value(tensor)
    return None if value is None else bool(value)


def select_by_training(training: Any, when_training: Callable[[], Any], otherwise: Callable[[], Any]) -> Any:
    """``when_training()`` or ``otherwise()``; a bool tensor builds both and picks elementwise with ``tf.where``.

    TF picks with ``tf.cond`` and runs one branch only; here both run and their values are blended, which gives
    the same values and gradients (a branch not picked gets zero gradient).

    Example:
        >>> import tensorflux as tf
        >>> flag = tf.placeholder(tf.bool, [])
        >>> y = select_by_training(flag, lambda: tf.constant(1.0), lambda: tf.constant(2.0))
        >>> float(tf.Session().run(y, {flag: False}))
        2.0
    """
    static = static_training(training)
    if static is not None:
        return when_training() if static else otherwise()
    return array_ops.where(convert_to_tensor(training), when_training(), otherwise())


def pair(value: Any, what: str) -> tuple[int, int]:
    """An int or a 1- or 2-sequence of ints as a (height, width) pair, as Keras's ``normalize_tuple``.

    Example:
        >>> pair(3, "kernel_size"), pair((2, 1), "strides")
        ((3, 3), (2, 1))
    """
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"The `{what}` argument must be a tuple of 2 integers. Received: {value!r}")
    return int(values[0]), int(values[1])


def single(value: Any, what: str) -> int:
    """An int or a 1-sequence of ints as one int, as Keras's ``normalize_tuple(value, 1, ...)``.

    Example:
        >>> single(3, "kernel_size"), single((2,), "strides")
        (3, 2)
    """
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    if len(values) != 1 or not isinstance(values[0], (int, np.integer)):
        raise ValueError(f"The `{what}` argument must be a tuple of 1 integers. Received: {value!r}")
    return int(values[0])


def normalize_padding(padding: str) -> str:
    """'valid' or 'same' (any case) as the op attribute 'VALID' / 'SAME'.

    Example:
        >>> normalize_padding("Same")
        'SAME'
    """
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: {padding!r}")
    return padding.upper()


def normalize_data_format(data_format: str | None) -> str:
    """'channels_last' (the default) or 'channels_first' as the op attribute 'NHWC' / 'NCHW'.

    Example:
        >>> normalize_data_format("channels_first")
        'NCHW'
    """
    fmt = (data_format or "channels_last").lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f'The `data_format` argument must be one of "channels_first", "channels_last". '
                         f"Received: {data_format!r}")
    return "NHWC" if fmt == "channels_last" else "NCHW"


def refuse_constraint(constraint: Any, what: str, layer: str) -> None:
    if constraint is not None:
        raise NotImplementedError(f"{layer}: {what}={constraint!r} is not supported by Tensorflux (TF applies "
                                  "constraints in the optimizer after each update); leave it None")


class Layer:
    """Base of ``tf.layers`` layers: subclasses set ``_base_name`` and define ``build`` and ``call``.

    Example:
        >>> import tensorflux as tf
        >>> layer = tf.layers.Dense(2)
        >>> y = layer(tf.ones([1, 3]))
        >>> layer.name, [v.name for v in layer.variables]
        ('dense', ['dense/kernel:0', 'dense/bias:0'])
    """

    _base_name = "layer"

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 activity_regularizer: Callable | None = None, _reuse: Any = None, **unknown: Any) -> None:
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(unknown)}")
        self.trainable = trainable
        self._given_name = name
        self.dtype = None if dtype is None else _dtypes.as_dtype(dtype)
        self.activity_regularizer = activity_regularizer
        self._reuse = _reuse
        self._scope: Any = None
        self.built = False
        self._trainable_weights: list[Variable] = []
        self._non_trainable_weights: list[Variable] = []
        self._losses: list[Tensor] = []
        self._updates: list[Any] = []

    # -- what TF's layers expose ------------------------------------------------------------------
    @property
    def name(self) -> str:
        if self._given_name:
            return self._given_name
        return self._scope.name.split("/")[-1] if self._scope is not None else self._base_name

    @property
    def scope_name(self) -> str:
        if self._scope is None:
            raise ValueError(f"No name available for layer scope because the layer {self.name!r} has not been "
                             "used yet. The scope name is determined the first time the layer instance is called.")
        return self._scope.name

    @property
    def trainable_weights(self) -> list[Variable]:
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if self.trainable:
            return list(self._non_trainable_weights)
        return self._trainable_weights + self._non_trainable_weights

    @property
    def weights(self) -> list[Variable]:
        return self.trainable_weights + self.non_trainable_weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    @property
    def losses(self) -> list[Tensor]:
        """This layer's regularization losses (also in ``tf.GraphKeys.REGULARIZATION_LOSSES``)."""
        return list(self._losses)

    @property
    def updates(self) -> list[Any]:
        """This layer's update ops (also in ``tf.GraphKeys.UPDATE_OPS``)."""
        return list(self._updates)

    # -- for subclasses ---------------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of ``input_shape`` (a TensorShape); the base layer has none."""

    def call(self, inputs: Tensor, **kwargs: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call")

    def add_weight(self, name: str, shape: Any, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                   trainable: bool = True, constraint: Any = None) -> Variable:
        """Get or create the variable ``<scope>/name`` with ``get_variable``; a new one's regularizer loss is kept."""
        refuse_constraint(constraint, "constraint", type(self).__name__)
        graph = outermost_graph()  # where get_variable puts the variable and its loss, also from a traced function
        existing = len(graph.get_collection(GraphKeys.REGULARIZATION_LOSSES))
        var = get_variable(name, shape=shape, dtype=dtype or self.dtype or _dtypes.float32, initializer=initializer,
                           regularizer=regularizer, trainable=trainable and self.trainable)
        self._losses.extend(graph.get_collection(GraphKeys.REGULARIZATION_LOSSES)[existing:])
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        return var

    def add_update(self, update: Any) -> None:
        """Record an update op in this layer and in ``tf.GraphKeys.UPDATE_OPS``."""
        self._updates.append(update)
        get_default_graph().add_to_collection(GraphKeys.UPDATE_OPS, update)

    # -- calling ----------------------------------------------------------------------------------
    def _set_scope(self) -> None:
        if self._scope is not None:
            return
        if self._reuse:
            scope_ctx = variable_scope(self._given_name or self._base_name)
        else:
            scope_ctx = variable_scope(self._given_name, default_name=self._base_name)
        with scope_ctx as captured:
            self._scope = captured

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Build on the first call (creating the variables), then apply ``call`` under the layer's name scope."""
        self._set_scope()
        graph = get_default_graph()
        reuse = True if self.built else self._reuse
        with variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as scope:
            with graph.name_scope(scope.original_name_scope):
                inputs = inputs if isinstance(inputs, Tensor) else convert_to_tensor(inputs)
                if not self.built:
                    if self.dtype is None:
                        self.dtype = inputs.dtype if inputs.dtype.is_floating else _dtypes.float32
                    self.build(inputs.shape)
                    self.built = True
                outputs = self.call(inputs, *args, **kwargs)
                if self.activity_regularizer is not None:
                    self._regularize_activity(outputs, graph)
        return outputs

    def apply(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Same as calling the layer (TF 1.x's spelling)."""
        return self.__call__(inputs, *args, **kwargs)

    def _regularize_activity(self, outputs: Tensor, graph: Any) -> None:
        # As Keras: the activity penalty is averaged over the batch.
        with graph.name_scope("ActivityRegularizer"):
            loss = convert_to_tensor(self.activity_regularizer(outputs))
            batch = math_ops.cast(array_ops.shape(outputs)[0], loss.dtype)
            loss = math_ops.truediv(loss, batch)
        self._losses.append(loss)
        graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
