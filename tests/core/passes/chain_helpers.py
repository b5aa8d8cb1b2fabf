"""Helpers the fusion-chain tests share: run a fetch with and without the passes, compare, and build the inference
batch norm TF's freezer leaves behind."""

from __future__ import annotations

import numpy as np

import tensorflux as tf


def run_both(fetch, feed, disabled=()):
    """(optimized value, plain value, optimized plan op types); ``disabled`` passes are off in the optimized run."""
    out = []
    for config in ({"disable_passes": list(disabled)}, {"disable_passes": "all"}):
        with tf.Session(config=config) as sess:
            value = sess.run(fetch, feed)
            (plan, _), = sess._plans.values()
            out.append((value, [op.type for op in plan.step_ops]))
    return out[0][0], out[1][0], out[0][1]


def close(got, want):
    """Equal within tolerances relative to the output's largest value.

    Folding rounds a filter once more, and a constant 3x3 filter may go through Winograd.
    """
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * np.abs(want).max())


def batch_norm(h, channels, rng, shape=None):
    """An inference batch norm as TF's freezer leaves it: constants reshaped, Rsqrt, Mul, Sub, AddV2."""
    shape = shape or [1, 1, 1, channels]
    gamma, beta = rng.random(channels) + 0.5, rng.standard_normal(channels)
    mean, var = rng.standard_normal(channels), rng.random(channels) + 0.1
    scale = tf.rsqrt(tf.reshape(tf.constant(var.astype(np.float32)), shape) + 1e-3)
    scale = scale * tf.reshape(tf.constant(gamma.astype(np.float32)), shape)
    offset = tf.reshape(tf.constant(beta.astype(np.float32)), shape) - tf.reshape(
        tf.constant(mean.astype(np.float32)), shape) * scale
    return h * scale + offset
