"""padded_batch against TF's compat.v1: padding to the longest or to fixed shapes, padding values, strings,
drop_remainder and the specs that follow."""

import numpy as np
import pytest

import tensorflux as tf
from tests.core.data.pipelines import drain


def _ragged(t):
    return t.data.Dataset.range(1, 7).map(lambda n: t.fill([n], n))


def test_pads_to_the_longest_of_each_batch(both):
    both(lambda t: _ragged(t).padded_batch(4, [None]))


def test_fixed_shapes_padding_values_and_drop_remainder(both):
    both(lambda t: t.data.Dataset.range(1, 6).map(lambda n: (t.fill([n, 2], n), t.cast(n, t.float32)))
         .padded_batch(2, ([6, None], []), padding_values=(t.constant(-1, t.int64), 0.5), drop_remainder=True))


def test_dict_elements_and_minus_one_dimensions(both):
    both(lambda t: _ragged(t).map(lambda v: {"v": v, "len": t.size(v)}).padded_batch(3, {"v": [-1], "len": []}))


def test_strings_pad_with_empty_bytes(both):
    both(lambda t: t.data.Dataset.from_tensor_slices([["a", "b"], ["c", "d"]]).padded_batch(2, [3]))


def test_default_padded_shapes_are_the_longest():
    elements, spec = drain(tf, lambda t: _ragged(t).padded_batch(2))
    assert spec == (["int64"], [[None, None]])
    np.testing.assert_array_equal(elements[0], [[1, 0], [2, 2]])


def test_errors():
    with pytest.raises(ValueError, match="not compatible with the component's shape"):
        tf.data.Dataset.from_tensor_slices(np.ones((2, 5))).padded_batch(2, [3])
    with pytest.raises(ValueError, match="does not nest as the elements"):
        _ragged(tf).padded_batch(2, ([None], [None]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="larger than its padded shape"):
        drain(tf, lambda t: _ragged(t).padded_batch(2, [4]))
