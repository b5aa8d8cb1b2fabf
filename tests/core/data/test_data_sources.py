"""Source datasets against TF's compat.v1: from_tensor_slices, from_tensors, range, from_generator."""

import numpy as np
import pytest

import tensorflux as tf
from tests.core.data.pipelines import drain


def test_from_tensor_slices_of_an_array(both):
    both(lambda t: t.data.Dataset.from_tensor_slices(np.arange(12, dtype=np.float32).reshape(4, 3)))


def test_from_tensor_slices_of_tuples_and_python_lists(both):
    both(lambda t: t.data.Dataset.from_tensor_slices(([1, 2, 3], [[1.5, 2.5], [3.5, 4.5], [5.5, 6.5]])))


def test_from_tensor_slices_of_a_dict_nested_in_a_tuple(both):
    elements = both(lambda t: t.data.Dataset.from_tensor_slices(
        ({"image": np.arange(6.0).reshape(3, 2), "id": np.array([7, 8, 9], np.int64)}, np.array([0, 1, 0]))))
    assert sorted(elements[0][0]) == ["id", "image"]


def test_from_tensor_slices_of_a_fed_placeholder(both):
    def build(t):
        x = t.placeholder(t.float32, [None, 2])
        return t.data.Dataset.from_tensor_slices(x), x

    both(build, lambda x: {x: np.arange(10, dtype=np.float32).reshape(5, 2)})


def test_from_tensor_slices_refuses_components_of_different_lengths():
    with pytest.raises(ValueError, match="different first dimensions"):
        tf.data.Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))


def test_from_tensors_is_one_element(both):
    both(lambda t: t.data.Dataset.from_tensors(([1.0, 2.0], np.int64(3))).repeat(2))


@pytest.mark.parametrize("args", [(5,), (2, 7), (10, 0, -3), (3, 3)])
def test_range(both, args):
    both(lambda t: t.data.Dataset.range(*args))


def _pairs():
    for i in range(4):
        yield i, [float(i)] * (i % 2 + 1)


def test_from_generator_with_types_and_shapes(both):
    both(lambda t: t.data.Dataset.from_generator(_pairs, (t.int32, t.float32), (t.TensorShape([]),
                                                                                  t.TensorShape([None]))))


def test_from_generator_without_shapes_has_unknown_shapes(both):
    both(lambda t: t.data.Dataset.from_generator(_pairs, (t.int64, t.float64)))


def test_from_generator_restarts_the_generator_each_pass(both):
    both(lambda t: t.data.Dataset.from_generator(lambda: iter(range(3)), t.int64, t.TensorShape([])).repeat(2))


def test_from_generator_refuses_an_element_of_the_wrong_shape():
    def build(t):
        return t.data.Dataset.from_generator(lambda: iter([[1, 2], [1, 2, 3]]), t.int32, t.TensorShape([2]))

    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \[3\].*not compatible with output_shapes"):
        drain(tf, build)
