"""Against TensorFlow's ``tf.compat.v1`` (the reference): variable-scope names, reuse and its errors,
initializer statistics, and clipping/einsum/norm values. Skipped where TensorFlow is not installed."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(17)


def _scoped_names(lib):
    """Variables and ops named through every scope rule; the same code for either library."""
    names = []
    with lib.variable_scope("outer") as outer:
        with lib.variable_scope("inner"):
            names.append(lib.get_variable("w", [2, 3]).name)
            names.append(lib.constant(1.0, name="c").name)
        with lib.name_scope("ns"):
            names.append(lib.get_variable("v", [1]).name)
            names.append(lib.Variable(1.0, name="plain").name)
    with lib.variable_scope(outer, reuse=True):
        names.append(lib.get_variable("v", [1]).name)
        names.append(lib.constant(1.0, name="c").name)
        names.append(lib.get_variable_scope().original_name_scope)
    with lib.variable_scope("outer", reuse=lib.AUTO_REUSE):
        names.append(lib.get_variable("auto", [1]).name)
        names.append(lib.get_variable("auto", [1]).name)
    for _ in range(2):
        with lib.variable_scope(None, default_name="dense"):
            names.append(lib.get_variable("k", [1]).name)
    with lib.variable_scope("block"):
        with lib.variable_scope(None, default_name="dense"):
            names.append(lib.get_variable("k", [1]).name)
            names.append(lib.get_variable_scope().name)
    names.append(lib.get_local_variable("count", [], dtype=lib.int64).name)
    with lib.variable_scope("reg", regularizer=lambda v: lib.reduce_sum(v)):
        lib.get_variable("r", [2])
    names += sorted(v.name for v in lib.local_variables())
    names += sorted(v.name for v in lib.trainable_variables("outer"))
    names.append(len(lib.get_collection(lib.GraphKeys.REGULARIZATION_LOSSES)))
    return names


def test_variable_and_op_names_match(tfr):
    with tfr.Graph().as_default():
        theirs = _scoped_names(tfr)
    with tf.Graph().as_default():
        ours = _scoped_names(tf)
    assert ours == theirs


def _reuse_errors(lib):
    messages = []
    lib.get_variable("w", [1])
    for build in (lambda: lib.get_variable("w", [1]),
                  lambda: _in_reusing_scope(lib, lambda: lib.get_variable("missing", [1])),
                  lambda: _in_reusing_scope(lib, lambda: lib.get_variable("w", [2])),
                  lambda: lib.get_variable("x", [2], initializer=lib.constant([1.0, 2.0]))):
        with pytest.raises(ValueError) as err:
            build()
        messages.append(str(err.value).split(" Originally defined at")[0].split(".")[0])
    return messages


def _in_reusing_scope(lib, build):
    with lib.variable_scope(lib.get_variable_scope(), reuse=True):
        return build()


def test_reuse_errors_match(tfr):
    with tfr.Graph().as_default():
        theirs = _reuse_errors(tfr)
    with tf.Graph().as_default():
        ours = _reuse_errors(tf)
    assert ours == theirs


def _initializer_samples(lib, shape):
    inits = {
        "glorot_uniform": lib.glorot_uniform_initializer(seed=1),
        "glorot_normal": lib.glorot_normal_initializer(seed=1),
        "vs_fan_in_truncated": lib.variance_scaling_initializer(2.0, "fan_in", "truncated_normal", seed=1),
        "vs_fan_out_normal": lib.variance_scaling_initializer(1.5, "fan_out", "normal", seed=1),
        "vs_avg_untruncated": lib.variance_scaling_initializer(1.0, "fan_avg", "untruncated_normal", seed=1),
        "vs_avg_uniform": lib.variance_scaling_initializer(3.0, "fan_avg", "uniform", seed=1),
        "truncated": lib.truncated_normal_initializer(0.5, 2.0, seed=1),
        "uniform": lib.random_uniform_initializer(-1.0, 3.0, seed=1),
        "normal": lib.random_normal_initializer(1.0, 0.5, seed=1),
        "orthogonal": lib.orthogonal_initializer(gain=1.5, seed=1),
        "constant": lib.constant_initializer(0.25),
        "ones": lib.ones_initializer(),
    }
    with lib.Graph().as_default():
        tensors = {name: init(shape, dtype=lib.float64) for name, init in inits.items()}
        with lib.Session() as sess:
            return sess.run(tensors)


# Draws whose extremes are not pinned by a bound (so their sample extremes may differ a lot).
UNBOUNDED = ("normal", "vs_avg_untruncated", "orthogonal")


@pytest.mark.parametrize("shape", [[3, 3, 32, 64], [400, 300]], ids=["conv", "dense"])
def test_initializer_statistics_match(tfr, shape):
    theirs = _initializer_samples(tfr, shape)
    ours = _initializer_samples(tf, shape)
    for name, value in ours.items():
        ref = theirs[name]
        assert value.shape == ref.shape and value.dtype == ref.dtype, name
        assert abs(value.mean() - ref.mean()) < 0.02 * max(ref.std(), 1.0), name
        np.testing.assert_allclose(value.std(), ref.std(), rtol=0.03, atol=1e-12, err_msg=name)
        if name not in UNBOUNDED:
            np.testing.assert_allclose([value.min(), value.max()], [ref.min(), ref.max()], rtol=0.05, atol=1e-12,
                                       err_msg=name)
    for sample in (ours["orthogonal"], theirs["orthogonal"]):
        flat = sample.reshape(-1, shape[-1])
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(len(gram)), atol=1e-6)


def test_default_get_variable_initializer_matches(tfr):
    samples = []
    for lib in (tfr, tf):
        with lib.Graph().as_default():
            w = lib.get_variable("w", [500, 200])
            i = lib.get_variable("i", [3], dtype=lib.int32)
            with lib.Session() as sess:
                sess.run(lib.global_variables_initializer())
                samples.append(sess.run([w, i]))
    (tw, ti), (ow, oi) = samples
    np.testing.assert_allclose(ow.std(), tw.std(), rtol=0.03)
    np.testing.assert_allclose(np.abs(ow).max(), np.abs(tw).max(), rtol=0.01)
    np.testing.assert_array_equal(oi, ti)


X = RNG.normal(size=(3, 4))
Y = RNG.normal(size=(4, 5))
B1 = RNG.normal(size=(2, 3, 4))
B2 = RNG.normal(size=(2, 4, 5))


def _math_values(lib):
    x, y, b1, b2 = (lib.constant(v) for v in (X, Y, B1, B2))
    clipped, global_norm = lib.clip_by_global_norm([x, None, y], 2.0)
    outputs = {
        "clip_by_value": lib.clip_by_value(x, -0.3, 0.6),
        "clip_by_norm": lib.clip_by_norm(x, 1.5),
        "clip_by_norm_axes": lib.clip_by_norm(x, 1.0, axes=[1]),
        "global_norm": lib.global_norm([x, y]),
        "clip_by_global_norm_0": clipped[0],
        "clip_by_global_norm_2": clipped[2],
        "clip_by_global_norm_norm": global_norm,
        "einsum_matmul": lib.einsum("ij,jk->ik", x, y),
        "einsum_batch": lib.einsum("bij,bjk->bik", b1, b2),
        "einsum_outer": lib.einsum("i,j->ij", x[0], y[0]),
        "einsum_sum": lib.einsum("bij->j", b1),
        "einsum_chain": lib.einsum("ij,jk,bkl->bil", x, y, lib.transpose(b2, [0, 2, 1])),
        "einsum_ellipsis": lib.einsum("...ij,jk->...ik", b1, y),
        "norm": lib.norm(x),
        "norm_1_axis": lib.norm(x, ord=1, axis=1),
        "norm_inf_keep": lib.norm(x, ord=np.inf, axis=0, keepdims=True),
        "norm_p3": lib.norm(x, ord=3, axis=1),
        "norm_fro": lib.norm(b1, ord="fro", axis=(1, 2)),
        "norm_matrix_1": lib.norm(b1, ord=1, axis=(1, 2)),
        "norm_matrix_inf": lib.norm(b1, ord=np.inf, axis=[1, 2]),
        "l2_normalize": lib.nn.l2_normalize(x, axis=1),
        "l2_normalize_all": lib.nn.l2_normalize(b1),
    }
    with lib.Session() as sess:
        return sess.run(outputs)


def test_clipping_einsum_and_norm_values_match(tfr):
    with tfr.Graph().as_default():
        theirs = _math_values(tfr)
    with tf.Graph().as_default():
        ours = _math_values(tf)
    for name, value in ours.items():
        assert np.shape(value) == np.shape(theirs[name]), name
        np.testing.assert_allclose(value, theirs[name], rtol=1e-10, atol=1e-12, err_msg=name)
