"""tf.nn.rnn_cell: one step of each cell and wrapper against TF 2.21's compat.v1 (tf-keras's legacy cells, which are
TF 1.15's): variable names, outputs, states and gradients with TF's weights; scoping; dropout's masks."""

import numpy as np
import pytest

import tensorflux as tf
from tests.core.rnn_interop import assert_nested_close, legacy_rnn, run_both

pytestmark = pytest.mark.filterwarnings("ignore:`tf.nn.rnn_cell.*:UserWarning")
RNG = np.random.RandomState(0)
X = RNG.randn(3, 4)
H = RNG.randn(3, 5)


@pytest.fixture(scope="module")
def tfl(tfr):
    return legacy_rnn(tfr)


def _cells(rc):
    return {
        "basic_rnn": rc.BasicRNNCell(5, activation=None),
        "basic_rnn_relu": rc.BasicRNNCell(5, activation="relu"),
        "gru": rc.GRUCell(5),
        "basic_lstm": rc.BasicLSTMCell(5, forget_bias=0.5),
        "basic_lstm_concat": rc.BasicLSTMCell(5, state_is_tuple=False),
        "lstm": rc.LSTMCell(5),
        "lstm_peep": rc.LSTMCell(5, use_peepholes=True, cell_clip=0.6, num_proj=3, proj_clip=0.3, forget_bias=0.0),
        "multi": rc.MultiRNNCell([rc.LSTMCell(5), rc.GRUCell(5), rc.BasicRNNCell(5)]),
        "multi_concat": rc.MultiRNNCell([rc.GRUCell(5), rc.BasicRNNCell(5)], state_is_tuple=False),
        "dropout": rc.DropoutWrapper(rc.LSTMCell(5), input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0),
        "residual": rc.ResidualWrapper(rc.GRUCell(4)),
        "device": rc.DeviceWrapper(rc.GRUCell(5), "/cpu:0"),
    }


def _state(lib, cell, h):
    """A non-zero state for ``cell``, nested as its state_size, from rows of ``h``."""
    def make(size):
        if isinstance(size, tuple):
            parts = [make(s) for s in size]
            return type(size)(*parts) if hasattr(size, "_fields") else tuple(parts)
        return lib.tile(h, [1, 3])[:, :size] * (0.3 + 0.1 * size)
    return make(cell.state_size)


def _build(lib):
    x, h = lib.constant(X), lib.constant(H)
    out = {}
    for key, cell in _cells(lib.nn.rnn_cell).items():
        with lib.variable_scope(key):
            out[key] = cell(x, _state(lib, cell, h))
    loss = lib.add_n([lib.reduce_sum(t * t) for t in _flatten(out)])
    grads = lib.gradients(loss, [x, h] + lib.trainable_variables())
    return out, grads


def _flatten(value):
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _flatten(value[key])]
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def test_cells_match_tf_one_step(tfl):
    theirs, ours, names = run_both(tfl, _build)
    assert_nested_close(theirs, ours)
    assert "multi/multi_rnn_cell/cell_0/lstm_cell/kernel:0" in names
    assert "multi/multi_rnn_cell/cell_1/gru_cell/candidate/bias:0" in names
    assert "lstm_peep/lstm_cell/projection/kernel:0" in names and "lstm_peep/lstm_cell/w_f_diag:0" in names
    assert "dropout/lstm_cell/kernel:0" in names  # a wrapper opens no scope of its own


def test_scoping_and_sharing_match_tf(tfl):
    def build(lib):
        rc, x = lib.nn.rnn_cell, lib.ones([2, 3], lib.float64)
        a, b = rc.GRUCell(2), rc.GRUCell(2)
        state = a.zero_state(2, lib.float64)
        a(x, state)
        a(x, state)  # reused: no new variable
        b(x, state)
        rc.BasicLSTMCell(2, name="named")(x, rc.LSTMStateTuple(state, state))
        rc.BasicRNNCell(2)(x, state, scope="given")
        with lib.variable_scope("outer"):
            rc.GRUCell(2)(x, state)
        return []
    run_both(tfl, build)  # asserts the names and their order are TF's
    with tf.Graph().as_default():
        cell = tf.nn.rnn_cell.GRUCell(2)
        cell(tf.ones([2, 3]), cell.zero_state(2, tf.float32))
        assert [v.name for v in cell.trainable_variables] == [v.name for v in tf.trainable_variables()]
        assert cell.name == "gru_cell" and cell.scope_name == "gru_cell"


def test_variables_asked_for_in_call_are_tracked():
    class MyCell(tf.nn.rnn_cell.RNNCell):
        state_size = output_size = 2

        def call(self, inputs, state):
            w = tf.get_variable("w", [int(inputs.shape[-1]) + 2, 2])
            counter = tf.get_variable("counter", [2], trainable=False)
            return tf.matmul(tf.concat([inputs, state], 1), w) + counter, state

    cell = MyCell()
    for _ in range(2):
        cell(tf.ones([1, 3]), cell.zero_state(1, tf.float32))
    assert [v.name for v in cell.trainable_weights] == ["my_cell/w:0"]
    assert [v.name for v in cell.non_trainable_weights] == ["my_cell/counter:0"]


def test_zero_state_shapes_and_dtype(tfl):
    def build(lib):
        rc = lib.nn.rnn_cell
        cell = rc.MultiRNNCell([rc.BasicLSTMCell(3), rc.GRUCell(2), rc.LSTMCell(4, num_proj=2)])
        batch = lib.placeholder(lib.int32, [])
        static = cell.zero_state(5, lib.float64)
        dynamic = cell.zero_state(batch, lib.float64)
        assert [t.shape.as_list() for t in _flatten(static)] == [[5, 3], [5, 3], [5, 2], [5, 4], [5, 2]]
        assert [t.shape.as_list() for t in _flatten(dynamic)] == [[None, 3], [None, 3], [None, 2], [None, 4], [None, 2]]
        assert all(t.dtype == lib.float64 for t in _flatten(static))
        assert type(static[0]).__name__ == "LSTMStateTuple" and cell.output_size == 2
        return []
    run_both(tfl, build)
    with tf.Graph().as_default():
        z = tf.nn.rnn_cell.GRUCell(3).zero_state(tf.placeholder(tf.int32, []), tf.float32)
        assert z.op.name.startswith("GRUCellZeroState/")


def test_dropout_masks_scale_kept_values_and_spare_the_lstm_memory():
    x = tf.ones([200, 10], tf.float64)
    cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicLSTMCell(10, forget_bias=0.0),
                                         input_keep_prob=0.5, state_keep_prob=0.25, output_keep_prob=0.8, seed=3)
    state = tf.nn.rnn_cell.LSTMStateTuple(tf.ones([200, 10], tf.float64), tf.ones([200, 10], tf.float64))
    out, (c, h) = cell(x, state)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    out_v, h_v, c_v = sess.run([out, h, c])
    kept = out_v != 0
    assert 0.75 < kept.mean() < 0.85
    assert 0.2 < (h_v != 0).mean() < 0.3  # the state's h is dropped with its own probability
    assert (c_v != 0).all()  # c is never dropped by the default filter
    with pytest.raises(ValueError, match="input_keep_prob must be between 0 and 1"):
        tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(2), input_keep_prob=1.5)
    with pytest.raises(ValueError, match="dtype must be provided"):
        tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(2), variational_recurrent=True)


def test_keep_prob_one_adds_no_dropout_ops():
    cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(2))
    cell(tf.ones([1, 2]), cell.zero_state(1, tf.float32))
    random = [op.name for op in tf.get_default_graph().get_operations() if op.type == "RandomUniform"]
    assert random and all("/Initializer/" in name for name in random)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"Expected inputs.shape\[-1\] to be known"):
        cell = tf.nn.rnn_cell.GRUCell(2)
        cell(tf.placeholder(tf.float32, [1, None]), cell.zero_state(1, tf.float32))
    with pytest.raises(ValueError, match="only supports floating point inputs"):
        cell = tf.nn.rnn_cell.BasicRNNCell(2)
        cell(tf.ones([1, 2], tf.int32), tf.ones([1, 2], tf.int32))
    with pytest.raises(ValueError, match="at least one cell"):
        tf.nn.rnn_cell.MultiRNNCell([])
    with pytest.raises(TypeError, match="is not an RNNCell"):
        tf.nn.rnn_cell.DropoutWrapper(object())
    with pytest.raises(ValueError, match="partition"):
        tf.nn.rnn_cell.LSTMCell(2, num_unit_shards=2)
