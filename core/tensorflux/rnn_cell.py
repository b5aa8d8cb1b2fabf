"""``tf.nn.rnn_cell`` (also ``tf.compat.v1.nn.rnn_cell``): TF 1.x's recurrent cells and their wrappers.

Example:
    >>> import tensorflux as tf
    >>> cell = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.BasicLSTMCell(8) for _ in range(2)])
    >>> outputs, state = tf.nn.dynamic_rnn(cell, tf.ones([4, 10, 3]), dtype=tf.float32)
    >>> outputs.shape, len(state)
    (TensorShape([4, 10, 8]), 2)
"""

from ._internal.rnn_cell import (
    BasicLSTMCell as BasicLSTMCell,
    BasicRNNCell as BasicRNNCell,
    GRUCell as GRUCell,
    LSTMCell as LSTMCell,
    LSTMStateTuple as LSTMStateTuple,
    MultiRNNCell as MultiRNNCell,
    RNNCell as RNNCell,
)
from ._internal.rnn_cell_wrappers import (
    DeviceWrapper as DeviceWrapper,
    DropoutWrapper as DropoutWrapper,
    ResidualWrapper as ResidualWrapper,
)
