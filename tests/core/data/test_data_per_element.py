"""flat_map and interleave against TF's compat.v1: element order (cycle and block lengths), nesting and specs."""

import numpy as np
import pytest

import tensorflux as tf
from tests.core.data.pipelines import drain


def test_flat_map_of_ranges(both):
    both(lambda t: t.data.Dataset.range(5).flat_map(lambda n: t.data.Dataset.range(n)))


def test_flat_map_of_slices_of_each_row(both):
    both(lambda t: t.data.Dataset.from_tensor_slices(np.arange(12.0).reshape(3, 4))
         .flat_map(lambda row: t.data.Dataset.from_tensor_slices(row * 2.0)))


def test_flat_map_of_a_tuple_element_and_nested_transformations(both):
    both(lambda t: t.data.Dataset.zip((t.data.Dataset.range(4), t.data.Dataset.range(10, 14)))
         .flat_map(lambda a, b: t.data.Dataset.from_tensors((a, b)).repeat(a).map(lambda x, y: (y, x + y))))


@pytest.mark.parametrize("cycle, block", [(1, 1), (2, 1), (2, 2), (3, 2), (4, 3)])
def test_interleave_order(both, cycle, block):
    both(lambda t: t.data.Dataset.range(1, 6).interleave(
        lambda n: t.data.Dataset.range(10 * n, 10 * n + n), cycle_length=cycle, block_length=block))


def test_interleave_with_parallel_calls_keeps_the_order(both):
    both(lambda t: t.data.Dataset.range(1, 5).interleave(
        lambda n: t.data.Dataset.from_tensors(n).repeat(n), cycle_length=2, num_parallel_calls=2))


def test_interleave_of_file_style_sources_then_batch(both):
    both(lambda t: t.data.Dataset.from_tensor_slices(np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.int32))
         .interleave(lambda row: t.data.Dataset.from_tensor_slices(row), cycle_length=3).batch(4))


def test_flat_map_input_from_a_placeholder_and_reinitialization():
    def build(t):
        limit = t.placeholder(t.int64, [])
        return t.data.Dataset.range(limit).flat_map(lambda n: t.data.Dataset.range(n)), limit

    for value, want in ((3, [0, 0, 1]), (4, [0, 0, 1, 0, 1, 2])):
        elements, _ = drain(tf, build, lambda limit, value=value: {limit: value})
        assert [int(e) for e in elements] == want


def test_functions_must_return_datasets_of_their_own_graph():
    with pytest.raises(TypeError, match="the function must return a Dataset, got Tensor"):
        tf.data.Dataset.range(3).flat_map(lambda n: n * 2)
    outer = tf.constant([1, 2])
    with pytest.raises(ValueError, match="uses '.*' of another graph"):
        tf.data.Dataset.range(3).interleave(lambda n: tf.data.Dataset.from_tensor_slices(outer), cycle_length=1)
