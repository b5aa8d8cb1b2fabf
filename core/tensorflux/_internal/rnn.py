"""TF 1.x's recurrent networks: ``tf.nn.dynamic_rnn``, ``bidirectional_dynamic_rnn``, ``static_rnn`` and
``static_bidirectional_rnn``.

``dynamic_rnn`` runs the cell over time as one ``Scan`` op (``functional_ops.scan_op``): the cell is traced once
into the step function, which carries the state and slices the time-major inputs; the outputs are stacked by the
kernel. The cell's variables live in the enclosing graph (``get_variable`` lifts them there) and the step reads
them as captured tensors, so the gradient (two more ``Scan`` ops) reaches them as any captured tensor's does.

With ``sequence_length`` every step still runs for every row, and the results are masked as TF's ``_rnn_step``
does: past a row's length its output is zero and its state is the one it had at its last valid step. TF skips
the steps past the longest length; masking gives the same values and gradients.
"""

from __future__ import annotations

from typing import Any

from . import dtypes as _dtypes
from .data.structure import flatten, lists_to_tuples, pack_as, same_structure
from .functional_ops import scan_op
from .graph import Tensor
from .op_builder import convert_to_tensor
from .ops import array_ops, math_ops
from .ops.scan_ops import reverse, reverse_sequence
from .rnn_cell import assert_like_rnncell
from .rnn_cell_wrappers import StepMasks
from .variable_scope import variable_scope


def _transpose_batch_time(x: Tensor) -> Tensor:
    """Swap the first two dimensions (batch-major <-> time-major)."""
    rank = x.shape.rank
    if rank is not None and rank < 2:
        raise ValueError(f"Expected input tensor {x} to have rank at least 2, but saw shape: {x.shape}")
    perm = [1, 0] + list(range(2, rank)) if rank is not None else None
    if perm is None:
        raise ValueError(f"dynamic_rnn: input '{x.name}' has unknown rank; its rank must be known")
    return array_ops.transpose(x, perm)


def _batch_size(flat: list, axis: int) -> Any:
    """The batch size of the inputs: a static int where any input knows it, else the first input's dynamic one."""
    for x in flat:
        dims = x.shape.as_list() if x.shape.rank is not None else []
        if len(dims) > axis and dims[axis] is not None:
            return dims[axis]
    return array_ops.shape(flat[0])[axis]


def _initial_state(cell: Any, initial_state: Any, batch_size: Any, dtype: Any) -> Any:
    if initial_state is not None:
        return lists_to_tuples(initial_state)
    if not dtype:
        raise ValueError("If there is no initial_state, you must give a dtype.")
    if getattr(cell, "get_initial_state", None) is not None:
        return lists_to_tuples(cell.get_initial_state(inputs=None, batch_size=batch_size, dtype=dtype))
    return lists_to_tuples(cell.zero_state(batch_size, dtype))


def _sequence_length(sequence_length: Any) -> Tensor | None:
    if sequence_length is None:
        return None
    lengths = math_ops.cast(convert_to_tensor(sequence_length), _dtypes.int32)
    if lengths.shape.rank not in (None, 1):
        raise ValueError(f"sequence_length must be a vector of length batch_size, but saw shape: {lengths.shape}")
    return array_ops.identity(lengths, name="sequence_length")


def _masked(copy: Tensor, kept: Tensor, new: Tensor) -> Tensor:
    """``kept`` in the rows where ``copy`` ([batch] bools) is true, else ``new``: TF's row-wise ``where``."""
    rank = new.shape.rank
    cond = copy if rank == 1 else array_ops.reshape(copy, [-1] + [1] * (rank - 1)) if rank is not None else None
    if cond is None:
        raise ValueError(f"dynamic_rnn with sequence_length: the rank of '{new.name}' must be known")
    return array_ops.where(cond, kept, new)


def dynamic_rnn(cell: Any, inputs: Any, sequence_length: Any = None, initial_state: Any = None, dtype: Any = None,
                parallel_iterations: int | None = None, swap_memory: bool = False, time_major: bool = False,
                scope: Any = None) -> tuple:
    """Run ``cell`` over the time steps of ``inputs``: ``(outputs, final_state)``.

    ``inputs`` is ``[batch, time, ...]`` (``[time, batch, ...]`` with ``time_major``), or a nested tuple of such
    tensors. ``sequence_length`` (``[batch]`` ints) zeroes each row's outputs past its length and keeps its state
    from its last valid step. Without ``initial_state``, ``dtype`` is required and the state starts at zero.
    ``parallel_iterations`` and ``swap_memory`` are accepted: the steps run one after another on the host.
    Variables go under ``scope`` (default ``"rnn"``), e.g. ``rnn/basic_lstm_cell/kernel``.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float32, [None, 5, 3])
        >>> cell = tf.nn.rnn_cell.BasicLSTMCell(4)
        >>> lengths = tf.placeholder(tf.int32, [None])
        >>> outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
        >>> outputs.shape, [v.name for v in tf.global_variables()]
        (TensorShape([None, 5, 4]), ['rnn/basic_lstm_cell/kernel:0', 'rnn/basic_lstm_cell/bias:0'])
    """
    del parallel_iterations, swap_memory
    assert_like_rnncell("cell", cell)
    with variable_scope(scope or "rnn"):
        structure = lists_to_tuples(inputs)
        flat = [convert_to_tensor(x) for x in flatten(structure)]
        if not time_major:
            flat = [_transpose_batch_time(x) for x in flat]
        lengths = _sequence_length(sequence_length)
        batch_size = _batch_size(flat, 1)
        state = _initial_state(cell, initial_state, batch_size, dtype)
        outputs, final_state = _dynamic_rnn_loop(cell, structure, flat, state, lengths, batch_size)
        if not time_major:
            outputs = pack_as(outputs, [_transpose_batch_time(o) for o in flatten(outputs)])
        return outputs, final_state


def _dynamic_rnn_loop(cell: Any, structure: Any, flat: list, state: Any, lengths: Tensor | None,
                      batch_size: Any) -> tuple:
    for x in flat:
        if x.shape.rank is None or x.shape.rank < 3 or x.shape.as_list()[-1] is None:
            raise ValueError(f"Input size (depth of inputs) must be accessible via shape inference, but saw value "
                             f"None (input '{x.name}', time-major shape {x.shape}).")
    num_steps = array_ops.shape(flat[0])[0]
    state_structure = state
    flat_state = [convert_to_tensor(s) for s in flatten(state)]
    output_structure: list = []
    masks = StepMasks(num_steps, batch_size)
    n_in = len(flat)

    def step(carry: list, slices: list) -> tuple[list, list]:
        masks.time = time = slices[n_in]
        output, new_state = cell(pack_as(structure, slices[:n_in]), pack_as(state_structure, carry))
        output, new_state = lists_to_tuples(output), lists_to_tuples(new_state)
        if not same_structure(state_structure, new_state):
            raise ValueError(f"dynamic_rnn: the cell returned a state of structure {new_state}, but its state is "
                             f"{state_structure}")
        flat_out = [convert_to_tensor(o) for o in flatten(output)]
        flat_new = [convert_to_tensor(s) for s in flatten(new_state)]
        if lengths is not None:
            copy = math_ops.greater_equal(time, lengths)
            flat_out = [_masked(copy, array_ops.zeros_like(o), o) for o in flat_out]
            flat_new = [_masked(copy, old, new) for old, new in zip(carry, flat_new)]
        output_structure.append(output)
        return flat_new, flat_out

    times = array_ops.range(0, num_steps)
    with masks:
        final, stacked = scan_op(step, flat_state, flat + [times], False, "dynamic_rnn")
    outputs = pack_as(output_structure[0], stacked)
    return outputs, pack_as(state_structure, final)


def _reverse(x: Tensor, lengths: Tensor | None, seq_axis: int, batch_axis: int) -> Tensor:
    if lengths is None:
        return reverse(x, [seq_axis])
    return reverse_sequence(x, lengths, seq_axis=seq_axis, batch_axis=batch_axis)


def bidirectional_dynamic_rnn(cell_fw: Any, cell_bw: Any, inputs: Any, sequence_length: Any = None,
                              initial_state_fw: Any = None, initial_state_bw: Any = None, dtype: Any = None,
                              parallel_iterations: int | None = None, swap_memory: bool = False,
                              time_major: bool = False, scope: Any = None) -> tuple:
    """A forward and a backward ``dynamic_rnn``: ``((output_fw, output_bw), (state_fw, state_bw))``.

    The backward cell reads each row reversed within its length (``tf.reverse_sequence``; the whole time axis
    without ``sequence_length``), and its outputs are reversed back, so both outputs are aligned in time.
    Variables go under ``scope/fw`` and ``scope/bw`` (default scope ``"bidirectional_rnn"``).

    Example:
        >>> import tensorflux as tf
        >>> x = tf.placeholder(tf.float32, [2, 4, 3])
        >>> cells = tf.nn.rnn_cell.GRUCell(5), tf.nn.rnn_cell.GRUCell(5)
        >>> (fw, bw), _ = tf.nn.bidirectional_dynamic_rnn(*cells, x, sequence_length=[4, 1], dtype=tf.float32)
        >>> tf.concat([fw, bw], 2).shape
        TensorShape([2, 4, 10])
    """
    assert_like_rnncell("cell_fw", cell_fw)
    assert_like_rnncell("cell_bw", cell_bw)
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            output_fw, state_fw = dynamic_rnn(cell_fw, inputs, sequence_length, initial_state_fw, dtype,
                                              parallel_iterations, swap_memory, time_major, scope=fw_scope)
        time_axis, batch_axis = (0, 1) if time_major else (1, 0)
        lengths = None if sequence_length is None else convert_to_tensor(sequence_length)
        with variable_scope("bw") as bw_scope:
            structure = lists_to_tuples(inputs)
            reversed_inputs = pack_as(structure, [_reverse(convert_to_tensor(x), lengths, time_axis, batch_axis)
                                                  for x in flatten(structure)])
            tmp, state_bw = dynamic_rnn(cell_bw, reversed_inputs, sequence_length, initial_state_bw, dtype,
                                        parallel_iterations, swap_memory, time_major, scope=bw_scope)
    output_bw = pack_as(tmp, [_reverse(t, lengths, time_axis, batch_axis) for t in flatten(tmp)])
    return (output_fw, output_bw), (state_fw, state_bw)


def static_rnn(cell: Any, inputs: Any, initial_state: Any = None, dtype: Any = None, sequence_length: Any = None,
               scope: Any = None) -> tuple:
    """The RNN unrolled in Python over a list of ``[batch, ...]`` inputs: ``(list of outputs, final_state)``.

    Builds one copy of the cell's ops per time step (the variables are shared). ``sequence_length`` masks as in
    ``dynamic_rnn``.

    Example:
        >>> import tensorflux as tf
        >>> xs = [tf.ones([2, 3]) for _ in range(4)]
        >>> outputs, state = tf.nn.static_rnn(tf.nn.rnn_cell.BasicRNNCell(5), xs, dtype=tf.float32)
        >>> len(outputs), outputs[0].shape
        (4, TensorShape([2, 5]))
    """
    assert_like_rnncell("cell", cell)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("inputs must be a sequence")
    if not inputs:
        raise ValueError("inputs must not be empty")
    with variable_scope(scope or "rnn") as varscope:
        first = [convert_to_tensor(x) for x in flatten(lists_to_tuples(inputs[0]))]
        for x in first:
            if x.shape.rank is None or x.shape.rank < 2 or x.shape.as_list()[-1] is None:
                raise ValueError(f"Input size (dimension 1 of inputs) must be accessible via shape inference, but "
                                 f"saw value None (input '{x.name}' of shape {x.shape}).")
        batch_size = _batch_size(first, 0)
        state = _initial_state(cell, initial_state, batch_size, dtype)
        lengths = _sequence_length(sequence_length)
        outputs = []
        for time, input_ in enumerate(inputs):
            if time > 0:
                varscope.reuse_variables()
            output, new_state = cell(input_, state)
            output, new_state = lists_to_tuples(output), lists_to_tuples(new_state)
            if lengths is not None:
                copy = math_ops.greater_equal(array_ops.constant(time, _dtypes.int32), lengths)
                output = pack_as(output, [_masked(copy, array_ops.zeros_like(o), o) for o in flatten(output)])
                new_state = pack_as(new_state, [_masked(copy, convert_to_tensor(old), convert_to_tensor(new))
                                                for old, new in zip(flatten(state), flatten(new_state))])
            outputs.append(output)
            state = new_state
        return outputs, state


def _reverse_seq(inputs: list, lengths: Tensor | None) -> list:
    if lengths is None:
        return list(reversed(inputs))
    flat = [flatten(lists_to_tuples(x)) for x in inputs]
    columns = []
    for parts in zip(*flat):
        stacked = array_ops.stack([convert_to_tensor(p) for p in parts])
        columns.append(array_ops.unstack(reverse_sequence(stacked, math_ops.cast(lengths, _dtypes.int64),
                                                          seq_axis=0, batch_axis=1)))
    return [pack_as(lists_to_tuples(inputs[0]), [column[t] for column in columns]) for t in range(len(inputs))]


def static_bidirectional_rnn(cell_fw: Any, cell_bw: Any, inputs: list, initial_state_fw: Any = None,
                             initial_state_bw: Any = None, dtype: Any = None, sequence_length: Any = None,
                             scope: Any = None) -> tuple:
    """A forward and a backward ``static_rnn``: ``(outputs, state_fw, state_bw)``, each output the concatenation
    ``[fw, bw]`` of one time step along the last axis.

    Example:
        >>> import tensorflux as tf
        >>> xs = [tf.ones([2, 3]) for _ in range(4)]
        >>> cells = tf.nn.rnn_cell.BasicRNNCell(5), tf.nn.rnn_cell.BasicRNNCell(2)
        >>> outputs, _, _ = tf.nn.static_bidirectional_rnn(*cells, xs, dtype=tf.float32)
        >>> outputs[0].shape
        TensorShape([2, 7])
    """
    assert_like_rnncell("cell_fw", cell_fw)
    assert_like_rnncell("cell_bw", cell_bw)
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError("inputs must be a non-empty list")
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            output_fw, state_fw = static_rnn(cell_fw, inputs, initial_state_fw, dtype, sequence_length, fw_scope)
        lengths = None if sequence_length is None else convert_to_tensor(sequence_length)
        with variable_scope("bw") as bw_scope:
            tmp, state_bw = static_rnn(cell_bw, _reverse_seq(list(inputs), lengths), initial_state_bw, dtype,
                                       sequence_length, bw_scope)
    output_bw = _reverse_seq(tmp, lengths)
    outputs = [array_ops.concat([fw, bw], 1) for fw, bw in zip(output_fw, output_bw)]
    return outputs, state_fw, state_bw


def raw_rnn(cell: Any, loop_fn: Any, parallel_iterations: int | None = None, swap_memory: bool = False,
            scope: Any = None) -> Any:
    """Not supported: ``loop_fn`` writes a ``TensorArray``, which Tensorflux lacks.

    Example:
        >>> import tensorflux as tf
        >>> tf.nn.raw_rnn(None, None)
        Traceback (most recent call last):
        ...
        NotImplementedError: tf.nn.raw_rnn is not supported by Tensorflux (its loop_fn reads and writes \
TensorArrays, which Tensorflux lacks); use tf.nn.dynamic_rnn, or tf.while_loop / tf.scan with the cell called \
in the body
    """
    raise NotImplementedError("tf.nn.raw_rnn is not supported by Tensorflux (its loop_fn reads and writes "
                              "TensorArrays, which Tensorflux lacks); use tf.nn.dynamic_rnn, or tf.while_loop / "
                              "tf.scan with the cell called in the body")

