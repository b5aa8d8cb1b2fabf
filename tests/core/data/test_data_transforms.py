"""Transformations against TF's compat.v1: map, filter, batch, shuffle, repeat, take, skip, zip, concatenate."""

import numpy as np
import pytest

import tensorflux as tf
from tests.core.data.pipelines import drain, leaves


def _pairs(t):
    return t.data.Dataset.from_tensor_slices((np.arange(10, dtype=np.float32), np.arange(10, dtype=np.int64) % 3))


def test_map_spreads_a_tuple_over_the_arguments(both):
    both(lambda t: _pairs(t).map(lambda x, y: (x * 2.0 + 1.0, t.cast(y, t.float32) - x)))


def test_map_of_a_dict_element_and_a_dict_result(both):
    both(lambda t: t.data.Dataset.from_tensor_slices({"a": np.arange(4), "b": np.ones((4, 2))})
         .map(lambda d: {"sum": t.reduce_sum(d["b"]), "a": d["a"] + 1}))


@pytest.mark.parametrize("calls", [4, -1])
def test_parallel_map_keeps_the_input_order(both, calls):
    both(lambda t: t.data.Dataset.range(50).map(lambda x: x * x, num_parallel_calls=calls))


def test_map_result_shapes_come_from_tracing(both):
    both(lambda t: t.data.Dataset.from_tensor_slices(np.ones((3, 4, 2), np.float32)).map(lambda x: t.reshape(x, [8])))


def test_map_refuses_a_tensor_of_the_enclosing_graph():
    outer = tf.constant(2.0)
    with pytest.raises(ValueError, match="Dataset.map: the function uses a tensor of the enclosing graph"):
        tf.data.Dataset.from_tensor_slices([1.0]).map(lambda x: x * outer)


def test_filter(both):
    both(lambda t: t.data.Dataset.range(12).filter(lambda x: t.equal(x % 3, 0)))


def test_filter_refuses_a_predicate_that_is_not_a_scalar_bool():
    with pytest.raises(ValueError, match="scalar bool"):
        tf.data.Dataset.range(3).filter(lambda x: x + 1)


@pytest.mark.parametrize("drop", [False, True])
def test_batch_with_and_without_the_remainder(both, drop):
    both(lambda t: _pairs(t).batch(4, drop_remainder=drop))


def test_batch_of_batches_and_of_a_fed_size(both):
    def build(t):
        size = t.placeholder(t.int64, [])
        return t.data.Dataset.range(20).batch(3).batch(size), size

    both(build, lambda size: {size: 2})


def test_batch_refuses_elements_of_different_shapes():
    def build(t):
        return t.data.Dataset.from_generator(lambda: iter([[1], [1, 2]]), t.int32, t.TensorShape([None])).batch(2)

    with pytest.raises(tf.errors.InvalidArgumentError, match="different shapes in component 0"):
        drain(tf, build)


@pytest.mark.parametrize("count", [None, 3])
def test_repeat(both, count):
    both(lambda t: t.data.Dataset.range(4).repeat(count).take(14))


@pytest.mark.parametrize("count", [0, 3, 20, -1])
def test_take_and_skip(both, count):
    both(lambda t: t.data.Dataset.range(10).take(count))
    both(lambda t: t.data.Dataset.range(10).skip(count))


def test_zip_of_a_tuple_and_of_a_dict_ends_with_the_shortest(both):
    both(lambda t: t.data.Dataset.zip((t.data.Dataset.range(5), _pairs(t))))
    both(lambda t: t.data.Dataset.zip({"n": t.data.Dataset.range(3), "p": _pairs(t).batch(2)}))


def test_concatenate(both):
    both(lambda t: t.data.Dataset.range(3).concatenate(t.data.Dataset.range(10, 12)))


def test_a_typical_input_pipeline(both):
    both(lambda t: _pairs(t).map(lambda x, y: (x / 10.0, y)).repeat(2).batch(3, drop_remainder=True).prefetch(2))


# -- shuffle: TF's random stream differs, so its order is checked for what TF promises ---------------------------
def _shuffled(seed, reshuffle=None, epochs=1, graph_seed=None):
    def build(t):
        if graph_seed is not None:
            t.set_random_seed(graph_seed)
        return t.data.Dataset.range(20).shuffle(8, seed=seed, reshuffle_each_iteration=reshuffle).repeat(epochs)

    return [int(x) for x in drain(tf, build)[0]]


def test_shuffle_is_a_permutation_and_seeded_orders_repeat():
    order = _shuffled(seed=3)
    assert sorted(order) == list(range(20)) and order != list(range(20))
    assert _shuffled(seed=3) == order
    assert _shuffled(seed=4) != order


def test_shuffle_takes_the_graph_seed():
    assert _shuffled(seed=None, graph_seed=7) == _shuffled(seed=None, graph_seed=7)


def test_shuffle_reshuffles_each_pass_unless_told_not_to():
    again = _shuffled(seed=5, epochs=2)
    assert sorted(again[:20]) == sorted(again[20:]) and again[:20] != again[20:]
    same = _shuffled(seed=5, reshuffle=False, epochs=2)
    assert same[:20] == same[20:]


def test_shuffle_keeps_the_types_and_shapes(tfr):
    from tests.core.data.pipelines import spec

    with tfr.Graph().as_default():
        theirs = spec(tfr, _pairs(tfr).shuffle(5, seed=1).batch(2))
    assert spec(tf, _pairs(tf).shuffle(5, seed=1).batch(2)) == theirs


def test_unseeded_shuffle_still_gives_every_element():
    order = [leaves(e)[0] for e in drain(tf, lambda t: t.data.Dataset.range(30).shuffle(30))[0]]
    assert sorted(int(x) for x in order) == list(range(30))
