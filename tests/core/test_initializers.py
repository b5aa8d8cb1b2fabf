"""Initializers: shapes, dtypes, argument checks and the statistics each distribution promises."""

import math

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.initializers import compute_fans


def _draw(init, shape, dtype=tf.float32):
    with tf.Graph().as_default():
        t = init(shape, dtype=dtype)
        with tf.Session() as sess:
            return sess.run(t)


def test_constant_kinds():
    np.testing.assert_array_equal(_draw(tf.zeros_initializer(), [2, 2]), np.zeros((2, 2)))
    np.testing.assert_array_equal(_draw(tf.ones_initializer(dtype=tf.int32), [3], tf.int32), [1, 1, 1])
    np.testing.assert_array_equal(_draw(tf.constant_initializer([1, 2, 3, 4]), [2, 2]), [[1, 2], [3, 4]])
    assert _draw(tf.constant_initializer(7), [2], tf.float64).dtype == np.float64


@pytest.mark.parametrize("shape, fans", [([], (1, 1)), ([5], (5, 5)), ([4, 6], (4, 6)), ([3, 3, 8, 16], (72, 144))])
def test_fans(shape, fans):
    assert compute_fans(shape) == fans


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "untruncated_normal", "uniform"])
def test_variance_scaling_has_the_requested_variance(mode, distribution):
    shape = [200, 300]
    fan = {"fan_in": 200, "fan_out": 300, "fan_avg": 250}[mode]
    values = _draw(tf.variance_scaling_initializer(2.0, mode, distribution, seed=3), shape)
    assert values.shape == tuple(shape) and values.dtype == np.float32
    np.testing.assert_allclose(values.var(), 2.0 / fan, rtol=0.05)
    assert abs(values.mean()) < 0.01
    if distribution == "uniform":
        assert np.abs(values).max() <= math.sqrt(3.0 * 2.0 / fan)
    if distribution in ("normal", "truncated_normal"):
        # Truncated at two standard deviations of the untruncated draw, stddev / 0.8796.
        assert np.abs(values).max() <= 2 * math.sqrt(2.0 / fan) / 0.87962566 + 1e-6


def test_glorot_and_he_limits():
    fan_in, fan_out = 64, 32
    uniform = _draw(tf.glorot_uniform_initializer(seed=1), [fan_in, fan_out])
    assert np.abs(uniform).max() <= math.sqrt(6.0 / (fan_in + fan_out))
    np.testing.assert_allclose(uniform.var(), 2.0 / (fan_in + fan_out), rtol=0.1)
    normal = _draw(tf.glorot_normal_initializer(seed=1), [fan_in, fan_out])
    np.testing.assert_allclose(normal.var(), 2.0 / (fan_in + fan_out), rtol=0.1)
    he = _draw(tf.initializers.he_normal(seed=2), [fan_in, fan_out])
    np.testing.assert_allclose(he.var(), 2.0 / fan_in, rtol=0.1)
    assert np.abs(_draw(tf.initializers.lecun_uniform(seed=2), [fan_in, fan_out])).max() <= math.sqrt(3.0 / fan_in)


def test_random_kinds_statistics():
    uniform = _draw(tf.random_uniform_initializer(-2.0, 4.0, seed=1), [10000])
    assert uniform.min() >= -2.0 and uniform.max() < 4.0 and abs(uniform.mean() - 1.0) < 0.1
    normal = _draw(tf.random_normal_initializer(1.0, 0.5, seed=1), [10000])
    assert abs(normal.mean() - 1.0) < 0.05 and abs(normal.std() - 0.5) < 0.05
    truncated = _draw(tf.truncated_normal_initializer(0.0, 0.5, seed=1), [10000])
    assert np.abs(truncated).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("shape", [[4, 4], [6, 3], [3, 6], [2, 3, 5], [64, 64]])
def test_orthogonal_is_orthogonal(shape):
    values = _draw(tf.orthogonal_initializer(gain=2.0, seed=4), shape, tf.float32)
    flat = values.reshape(-1, shape[-1])
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-4)


def test_seeds_repeat_and_differ():
    init = tf.glorot_uniform_initializer(seed=5)
    np.testing.assert_array_equal(_draw(init, [3, 3]), _draw(init, [3, 3]))
    assert not np.array_equal(_draw(init, [3, 3]), _draw(tf.glorot_uniform_initializer(seed=6), [3, 3]))


def test_argument_checks():
    with pytest.raises(ValueError, match="`scale` must be a positive"):
        tf.variance_scaling_initializer(0.0)
    with pytest.raises(ValueError, match="invalid `mode`"):
        tf.variance_scaling_initializer(mode="fan_sideways")
    with pytest.raises(ValueError, match="invalid `distribution`"):
        tf.variance_scaling_initializer(distribution="cauchy")
    with pytest.raises(ValueError, match="floating point dtype"):
        tf.random_normal_initializer(dtype=tf.int32)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        tf.orthogonal_initializer()([3])


def test_get_config_round_trips():
    init = tf.variance_scaling_initializer(3.0, "fan_out", "uniform", seed=9)
    again = tf.variance_scaling_initializer.from_config(init.get_config())
    assert again.get_config() == init.get_config()


def test_initializers_namespace():
    assert tf.initializers.glorot_uniform is tf.glorot_uniform_initializer
    assert tf.initializers.variables is tf.variables_initializer
    assert tf.initializers.global_variables is tf.global_variables_initializer


def _draw_tf(tfr, init, shape, dtype=None):
    with tfr.Graph().as_default(), tfr.Session() as sess:
        return sess.run(init(shape, dtype=dtype or tfr.float32))


@pytest.mark.parametrize("shape, gain", [([3, 3], 1.0), ([2, 4], 0.5), ([4, 2], 2.0)])
def test_identity_matches_tf(tfr, shape, gain):
    ours = _draw(tf.initializers.identity(gain=gain), shape)
    theirs = _draw_tf(tfr, tfr.initializers.identity(gain=gain), shape)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    assert _draw(tf.initializers.identity(), [2, 2], tf.float64).dtype == np.float64


def test_identity_refuses_other_ranks_and_dtypes():
    with pytest.raises(ValueError, match="only be used for 2D matrices"):
        tf.initializers.identity()([2, 2, 2])
    with pytest.raises(ValueError, match="floating point dtype"):
        tf.initializers.identity(dtype=tf.int32)
    assert tf.initializers.identity(3.0).get_config() == {"gain": 3.0, "dtype": "float32"}


def test_identity_slices_its_partition():
    part = type("PartitionInfo", (), {"full_shape": [4, 4], "var_offset": [2, 0]})()
    np.testing.assert_array_equal(_draw(lambda s, dtype: tf.initializers.identity()(s, dtype, part), [2, 4]),
                                  np.eye(4)[2:])


@pytest.mark.parametrize("shape, factor", [([400, 50], 1.0), ([5, 5, 16, 8], 1.43)])
def test_uniform_unit_scaling_has_tf_limit_and_variance(tfr, shape, factor):
    # The streams differ, so the draws are compared by what they promise: TF's support [-m, m], uniform on it.
    limit = factor * math.sqrt(3.0 / math.prod(shape[:-1]))
    ours = _draw(tf.uniform_unit_scaling_initializer(factor=factor, seed=3), shape)
    theirs = _draw_tf(tfr, tfr.uniform_unit_scaling_initializer(factor=factor, seed=3), shape)
    for values in (ours, theirs):
        assert values.shape == tuple(shape) and np.abs(values).max() <= limit
        np.testing.assert_allclose(values.var(), limit ** 2 / 3, rtol=0.05)
    np.testing.assert_allclose(np.abs(ours).max(), np.abs(theirs).max(), rtol=0.01)
    assert tf.initializers.uniform_unit_scaling is tf.uniform_unit_scaling_initializer
    config = tf.uniform_unit_scaling_initializer(2.0, seed=1).get_config()
    assert config == tfr.uniform_unit_scaling_initializer(2.0, seed=1).get_config()
