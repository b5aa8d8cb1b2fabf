"""tf.nn.dynamic_rnn, bidirectional_dynamic_rnn, static_rnn and static_bidirectional_rnn against TF 2.21's compat.v1:
outputs, final states and gradients with TF's weights (float64), sequence_length masking, time_major; one Scan op
per dynamic_rnn; dropout masks shared by the forward run and its gradient; an LSTM that learns."""

import numpy as np
import pytest

import tensorflux as tf
from tests.core.rnn_interop import assert_nested_close, legacy_rnn, run_both

pytestmark = pytest.mark.filterwarnings("ignore:`tf.nn.rnn_cell.*:UserWarning")
RNG = np.random.RandomState(1)
X = RNG.randn(3, 6, 4)  # batch-major [batch, time, depth]
H0 = RNG.randn(3, 5)
LENGTHS = np.array([6, 2, 0], np.int32)
STATIC_LENGTHS = np.array([3, 1, 0], np.int32)


@pytest.fixture(scope="module")
def tfl(tfr):
    return legacy_rnn(tfr)


def _flatten(value):
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _flatten(value[key])]
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _with_gradients(lib, out, wrt):
    """``out`` and the gradients of a weighted sum of its tensors w.r.t. ``wrt`` and every trainable variable."""
    flat = _flatten(out)
    loss = lib.add_n([lib.reduce_sum(t * t * (1.0 + 0.1 * i)) for i, t in enumerate(flat)])
    return out, lib.gradients(loss, list(wrt) + lib.trainable_variables())


def _custom_cell(lib):
    """An old-style cell that asks for its variable with get_variable inside ``call``."""
    class MyCell(lib.nn.rnn_cell.RNNCell):
        @property
        def state_size(self):
            return 2

        @property
        def output_size(self):
            return 2

        def call(self, inputs, state):
            w = lib.get_variable("w", [int(inputs.shape[-1]) + 2, 2], dtype=inputs.dtype)
            out = lib.tanh(lib.matmul(lib.concat([inputs, state], 1), w))
            return out, out

    return MyCell()


def _build_dynamic(lib):
    rc = lib.nn.rnn_cell
    x = lib.constant(X)
    lengths = lib.constant(LENGTHS)
    x_time = lib.transpose(x, [1, 0, 2])
    h0 = lib.constant(H0)
    out = {
        "lstm_lengths": lib.nn.dynamic_rnn(rc.BasicLSTMCell(5), x, sequence_length=lengths, dtype=lib.float64,
                                           scope="a"),
        "gru_time_major_init": lib.nn.dynamic_rnn(rc.GRUCell(5), x_time, initial_state=h0, time_major=True,
                                                  scope="b"),
        "multi_lengths": lib.nn.dynamic_rnn(
            rc.MultiRNNCell([rc.DropoutWrapper(rc.LSTMCell(5, use_peepholes=True, num_proj=3), output_keep_prob=1.0),
                             rc.ResidualWrapper(rc.BasicRNNCell(3))]),
            x, sequence_length=lengths, dtype=lib.float64, parallel_iterations=4, swap_memory=True, scope="c"),
        "bidirectional": lib.nn.bidirectional_dynamic_rnn(rc.LSTMCell(4), rc.GRUCell(3), x,
                                                          sequence_length=lengths, dtype=lib.float64),
        "bidirectional_time_major": lib.nn.bidirectional_dynamic_rnn(
            rc.BasicRNNCell(2), rc.BasicRNNCell(2), x_time, dtype=lib.float64, time_major=True, scope="d"),
        "default_scope": lib.nn.dynamic_rnn(rc.BasicLSTMCell(2), x, dtype=lib.float64),
        "custom": lib.nn.dynamic_rnn(_custom_cell(lib), x, dtype=lib.float64, scope="custom"),
    }
    return _with_gradients(lib, out, [x, h0])


def test_dynamic_rnn_matches_tf(tfl):
    theirs, ours, names = run_both(tfl, _build_dynamic)
    assert_nested_close(theirs, ours)
    outputs, state = ours[0]["lstm_lengths"]
    assert not outputs[1, 2:].any() and not outputs[2].any()  # zero past each row's length
    np.testing.assert_array_equal(state.h[1], outputs[1, 1])  # the state of the last valid step
    assert {"a/basic_lstm_cell/kernel:0", "rnn/basic_lstm_cell/bias:0", "b/gru_cell/gates/kernel:0",
            "c/multi_rnn_cell/cell_0/lstm_cell/w_f_diag:0", "c/multi_rnn_cell/cell_1/basic_rnn_cell/kernel:0",
            "bidirectional_rnn/fw/lstm_cell/kernel:0", "bidirectional_rnn/bw/gru_cell/candidate/kernel:0",
            "d/fw/basic_rnn_cell/bias:0", "custom/my_cell/w:0"} <= set(names)


def _build_static(lib):
    rc = lib.nn.rnn_cell
    x = lib.constant(X[:, :3])
    xs = lib.unstack(x, axis=1)
    out = {
        "static": lib.nn.static_rnn(rc.BasicLSTMCell(3), xs, dtype=lib.float64),
        "custom": lib.nn.static_rnn(_custom_cell(lib), xs, dtype=lib.float64, scope="custom"),
        "static_lengths": lib.nn.static_rnn(rc.GRUCell(3), xs, dtype=lib.float64,
                                            sequence_length=lib.constant(STATIC_LENGTHS), scope="s"),
        "static_bidirectional": lib.nn.static_bidirectional_rnn(rc.GRUCell(2), rc.LSTMCell(2), xs, dtype=lib.float64,
                                                                sequence_length=lib.constant(STATIC_LENGTHS)),
    }
    return _with_gradients(lib, out, [x])


def test_static_rnn_matches_tf(tfl):
    theirs, ours, names = run_both(tfl, _build_static)
    assert_nested_close(theirs, ours)
    assert {"rnn/basic_lstm_cell/kernel:0", "s/gru_cell/gates/bias:0", "custom/my_cell/w:0",
            "bidirectional_rnn/bw/lstm_cell/kernel:0"} <= set(names)


def test_dynamic_rnn_is_one_scan_op_reading_outer_variables():
    x = tf.placeholder(tf.float32, [None, None, 3])
    cell = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.BasicLSTMCell(4), tf.nn.rnn_cell.GRUCell(4)])
    outputs, _ = tf.nn.dynamic_rnn(cell, x, sequence_length=tf.placeholder(tf.int32, [None]), dtype=tf.float32)
    graph = tf.get_default_graph()
    assert [op.type for op in graph.get_operations()].count("Scan") == 1
    assert all(v.graph is graph for v in tf.global_variables()) and len(tf.global_variables()) == 6
    assert outputs.shape.as_list() == [None, None, 4]
    tf.gradients(tf.reduce_sum(outputs), tf.trainable_variables())
    assert [op.type for op in graph.get_operations()].count("Scan") == 3  # the gradient: a rerun and a backward scan


def test_dropout_in_dynamic_rnn_uses_one_mask_per_step_for_the_run_and_its_gradient():
    class Identity(tf.nn.rnn_cell.RNNCell):
        state_size = output_size = 8

        def call(self, inputs, state):
            return inputs, state + inputs

    x = tf.placeholder(tf.float64, [50, 7, 8])
    cell = tf.nn.rnn_cell.DropoutWrapper(Identity(), input_keep_prob=0.5, seed=5)
    outputs, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float64)
    (grad,) = tf.gradients(tf.reduce_sum(outputs * 3.0), [x])
    values = RNG.rand(50, 7, 8) + 0.5
    out, g = tf.Session().run([outputs, grad], {x: values})
    kept = out != 0
    assert 0.45 < kept.mean() < 0.55
    assert not (kept[:, 0] == kept[:, 1]).all()  # each step draws its own mask
    np.testing.assert_allclose(out[kept], values[kept] / 0.5)
    np.testing.assert_allclose(g, np.where(kept, 3.0 / 0.5, 0.0))  # the gradient saw the same masks


def test_variational_dropout_keeps_one_mask_over_time():
    x = tf.ones([4, 9, 3], tf.float64)
    cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(16), output_keep_prob=0.5, variational_recurrent=True,
                                         dtype=tf.float64, seed=2)
    outputs, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float64)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    kept = sess.run(outputs) != 0
    assert (kept == kept[:1, :1]).all()  # the same units dropped at every step and in every row, as in TF


def test_lstm_learns_a_toy_task():
    # Predict the running sum's sign of a noisy sequence: the loss must fall clearly in a few dozen steps.
    tf.set_random_seed(0)
    rng = np.random.RandomState(0)
    data = rng.randn(64, 10, 1).astype(np.float32)
    target = (np.cumsum(data, axis=1) > 0).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 10, 1])
    y = tf.placeholder(tf.float32, [None, 10, 1])
    outputs, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.LSTMCell(16), x, dtype=tf.float32)
    logits = tf.layers.dense(outputs, 1)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    feed = {x: data, y: target}
    first = sess.run(loss, feed)
    for _ in range(40):
        sess.run(train, feed)
    assert sess.run(loss, feed) < 0.5 * first


def test_errors_name_the_problem():
    cell = tf.nn.rnn_cell.GRUCell(2)
    with pytest.raises(ValueError, match="you must give a dtype"):
        tf.nn.dynamic_rnn(cell, tf.ones([2, 3, 4]))
    with pytest.raises(ValueError, match="Input size"):
        tf.nn.dynamic_rnn(cell, tf.placeholder(tf.float32, [2, 3, None]), dtype=tf.float32)
    with pytest.raises(TypeError, match="is not an RNNCell"):
        tf.nn.dynamic_rnn(lambda x, s: (x, s), tf.ones([2, 3, 4]), dtype=tf.float32)
    with pytest.raises(TypeError, match="inputs must be a sequence"):
        tf.nn.static_rnn(cell, tf.ones([2, 3]), dtype=tf.float32)
    with pytest.raises(NotImplementedError, match="raw_rnn is not supported"):
        tf.nn.raw_rnn(cell, lambda *a: None)
