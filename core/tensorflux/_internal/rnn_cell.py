"""TF 1.x's recurrent cells (``tf.nn.rnn_cell``): one time step of an RNN, with its variables as ``tf.layers`` do.

A cell is a layer called as ``output, new_state = cell(inputs, state)``. On its first call it opens its variable
scope (``basic_lstm_cell``, ``lstm_cell_1``, ... under the scope around it, or its ``name``) and builds its weights
there with ``get_variable``, so ``dynamic_rnn(cell, x)`` names them ``rnn/basic_lstm_cell/kernel`` as TF 1.15 does;
later calls reuse them. Called inside a traced step (``dynamic_rnn``'s ``Scan``), the variables are still created
in the user's graph (``get_variable`` lifts them with ``init_scope``) and the step reads them as captured tensors.

The arithmetic of each cell is TF 1.15's, gate order and split points included, so weights copied from TF give
TF's outputs. The wrappers (dropout, residual, device) are in ``rnn_cell_wrappers``.
"""

from __future__ import annotations

import collections
import re
from typing import Any, Callable

from . import dtypes as _dtypes
from .clip_ops import clip_by_value
from .data.structure import flatten, lists_to_tuples, pack_as
from .graph import GraphKeys, Tensor, get_default_graph
from .init_scope import outermost_graph
from .layers.base import Layer
from .op_builder import constant_value, convert_to_tensor
from .ops import array_ops, math_ops, nn_ops
from .shapes import TensorShape
from .variable_scope import variable_scope

_WEIGHTS = "kernel"
_BIAS = "bias"


def _snake_case(name: str) -> str:
    """A class name as Keras spells a layer's default name: ``BasicLSTMCell`` -> ``basic_lstm_cell``."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _initializer(value: Any) -> Any:
    """An initializer given as TF accepts it: None, an initializer object or class, or a Keras-style name."""
    if isinstance(value, str):
        from .. import initializers as public

        found = getattr(public, value, None)
        if found is None:
            raise ValueError(f"rnn cell: unknown initializer name {value!r}")
        return found()
    return value


def _activation(value: Any) -> Callable:
    if value is None:
        return nn_ops.tanh
    if isinstance(value, str):
        found = getattr(nn_ops, value, None)
        if found is None:
            raise ValueError(f"rnn cell: unknown activation name {value!r}; pass a function such as tf.nn.relu")
        return found
    return value


def _check_float_inputs(*values: Any) -> None:
    for value in flatten(lists_to_tuples(values)):
        dtype = convert_to_tensor(value).dtype.base_dtype
        if not dtype.is_floating:
            raise ValueError(f"RNN cell only supports floating point inputs, but saw dtype: {dtype.name}")


def _known_depth(input_shape: Any) -> int:
    shape = TensorShape(input_shape) if not isinstance(input_shape, TensorShape) else input_shape
    depth = shape.as_list()[-1] if shape.rank else None
    if depth is None:
        raise ValueError(f"Expected inputs.shape[-1] to be known, saw shape: {shape}")
    return int(depth)


def zero_state_tensors(state_size: Any, batch_size: Any, dtype: Any) -> Any:
    """Zeros of shape ``[batch_size] + s`` for each size ``s`` of the nested ``state_size``.

    Example:
        >>> import tensorflux as tf
        >>> [t.shape for t in zero_state_tensors((3, 4), 2, tf.float32)]
        [TensorShape([2, 3]), TensorShape([2, 4])]
    """
    static_batch = batch_size if isinstance(batch_size, int) else constant_value(convert_to_tensor(batch_size))

    def zeros(size: Any) -> Tensor:
        dims = TensorShape(size).as_list() if not isinstance(size, int) else [size]
        if static_batch is not None:
            return array_ops.zeros([int(static_batch)] + dims, dtype=dtype)
        batch = array_ops.reshape(math_ops.cast(batch_size, _dtypes.int32), [1])
        out = array_ops.zeros(array_ops.concat([batch, array_ops.constant(dims, dtype=_dtypes.int32)], 0),
                              dtype=dtype)
        out.set_shape([None] + dims)
        return out

    return pack_as(state_size, [zeros(s) for s in flatten(state_size)])


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """An LSTM's state ``(c, h)``: the memory cell and the output, in that order.

    Example:
        >>> import tensorflux as tf
        >>> state = LSTMStateTuple(tf.zeros([1, 2]), tf.ones([1, 2]))
        >>> state.h.name, state.dtype.name
        ('ones:0', 'float32')
    """

    __slots__ = ()

    @property
    def dtype(self) -> Any:
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"Inconsistent internal state: {c.dtype.name} vs {h.dtype.name}")
        return c.dtype


class RNNCell(Layer):
    """A recurrent cell: ``call(inputs, state) -> (output, new_state)`` plus its ``state_size`` and ``output_size``.

    Subclasses define ``state_size``, ``output_size`` and ``call``; ``build(input_shape)`` creates their weights
    with ``add_weight`` (or ``call`` may use ``tf.get_variable``, as older cells do). The default variable scope is
    the class name in snake case.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.BasicRNNCell(3)
        >>> output, state = cell(tf.ones([2, 4]), cell.zero_state(2, tf.float32))
        >>> [v.name for v in cell.variables]
        ['basic_rnn_cell/kernel:0', 'basic_rnn_cell/bias:0']
    """

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name, dtype=dtype, **kwargs)
        self._base_name = _snake_case(type(self).__name__)

    @property
    def state_size(self) -> Any:
        """The size(s) of the state: an int, a TensorShape, or a nested tuple of them."""
        raise NotImplementedError(f"{type(self).__name__}.state_size")

    @property
    def output_size(self) -> Any:
        """The size of the output: an int or a TensorShape."""
        raise NotImplementedError(f"{type(self).__name__}.output_size")

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        """Zero-filled state tensor(s) for ``batch_size`` rows, nested as ``state_size``."""
        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            return zero_state_tensors(self.state_size, batch_size, dtype)

    def get_initial_state(self, inputs: Any = None, batch_size: Any = None, dtype: Any = None) -> Any:
        """The zero state, with the batch size and dtype read from ``inputs`` when it is given."""
        if inputs is not None:
            inputs = convert_to_tensor(inputs)
            dims = inputs.shape.as_list() if inputs.shape.rank else [None]
            batch_size = dims[0] if dims[0] is not None else array_ops.shape(inputs)[0]
            dtype = inputs.dtype
        if batch_size is None or dtype is None:
            raise ValueError(f"batch_size and dtype cannot be None while constructing initial state: "
                             f"batch_size={batch_size}, dtype={dtype}")
        return self.zero_state(batch_size, dtype)

    def __call__(self, inputs: Any, state: Any, scope: Any = None, **kwargs: Any) -> Any:
        """Run one step: build on the first call (in ``scope`` if given), then ``call(inputs, state)``."""
        if self._scope is None:
            if scope is not None:
                scope_ctx = variable_scope(scope)
            elif self._reuse:
                scope_ctx = variable_scope(self._given_name or self._base_name)
            else:
                scope_ctx = variable_scope(self._given_name, default_name=self._base_name)
            with scope_ctx as captured:
                self._scope = captured
        graph = get_default_graph()
        with variable_scope(self._scope, reuse=True if self.built else self._reuse,
                            auxiliary_name_scope=False) as vs, graph.name_scope(vs.original_name_scope or None):
            inputs = lists_to_tuples(inputs)
            first = convert_to_tensor(flatten(inputs)[0])
            if not self.built:
                if self.dtype is None:
                    self.dtype = first.dtype.base_dtype if first.dtype.is_floating else _dtypes.float32
                self.build(first.shape if not isinstance(inputs, tuple) else
                           pack_as(inputs, [convert_to_tensor(t).shape for t in flatten(inputs)]))
                self.built = True
            # Cells that ask for variables with get_variable inside ``call`` still list them, as TF's getter does.
            with variable_scope(vs, custom_getter=self._track_variable, auxiliary_name_scope=False):
                return self.call(inputs, state, **kwargs)

    def _track_variable(self, getter: Callable, *args: Any, **kwargs: Any) -> Any:
        variable = getter(*args, **kwargs)
        known = self._trainable_weights + self._non_trainable_weights
        if all(variable is not v for v in known):
            trainable = any(variable is v for v in outermost_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES))
            (self._trainable_weights if trainable else self._non_trainable_weights).append(variable)
        return variable

    def call(self, inputs: Any, state: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.call")

    def add_variable(self, *args: Any, **kwargs: Any) -> Any:
        """TF 1.x's older spelling of ``add_weight``."""
        return self.add_weight(*args, **kwargs)


LayerRNNCell = RNNCell  # TF 1.15 separates cells that build in ``build``; here every cell may


class BasicRNNCell(RNNCell):
    """The simplest recurrent cell: ``output = new_state = activation(W [inputs, state] + b)``.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.BasicRNNCell(4)
        >>> out, _ = cell(tf.ones([2, 3]), cell.zero_state(2, tf.float32))
        >>> cell.state_size, out.shape
        (4, TensorShape([2, 4]))
    """

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None, name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units = num_units
        self._activation = _activation(activation)

    @property
    def state_size(self) -> int:
        return self._num_units

    @property
    def output_size(self) -> int:
        return self._num_units

    def build(self, input_shape: Any) -> None:
        depth = _known_depth(input_shape)
        self._kernel = self.add_weight(_WEIGHTS, shape=[depth + self._num_units, self._num_units])
        self._bias = self.add_weight(_BIAS, shape=[self._num_units], initializer=_zeros())

    def call(self, inputs: Tensor, state: Tensor) -> tuple:
        _check_float_inputs(inputs, state)
        gates = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, state], 1), self._kernel), self._bias)
        output = self._activation(gates)
        return output, output


def _zeros() -> Any:
    from .initializers import zeros_initializer

    return zeros_initializer()


def _constant(value: float) -> Any:
    from .initializers import constant_initializer

    return constant_initializer(value)


class GRUCell(RNNCell):
    """A gated recurrent unit: reset and update gates (``gates/``), then a candidate state (``candidate/``).

    ``new_h = u * h + (1 - u) * activation(W_c [x, r * h] + b_c)`` with ``[r, u] = sigmoid(W_g [x, h] + b_g)``;
    the gate bias starts at 1.0 unless ``bias_initializer`` is given.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.GRUCell(2)
        >>> _ = cell(tf.ones([1, 3]), cell.zero_state(1, tf.float32))
        >>> [v.name for v in cell.variables][:2]
        ['gru_cell/gates/kernel:0', 'gru_cell/gates/bias:0']
    """

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None, kernel_initializer: Any = None,
                 bias_initializer: Any = None, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units = num_units
        self._activation = _activation(activation)
        self._kernel_initializer = _initializer(kernel_initializer)
        self._bias_initializer = _initializer(bias_initializer)

    @property
    def state_size(self) -> int:
        return self._num_units

    @property
    def output_size(self) -> int:
        return self._num_units

    def build(self, input_shape: Any) -> None:
        depth = _known_depth(input_shape)
        n = self._num_units
        self._gate_kernel = self.add_weight(f"gates/{_WEIGHTS}", shape=[depth + n, 2 * n],
                                            initializer=self._kernel_initializer)
        self._gate_bias = self.add_weight(f"gates/{_BIAS}", shape=[2 * n], initializer=self._bias_initializer
                                          if self._bias_initializer is not None else _constant(1.0))
        self._candidate_kernel = self.add_weight(f"candidate/{_WEIGHTS}", shape=[depth + n, n],
                                                 initializer=self._kernel_initializer)
        self._candidate_bias = self.add_weight(f"candidate/{_BIAS}", shape=[n], initializer=self._bias_initializer
                                               if self._bias_initializer is not None else _zeros())

    def call(self, inputs: Tensor, state: Tensor) -> tuple:
        _check_float_inputs(inputs, state)
        gates = nn_ops.sigmoid(nn_ops.bias_add(
            math_ops.matmul(array_ops.concat([inputs, state], 1), self._gate_kernel), self._gate_bias))
        r, u = array_ops.split(gates, 2, axis=1)
        candidate = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, r * state], 1),
                                                    self._candidate_kernel), self._candidate_bias)
        new_h = u * state + (1 - u) * self._activation(candidate)
        return new_h, new_h


class BasicLSTMCell(RNNCell):
    """The basic LSTM: one ``kernel`` for the gates ``i, j, f, o`` (in that order), ``forget_bias`` added to ``f``.

    ``state_is_tuple`` (the default) keeps the state as ``LSTMStateTuple(c, h)``; otherwise ``[c, h]`` are
    concatenated along the columns.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.BasicLSTMCell(4)
        >>> out, state = cell(tf.ones([2, 3]), cell.zero_state(2, tf.float32))
        >>> type(state).__name__, cell.variables[0].shape
        ('LSTMStateTuple', TensorShape([7, 16]))
    """

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True, activation: Any = None,
                 reuse: Any = None, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units = num_units
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = _activation(activation)

    @property
    def state_size(self) -> Any:
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    @property
    def output_size(self) -> int:
        return self._num_units

    def build(self, input_shape: Any) -> None:
        depth = _known_depth(input_shape)
        n = self._num_units
        self._kernel = self.add_weight(_WEIGHTS, shape=[depth + n, 4 * n])
        self._bias = self.add_weight(_BIAS, shape=[4 * n], initializer=_zeros())

    def call(self, inputs: Tensor, state: Any) -> tuple:
        _check_float_inputs(inputs, state)
        c, h = state if self._state_is_tuple else array_ops.split(state, 2, axis=1)
        gates = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, h], 1), self._kernel), self._bias)
        i, j, f, o = array_ops.split(gates, 4, axis=1)
        forget_bias = array_ops.constant(self._forget_bias, dtype=f.dtype)
        new_c = math_ops.add(math_ops.multiply(c, nn_ops.sigmoid(math_ops.add(f, forget_bias))),
                             math_ops.multiply(nn_ops.sigmoid(i), self._activation(j)))
        new_h = math_ops.multiply(self._activation(new_c), nn_ops.sigmoid(o))
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else array_ops.concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(RNNCell):
    """The full LSTM: optional peepholes (``w_f_diag``, ``w_i_diag``, ``w_o_diag``), cell clipping, and a projection
    of the output to ``num_proj`` units (``projection/kernel``) with optional clipping.

    ``initializer`` initializes the kernel, the peepholes and the projection (glorot-uniform when None); the bias
    starts at zero. ``num_unit_shards``/``num_proj_shards`` (partitioning) are refused.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.LSTMCell(4, num_proj=2)
        >>> out, state = cell(tf.ones([1, 3]), cell.zero_state(1, tf.float32))
        >>> out.shape, state.c.shape
        (TensorShape([1, 2]), TensorShape([1, 4]))
    """

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip: float | None = None,
                 initializer: Any = None, num_proj: int | None = None, proj_clip: float | None = None,
                 num_unit_shards: int | None = None, num_proj_shards: int | None = None, forget_bias: float = 1.0,
                 state_is_tuple: bool = True, activation: Any = None, reuse: Any = None, name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        if num_unit_shards is not None or num_proj_shards is not None:
            raise ValueError(f"LSTMCell: num_unit_shards={num_unit_shards} and num_proj_shards={num_proj_shards} "
                             "partition the weights, which Tensorflux does not support; leave them None")
        self._num_units = num_units
        self._use_peepholes = use_peepholes
        self._cell_clip = cell_clip
        self._initializer = _initializer(initializer)
        self._num_proj = num_proj
        self._proj_clip = proj_clip
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = _activation(activation)
        h_size = num_proj if num_proj else num_units
        self._state_size = LSTMStateTuple(num_units, h_size) if state_is_tuple else num_units + h_size
        self._output_size = h_size

    @property
    def state_size(self) -> Any:
        return self._state_size

    @property
    def output_size(self) -> int:
        return self._output_size

    def build(self, input_shape: Any) -> None:
        depth = _known_depth(input_shape)
        n, init = self._num_units, self._initializer
        h_depth = n if self._num_proj is None else self._num_proj
        self._kernel = self.add_weight(_WEIGHTS, shape=[depth + h_depth, 4 * n], initializer=init)
        self._bias = self.add_weight(_BIAS, shape=[4 * n], initializer=_zeros())
        if self._use_peepholes:
            self._w_f_diag = self.add_weight("w_f_diag", shape=[n], initializer=init)
            self._w_i_diag = self.add_weight("w_i_diag", shape=[n], initializer=init)
            self._w_o_diag = self.add_weight("w_o_diag", shape=[n], initializer=init)
        if self._num_proj is not None:
            self._proj_kernel = self.add_weight(f"projection/{_WEIGHTS}", shape=[n, self._num_proj], initializer=init)

    def call(self, inputs: Tensor, state: Any) -> tuple:
        _check_float_inputs(inputs, state)
        n = self._num_units
        h_size = n if self._num_proj is None else self._num_proj
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev = array_ops.slice(state, [0, 0], [-1, n])
            m_prev = array_ops.slice(state, [0, n], [-1, h_size])
        if inputs.shape.rank != 2 or inputs.shape.as_list()[1] is None:
            raise ValueError(f"Could not infer input size from inputs.get_shape()[-1]: {inputs.shape}")
        gates = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, m_prev], 1), self._kernel), self._bias)
        i, j, f, o = array_ops.split(gates, 4, axis=1)
        sigmoid = nn_ops.sigmoid
        if self._use_peepholes:
            c = (sigmoid(f + self._forget_bias + self._w_f_diag * c_prev) * c_prev
                 + sigmoid(i + self._w_i_diag * c_prev) * self._activation(j))
        else:
            c = sigmoid(f + self._forget_bias) * c_prev + sigmoid(i) * self._activation(j)
        if self._cell_clip is not None:
            c = clip_by_value(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            m = sigmoid(o + self._w_o_diag * c) * self._activation(c)
        else:
            m = sigmoid(o) * self._activation(c)
        if self._num_proj is not None:
            m = math_ops.matmul(m, self._proj_kernel)
            if self._proj_clip is not None:
                m = clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else array_ops.concat([c, m], 1)
        return m, new_state


class MultiRNNCell(RNNCell):
    """Cells stacked in order: each one's output is the next one's input; variables under ``cell_0/``, ``cell_1/``.

    The state is a tuple of the cells' states (``state_is_tuple=True``, the default) or their concatenation.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(3), tf.nn.rnn_cell.GRUCell(2)])
        >>> out, state = cell(tf.ones([1, 4]), cell.zero_state(1, tf.float32))
        >>> cell.state_size, cell.variables[0].name
        ((3, 2), 'multi_rnn_cell/cell_0/gru_cell/gates/kernel:0')
    """

    def __init__(self, cells: Any, state_is_tuple: bool = True) -> None:
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        if not isinstance(cells, (list, tuple)):
            raise TypeError(f"cells must be a list or tuple, but saw: {cells}.")
        self._cells = list(cells)
        self._state_is_tuple = state_is_tuple
        if not state_is_tuple and any(isinstance(c.state_size, tuple) for c in self._cells):
            raise ValueError("Some cells return tuples of states, but the flag state_is_tuple is not set.  "
                             f"State sizes are: {[c.state_size for c in self._cells]}")

    @property
    def state_size(self) -> Any:
        if self._state_is_tuple:
            return tuple(cell.state_size for cell in self._cells)
        return sum(cell.state_size for cell in self._cells)

    @property
    def output_size(self) -> Any:
        return self._cells[-1].output_size

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            if self._state_is_tuple:
                return tuple(cell.zero_state(batch_size, dtype) for cell in self._cells)
            return zero_state_tensors(self.state_size, batch_size, dtype)

    @property
    def trainable_weights(self) -> list:
        return [w for cell in self._cells for w in cell.trainable_weights] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        own = [w for cell in self._cells for w in cell.non_trainable_weights]
        return own if self.trainable else [w for cell in self._cells for w in cell.trainable_weights] + own

    @property
    def weights(self) -> list:
        return self.trainable_weights + self.non_trainable_weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def call(self, inputs: Any, state: Any) -> tuple:
        position, current, new_states = 0, inputs, []
        for i, cell in enumerate(self._cells):
            with variable_scope(f"cell_{i}"):
                if self._state_is_tuple:
                    if not isinstance(state, (tuple, list)):
                        raise ValueError(f"Expected state to be a tuple of length {len(self.state_size)}, but "
                                         f"received: {state}")
                    cell_state = state[i]
                else:
                    cell_state = array_ops.slice(state, [0, position], [-1, cell.state_size])
                    position += cell.state_size
                current, new_state = cell(current, cell_state)
                new_states.append(new_state)
        return current, (tuple(new_states) if self._state_is_tuple else array_ops.concat(new_states, 1))


def assert_like_rnncell(cell_name: str, cell: Any) -> None:
    """Raise TypeError naming ``cell_name`` unless ``cell`` has ``output_size``, ``state_size``, ``zero_state`` and
    is callable, as TF's check does.

    Example:
        >>> assert_like_rnncell("cell", object())
        Traceback (most recent call last):
        ...
        TypeError: The argument 'cell' (<object...>) is not an RNNCell: 'output_size' property is missing, \
'state_size' property is missing, either 'zero_state' or 'get_initial_state' method is required, is not callable.
    """
    problems = [msg for ok, msg in (
        (hasattr(cell, "output_size"), "'output_size' property is missing"),
        (hasattr(cell, "state_size"), "'state_size' property is missing"),
        (hasattr(cell, "zero_state") or hasattr(cell, "get_initial_state"),
         "either 'zero_state' or 'get_initial_state' method is required"),
        (callable(cell), "is not callable"),
    ) if not ok]
    if problems:
        raise TypeError(f"The argument {cell_name!r} ({cell}) is not an RNNCell: {', '.join(problems)}.")
