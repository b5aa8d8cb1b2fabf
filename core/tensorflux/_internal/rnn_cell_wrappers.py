"""The wrappers of ``tf.nn.rnn_cell``: dropout on a cell's inputs, outputs and state; residual connections; a device.

A wrapper adds no variable scope of its own: the wrapped cell names its variables as it would unwrapped
(``rnn/lstm_cell/kernel`` under ``DropoutWrapper(LSTMCell(...))``), as in TF.

Dropout inside ``dynamic_rnn``'s traced step cannot draw random numbers there: the ``Scan`` gradient reruns the
step and must see the same masks. So while ``dynamic_rnn`` traces a step it installs a ``StepMasks``, which draws
every step's mask at once in the enclosing graph (``[time, batch, ...]`` booleans, a fresh draw per
``session.run``) and hands the step its slice. Anywhere else (``static_rnn``, a cell called directly) the wrapper
calls ``tf.nn.dropout`` as TF does. Variational dropout draws its ``[1, size]`` noise once, in the constructor,
as TF does, and uses it at every step.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Any, Callable

from . import dtypes as _dtypes
from .data.structure import flatten, lists_to_tuples, pack_as, same_structure
from .graph import Tensor, get_default_graph
from .op_builder import constant_value, convert_to_tensor
from .ops import array_ops, math_ops
from .ops.nn_impl import dropout as nn_dropout
from .ops.random_ops import random_uniform
from .rnn_cell import LSTMStateTuple, RNNCell, assert_like_rnncell
from .shapes import TensorShape

_STEP_MASKS: list = []


class StepMasks:
    """Dropout masks for the steps of one ``dynamic_rnn``, drawn in the enclosing graph, sliced per step.

    ``dynamic_rnn`` enters it around the tracing of its step and sets ``time`` (the step's index inside the
    traced function) before calling the cell.

    Example:
        >>> import tensorflux as tf
        >>> masks = StepMasks(num_steps=3, batch_size=2)
        >>> with masks:
        ...     active() is masks
        True
    """

    def __init__(self, num_steps: Any, batch_size: Any) -> None:
        self.graph = get_default_graph()  # where the Scan is built: its inputs, and so the masks, live there
        self.num_steps = num_steps
        self.batch_size = batch_size
        self.time: Tensor | None = None

    def __enter__(self) -> "StepMasks":
        _STEP_MASKS.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _STEP_MASKS.remove(self)

    def keep_mask(self, value: Tensor, keep_prob: Any, seed: int | None) -> Tensor:
        """This step's bool mask for ``value`` (``[batch, ...]``): true where ``keep_prob + U[0, 1) >= 1``."""
        dims = value.shape.as_list()[1:] if value.shape.rank else None
        if dims is None or any(d is None for d in dims):
            raise ValueError(f"DropoutWrapper inside dynamic_rnn: the shape of '{value.name}' past the batch "
                             f"dimension must be known to draw the masks of every step at once, got {value.shape}")
        graph = self.graph
        with graph.as_default(), graph.control_dependencies(None), graph.name_scope("dropout_masks"):
            shape = array_ops.stack([math_ops.cast(self.num_steps, _dtypes.int32),
                                     math_ops.cast(self.batch_size, _dtypes.int32)] + dims)
            noise = random_uniform(shape, seed=seed, dtype=value.dtype.base_dtype)
            masks = math_ops.greater_equal(math_ops.add(noise, keep_prob), 1.0)
        return array_ops.gather(masks, self.time)


def active() -> StepMasks | None:
    """The ``StepMasks`` of the ``dynamic_rnn`` step being traced, or None."""
    return _STEP_MASKS[-1] if _STEP_MASKS else None


def _map_up_to(shallow: Any, fn: Callable, *values: Any) -> Any:
    """``fn(index, shallow_leaf, *value_parts)`` over the leaves of ``shallow``, the values cut at its depth."""
    def leaves(structure: Any, value: Any) -> list:
        if isinstance(structure, tuple):
            return [leaf for s, v in zip(structure, value) for leaf in leaves(s, v)]
        return [value]

    parts = [leaves(shallow, v) for v in values]
    flat = [fn(i, *args) for i, args in enumerate(zip(*parts))]
    return pack_as(shallow, flat) if isinstance(shallow, tuple) else flat[0]


class _Wrapper(RNNCell):
    """A cell around ``cell``: the same sizes and state, no variable scope of its own."""

    def __init__(self, cell: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert_like_rnncell("cell", cell)
        self.cell = cell

    @property
    def wrapped_cell(self) -> Any:
        return self.cell

    @property
    def state_size(self) -> Any:
        return self.cell.state_size

    @property
    def output_size(self) -> Any:
        return self.cell.output_size

    @property
    def trainable_weights(self) -> list:
        return list(getattr(self.cell, "trainable_weights", []))

    @property
    def non_trainable_weights(self) -> list:
        return list(getattr(self.cell, "non_trainable_weights", []))

    @property
    def weights(self) -> list:
        return self.trainable_weights + self.non_trainable_weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            return self.cell.zero_state(batch_size, dtype)

    def __call__(self, inputs: Any, state: Any, scope: Any = None, **kwargs: Any) -> Any:
        return self._call_wrapped_cell(inputs, state, self.cell.__call__, scope=scope, **kwargs)

    def _call_wrapped_cell(self, inputs: Any, state: Any, cell_call_fn: Callable, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}._call_wrapped_cell")


def _default_state_filter(substate: Any) -> Any:
    # An LSTM's memory cell is left alone; its output and every other state component are dropped out.
    return LSTMStateTuple(c=False, h=True) if isinstance(substate, LSTMStateTuple) else True


class DropoutWrapper(_Wrapper):
    """Dropout on the inputs, outputs and (filtered) state of ``cell``; a keep probability of 1.0 adds no op.

    ``variational_recurrent=True`` uses one mask per sequence, shared by every step (and by the whole batch, as
    in TF), and needs ``dtype`` (and ``input_size`` when inputs are dropped). ``dropout_state_filter_visitor``
    picks the state components to drop: by default all but an LSTM's ``c``. Keep probabilities may be tensors.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(2), output_keep_prob=0.5, seed=1)
        >>> out, _ = cell(tf.ones([3, 4]), cell.zero_state(3, tf.float32))
        >>> sess = tf.Session(); sess.run(tf.global_variables_initializer())
        >>> sorted(set(sess.run(tf.cast(tf.equal(out, 0.0), tf.int32)).ravel().tolist())) in ([0], [0, 1], [1])
        True
    """

    def __init__(self, cell: Any, input_keep_prob: Any = 1.0, output_keep_prob: Any = 1.0,
                 state_keep_prob: Any = 1.0, variational_recurrent: bool = False, input_size: Any = None,
                 dtype: Any = None, seed: int | None = None, dropout_state_filter_visitor: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cell, dtype=dtype, **kwargs)
        if dropout_state_filter_visitor is not None and not callable(dropout_state_filter_visitor):
            raise TypeError(f"dropout_state_filter_visitor must be callable, got {dropout_state_filter_visitor!r}")
        self._dropout_state_filter = dropout_state_filter_visitor or _default_state_filter
        with get_default_graph().name_scope("DropoutWrapperInit"):
            for prob, attr in ((input_keep_prob, "input_keep_prob"), (state_keep_prob, "state_keep_prob"),
                               (output_keep_prob, "output_keep_prob")):
                tensor = convert_to_tensor(prob)
                value = constant_value(tensor)
                if value is not None:
                    if value < 0 or value > 1:
                        raise ValueError(f"Parameter {attr} must be between 0 and 1: {float(value)}")
                    setattr(self, f"_{attr}", float(value))
                else:
                    setattr(self, f"_{attr}", tensor)
        self._variational_recurrent = variational_recurrent
        self._input_size = input_size
        self._seed = seed
        self._recurrent_input_noise = self._recurrent_state_noise = self._recurrent_output_noise = None
        if variational_recurrent:
            if dtype is None:
                raise ValueError("When variational_recurrent=True, dtype must be provided")

            def noise(size: Any, salt: str) -> Any:
                # Prepend 1 for the batch: one mask serves every row, as in TF.
                return _map_up_to(size, lambda i, s: random_uniform(
                    [1] + (TensorShape(s).as_list() if not isinstance(s, int) else [s]),
                    seed=self._gen_seed(salt, i), dtype=dtype), size)

            if not isinstance(self._input_keep_prob, numbers.Real) or self._input_keep_prob < 1.0:
                if input_size is None:
                    raise ValueError("When variational_recurrent=True and input_keep_prob < 1.0 or is unknown, "
                                     "input_size must be provided")
                self._recurrent_input_noise = noise(input_size, "input")
            self._recurrent_state_noise = noise(cell.state_size, "state")
            self._recurrent_output_noise = noise(cell.output_size, "output")

    def _gen_seed(self, salt_prefix: str, index: int) -> int | None:
        # One op seed per dropped tensor, derived from the wrapper's seed as TF derives it.
        if self._seed is None:
            return None
        digest = hashlib.md5((str(self._seed) + f"{salt_prefix}_{index}").encode("utf-8")).hexdigest()
        return int(digest[:8], 16) & 0x7FFFFFFF

    def _dropout(self, values: Any, salt: str, noise: Any, keep_prob: Any, shallow: Any = None) -> Any:
        shallow = values if shallow is None else shallow
        masks = active()

        def drop(i: int, do_dropout: Any, value: Any, *rest: Any) -> Any:
            if isinstance(do_dropout, bool) and not do_dropout:
                return value
            value = convert_to_tensor(value)
            if self._variational_recurrent:
                binary = math_ops.floor(math_ops.add(keep_prob, rest[0]))
                return math_ops.multiply(math_ops.divide(value, keep_prob), binary)
            if masks is None:
                return nn_dropout(value, keep_prob=keep_prob, seed=self._gen_seed(salt, i))
            keep = masks.keep_mask(value, keep_prob, self._gen_seed(salt, i))
            return math_ops.multiply(math_ops.divide(value, keep_prob), math_ops.cast(keep, value.dtype))

        if self._variational_recurrent:
            return _map_up_to(shallow, drop, shallow, values, noise)
        return _map_up_to(shallow, drop, shallow, values)

    def _call_wrapped_cell(self, inputs: Any, state: Any, cell_call_fn: Callable, **kwargs: Any) -> Any:
        def should(p: Any) -> bool:
            return not isinstance(p, float) or p < 1

        if should(self._input_keep_prob):
            inputs = self._dropout(inputs, "input", self._recurrent_input_noise, self._input_keep_prob)
        output, new_state = cell_call_fn(inputs, state, **kwargs)
        if should(self._state_keep_prob):
            shallow = _filter_structure(self._dropout_state_filter, new_state)
            new_state = self._dropout(new_state, "state", self._recurrent_state_noise, self._state_keep_prob,
                                      shallow)
        if should(self._output_keep_prob):
            output = self._dropout(output, "output", self._recurrent_output_noise, self._output_keep_prob)
        return output, new_state


def _filter_structure(visitor: Callable, structure: Any) -> Any:
    """The shallow structure of bools the filter picks for ``structure``, as TF's
    ``get_traverse_shallow_structure``: True on a tuple descends into it, False stops, a tuple answers per part."""
    answer = visitor(structure)
    if not isinstance(structure, tuple):
        if not isinstance(answer, bool):
            raise TypeError(f"dropout_state_filter_visitor returned {answer!r} for a tensor; it must return a bool")
        return answer
    if isinstance(answer, bool):
        if not answer:
            return False
        answer = (True,) * len(structure)
    if not isinstance(answer, tuple) or len(answer) != len(structure):
        raise TypeError(f"dropout_state_filter_visitor must return a bool or a tuple shaped as {structure}, got "
                        f"{answer!r}")
    parts = [_filter_structure(visitor, s) if a is True else a for a, s in zip(answer, structure)]
    return type(structure)(*parts) if hasattr(structure, "_fields") else tuple(parts)


class ResidualWrapper(_Wrapper):
    """Adds the cell's inputs to its outputs (``residual_fn(inputs, outputs)`` when given).

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.ResidualWrapper(tf.nn.rnn_cell.BasicRNNCell(3))
        >>> out, _ = cell(tf.ones([1, 3]), cell.zero_state(1, tf.float32))
        >>> out.shape
        TensorShape([1, 3])
    """

    def __init__(self, cell: Any, residual_fn: Callable | None = None, **kwargs: Any) -> None:
        super().__init__(cell, **kwargs)
        self._residual_fn = residual_fn

    def _call_wrapped_cell(self, inputs: Any, state: Any, cell_call_fn: Callable, **kwargs: Any) -> Any:
        outputs, new_state = cell_call_fn(inputs, state, **kwargs)
        if self._residual_fn is not None:
            return self._residual_fn(inputs, outputs), new_state
        inputs, outputs = lists_to_tuples(inputs), lists_to_tuples(outputs)
        if not same_structure(inputs, outputs):
            raise ValueError(f"ResidualWrapper: the inputs {inputs} and outputs {outputs} differ in structure")
        added = []
        for x, y in zip(flatten(inputs), flatten(outputs)):
            x, y = convert_to_tensor(x), convert_to_tensor(y)
            if not x.shape.is_compatible_with(y.shape):
                raise ValueError(f"ResidualWrapper: input '{x.name}' of shape {x.shape} cannot be added to output "
                                 f"'{y.name}' of shape {y.shape}")
            added.append(x + y)
        return pack_as(outputs, added), new_state


class DeviceWrapper(_Wrapper):
    """Builds the cell's ops (and its zero state) under ``tf.device(device)``.

    Example:
        >>> import tensorflux as tf
        >>> cell = tf.nn.rnn_cell.DeviceWrapper(tf.nn.rnn_cell.BasicRNNCell(2), "/cpu:0")
        >>> out, _ = cell(tf.ones([1, 2]), cell.zero_state(1, tf.float32))
        >>> out.device
        '/cpu:0'
    """

    def __init__(self, cell: Any, device: Any, **kwargs: Any) -> None:
        super().__init__(cell, **kwargs)
        self._device = device

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        graph = get_default_graph()
        with graph.name_scope(type(self).__name__ + "ZeroState"), graph.device(self._device):
            return self.cell.zero_state(batch_size, dtype)

    def _call_wrapped_cell(self, inputs: Any, state: Any, cell_call_fn: Callable, **kwargs: Any) -> Any:
        with get_default_graph().device(self._device):
            return cell_call_fn(inputs, state, **kwargs)
