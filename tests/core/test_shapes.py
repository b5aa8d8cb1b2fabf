"""TensorShape: partial shapes, compatibility, merging and numpy-style broadcasting."""

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.shapes import as_shape, broadcast_shapes, unknown_shape

TS = tf.TensorShape


@pytest.mark.parametrize("dims, rank, defined, elements", [
    (None, None, False, None),
    ([], 0, True, 1),
    ([3], 1, True, 3),
    ([2, 3], 2, True, 6),
    ([None, 3], 2, False, None),
    ([0, 5], 2, True, 0),
])
def test_rank_definedness_and_num_elements(dims, rank, defined, elements):
    s = TS(dims)
    assert s.rank == rank and s.ndims == rank
    assert s.is_fully_defined() == defined
    assert s.num_elements() == elements
    assert s.dims == (None if dims is None else tuple(dims))


@pytest.mark.parametrize("dims", [4, (4,), [4], np.array([4]), [np.int64(4)], TS([4])])
def test_constructor_accepts_int_sequences_arrays_and_shapes(dims):
    assert TS(dims).as_list() == [4]


def test_dimension_like_objects_use_their_value():
    class Dim:
        value = 7

    assert TS([Dim(), None]).as_list() == [7, None]


@pytest.mark.parametrize("bad", [[-1], [2, -3]])
def test_negative_dimensions_are_rejected(bad):
    with pytest.raises(ValueError, match=str(min(bad))):
        TS(bad)


@pytest.mark.parametrize("bad", [[2.5], [1, 0.5]])
def test_non_integral_dimensions_are_rejected(bad):
    with pytest.raises((TypeError, ValueError), match="0?.5"):
        TS(bad)


def test_unknown_rank_shape_refuses_list_len_and_iteration():
    s = TS(None)
    with pytest.raises(ValueError, match="unknown"):
        s.as_list()
    with pytest.raises(ValueError, match="unknown rank"):
        len(s)
    with pytest.raises(ValueError, match="unknown rank"):
        iter(s)
    assert s[0] is None
    assert s[1:] == TS(None)


def test_indexing_slicing_len_and_iteration():
    s = TS([2, None, 4])
    assert len(s) == 3 and list(s) == [2, None, 4]
    assert s[0] == 2 and s[1] is None and s[-1] == 4
    assert s[1:] == TS([None, 4])
    assert isinstance(s[:2], TS)


@pytest.mark.parametrize("a, b, compatible", [
    (None, [1, 2], True),
    ([None, 3], [5, 3], True),
    ([None, 3], [5, 4], False),
    ([2], [2, 1], False),
    ([], [], True),
    ([], [1], False),
])
def test_is_compatible_with(a, b, compatible):
    assert TS(a).is_compatible_with(b) == compatible
    assert TS(b).is_compatible_with(a) == compatible


def test_merge_with_fills_unknown_dims():
    assert TS([None, 3]).merge_with([2, None]) == TS([2, 3])
    assert TS(None).merge_with([1, 2]) == TS([1, 2])
    assert TS([1, 2]).merge_with(None) == TS([1, 2])


def test_merge_with_incompatible_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(1, 3\).*\(2, \?\)"):
        TS([1, 3]).merge_with([2, None])


def test_equality_hash_and_formatting():
    assert TS([2, None]) == [2, None]
    assert TS([2, None]) != TS([2, 3])
    assert TS(None) == TS(None)
    assert hash(TS([2, 3])) == hash(TS((2, 3)))
    assert str(TS([None, 3])) == "(?, 3)"
    assert str(TS([3])) == "(3,)"
    assert str(TS([])) == "()"
    assert str(TS(None)) == "<unknown>"
    assert repr(TS([None, 3])) == "TensorShape([None, 3])"
    assert repr(TS(None)) == "TensorShape(None)"


def test_as_shape_and_unknown_shape():
    s = TS([1])
    assert as_shape(s) is s
    assert as_shape([1, 2]) == TS([1, 2])
    assert unknown_shape() == TS(None)
    assert unknown_shape(3) == TS([None, None, None])


@pytest.mark.parametrize("a, b, out", [
    ([], [], []),
    ([3], [], [3]),
    ([2, 3], [3], [2, 3]),
    ([2, 1, 4], [3, 1], [2, 3, 4]),
    ([0, 3], [1, 3], [0, 3]),
    ([None, 3], [4, 3], [4, 3]),
    ([None, 3], [1, 3], [None, 3]),
    ([2, 3], None, None),
])
def test_broadcast_shapes_matches_numpy(a, b, out):
    got = broadcast_shapes(TS(a), TS(b))
    assert got == TS(out)
    if out is not None and None not in a + b:
        assert list(np.broadcast_shapes(tuple(a), tuple(b))) == out


@pytest.mark.parametrize("a, b", [([2, 3], [4, 3]), ([2], [3]), ([2, 3], [2])])
def test_broadcast_shapes_incompatible_returns_none(a, b):
    assert broadcast_shapes(TS(a), TS(b)) is None
