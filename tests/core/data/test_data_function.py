"""map and filter functions: traced once on placeholders, run as a compiled plan of their own graph."""

import numpy as np

import tensorflux as tf
from tensorflux._internal.data.function import TracedFunction, call_with_element


def test_tracing_gives_types_and_shapes_and_keeps_the_user_graph_clean():
    before = len(tf.get_default_graph().get_operations())
    traced = TracedFunction(lambda x, y: {"s": x + tf.cast(y, tf.float32)}, (tf.float32, tf.int32),
                            (tf.TensorShape([3]), tf.TensorShape([])), "map")
    assert traced.output_types == {"s": tf.float32} and traced.output_shapes == {"s": tf.TensorShape([3])}
    assert len(tf.get_default_graph().get_operations()) == before


def test_the_runner_runs_the_function_per_element_with_its_own_random_streams():
    traced = TracedFunction(lambda x: x + tf.random_uniform([], seed=1), tf.float32, tf.TensorShape([]), "map")
    config = tf.Session().state.config
    one, two = traced.runner(config), traced.runner(config)
    first = [float(one([np.float32(0)])[0]) for _ in range(3)]
    assert [float(two([np.float32(0)])[0]) for _ in range(3)] == first
    assert len(set(first)) == 3


def test_call_with_element_spreads_only_plain_tuples():
    assert call_with_element(lambda *a: len(a), (1, 2, 3)) == 3
    assert call_with_element(lambda d: d, {"a": 1}) == {"a": 1}
