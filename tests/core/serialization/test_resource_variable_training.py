"""Optimizers built here train the resource variables of a meta graph TF 2.21 wrote, as TF's own optimizers do.

TensorFlow (the reference) writes a small model with resource variables (compat.v1's default) and no train op.
Both sides then import it, build an optimizer on the imported loss and take the same steps: here ``tf.gradients``
flows into each variable through its ``ReadVariableOp``/``ResourceGather`` reads and the updates go through the
handles (``ResourceApply*``, the resource scatter ops). Every variable must match TF's after every step. Skipped,
with the reason, where TensorFlow is not installed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.dense` is deprecated:UserWarning")

STEPS = 3
RNG = np.random.default_rng(5)
# (x, labels, embedding ids): the ids repeat rows and leave some out, so sparse updates differ from dense ones
BATCHES = [(RNG.normal(size=(6, 4)).astype(np.float32), RNG.integers(0, 3, size=6).astype(np.int64),
            RNG.integers(0, 4, size=6).astype(np.int64)) for _ in range(STEPS)]


FEED = {"x:0": BATCHES[0][0], "y:0": BATCHES[0][1], "ids:0": BATCHES[0][2]}


def _optimizer(api, name):
    return {"adam": lambda: api.train.AdamOptimizer(0.05),
            "adam_composed": lambda: api.train.AdamOptimizer(0.05, fused=False),
            "momentum": lambda: api.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
            "rmsprop": lambda: api.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
            "adagrad": lambda: api.train.AdagradOptimizer(0.2)}[name]()


@pytest.fixture(scope="module")
def tf_model(tfr, tmp_path_factory):
    """TF writes ``model.meta`` (no train op) and ``model*`` (its initial state); returns the folder."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.layers lives in tf-keras
    folder = str(tmp_path_factory.mktemp("tf_resource_model"))
    with tfr.Graph().as_default():
        x = tfr.placeholder(tfr.float32, [None, 4], name="x")
        y = tfr.placeholder(tfr.int64, [None], name="y")
        ids = tfr.placeholder(tfr.int64, [None], name="ids")
        w = tfr.get_variable("w", [4, 6], initializer=tfr.glorot_uniform_initializer(seed=2))
        hidden = tfr.nn.tanh(tfr.matmul(x, w) + tfr.get_variable("b", [6], initializer=tfr.zeros_initializer()))
        logits = tfr.layers.dense(hidden, 3, name="out")
        emb = tfr.get_variable("emb", [5, 3], initializer=tfr.random_normal_initializer(seed=4))
        # emb is read twice: once densely, once by rows (a sparse gradient), so its gradient is a sum of both
        rows = tfr.get_variable("rows", [5, 3], initializer=tfr.random_uniform_initializer(seed=6))
        # rows is only read by rows (its gradient is sparse: the untouched rows keep their slots, as in TF)
        logits = logits + tfr.nn.embedding_lookup(emb, ids) + tfr.nn.embedding_lookup(rows, 4 - ids)
        loss = tfr.reduce_mean(tfr.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        tfr.add(loss, 0.01 * tfr.reduce_sum(tfr.square(emb)), name="loss")
        tfr.train.get_or_create_global_step()
        saver = tfr.train.Saver()
        with tfr.Session() as sess:
            sess.run(tfr.global_variables_initializer())
            saver.save(sess, os.path.join(folder, "model"))
    return folder


def _train(api, folder, optimizer):
    """Import the model with ``api`` (TF's compat.v1 or ours), minimize its loss and return every trainable
    variable's value after each step, by name."""
    steps = []
    with api.Graph().as_default() as graph:
        saver = api.train.import_meta_graph(os.path.join(folder, "model.meta"))
        variables = api.trainable_variables()
        step = api.train.get_global_step()
        train = _optimizer(api, optimizer).minimize(graph.get_tensor_by_name("loss:0"), global_step=step)
        init = api.variables_initializer([v for v in api.global_variables() if v.op.name not in
                                          {u.op.name for u in variables} | {step.op.name}])
        with api.Session() as sess:
            saver.restore(sess, os.path.join(folder, "model"))
            sess.run(init)
            for bx, by, bids in BATCHES:
                sess.run(train, {"x:0": bx, "y:0": by, "ids:0": bids})
                values = sess.run([v.value() for v in variables] + [step.value()])
                steps.append(dict(zip([v.op.name for v in variables] + ["global_step"], values)))
    return steps


@pytest.mark.parametrize("optimizer", ["adam", "adam_composed", "momentum", "rmsprop", "adagrad"])
def test_optimizer_built_here_trains_tf_resource_variables_as_tf(tf_model, tfr, optimizer):
    want = _train(tfr, tf_model, optimizer.replace("_composed", ""))
    got = _train(tf, tf_model, optimizer)
    assert sorted(got[0]) == sorted(want[0]) == ["b", "emb", "global_step", "out/bias", "out/kernel", "rows", "w"]
    for i, (g, w) in enumerate(zip(got, want)):
        for name in w:
            np.testing.assert_allclose(g[name], w[name], rtol=1e-5, atol=1e-5, err_msg=f"{name} after step {i + 1}")
    for name in ("emb", "rows", "w"):  # it trained: the variables moved from TF's initial state
        assert not np.allclose(got[-1][name], tfr.train.load_variable(os.path.join(tf_model, "model"), name))


def test_gradient_with_respect_to_an_imported_resource_variable_sums_its_reads(tf_model, tfr):
    with tfr.Graph().as_default() as graph:
        tfr.train.import_meta_graph(os.path.join(tf_model, "model.meta"))
        emb = next(v for v in tfr.global_variables() if v.op.name == "emb")
        want_grad = tfr.gradients(graph.get_tensor_by_name("loss:0"), emb)[0]
        with tfr.Session() as sess:
            tfr.train.Saver().restore(sess, os.path.join(tf_model, "model"))
            want = sess.run(tfr.convert_to_tensor(want_grad), FEED)
    with tf.Graph().as_default() as graph:
        saver = tf.train.import_meta_graph(os.path.join(tf_model, "model.meta"))
        emb, w = (next(v for v in tf.global_variables() if v.op.name == n) for n in ("emb", "w"))
        step = tf.train.get_global_step()
        g_emb, g_w, g_step = tf.gradients(graph.get_tensor_by_name("loss:0"), [emb, w, step])
        assert g_step is None  # an integer variable takes no gradient
        with tf.Session() as sess:
            saver.restore(sess, os.path.join(tf_model, "model"))
            got, got_w = sess.run([tf.convert_to_tensor(g_emb), g_w], FEED)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got_w.shape == (4, 6) and np.abs(got_w).sum() > 0


def test_unconnected_resource_variable_gets_none_or_zeros(tf_model):
    with tf.Graph().as_default():
        tf.train.import_meta_graph(os.path.join(tf_model, "model.meta"))
        w = next(v for v in tf.global_variables() if v.op.name == "w")
        unrelated = tf.constant(2.0) * 3.0
        assert tf.gradients(unrelated, w) == [None]
        (zeros,) = tf.gradients(unrelated, w, unconnected_gradients="zero")
        assert tf.Session().run(zeros).tolist() == np.zeros((4, 6)).tolist()
