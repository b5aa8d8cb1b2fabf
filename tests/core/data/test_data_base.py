"""The environment of one iterator: captured values, counts, seeded streams per pass, closing."""

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.data.base import Environment, Node


def test_value_and_count_read_captured_tensors():
    size = tf.placeholder(tf.int64, [])
    env = Environment({size: np.int64(4)}, None)
    assert env.value(size) == 4 and env.count(size, "batch_size") == 4 and env.value(7) == 7


def test_count_refuses_what_is_not_a_scalar_integer():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"batch_size must be a scalar integer, got float64"):
        Environment({}, None).count(np.array(2.5), "batch_size")


def test_seeded_streams_repeat_per_pass_and_reshuffle_moves_on():
    node = Node(tf.int64, tf.TensorShape([]))
    draws = [Environment({}, None).rng(node, (1, 2), reshuffle=True).random() for _ in range(2)]
    assert draws[0] == draws[1]
    env = Environment({}, None)
    assert env.rng(node, (1, 2), reshuffle=True).random() != env.rng(node, (1, 2), reshuffle=True).random()
    assert env.rng(node, (1, 2), reshuffle=False).random() == env.rng(node, (1, 2), reshuffle=False).random()


def test_close_runs_each_closer_once():
    env, calls = Environment({}, None), []
    env.on_close(lambda: calls.append(1))
    env.close()
    env.close()
    assert calls == [1] and env.closed
