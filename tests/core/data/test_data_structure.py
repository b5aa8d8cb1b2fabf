"""Nested elements flattened and packed as tf.nest does."""

from collections import namedtuple

import pytest

from tensorflux._internal.data.structure import flatten, lists_to_tuples, map_structure, pack_as, same_structure

Point = namedtuple("Point", "x y")


@pytest.mark.parametrize("element", [1, (1, 2), {"b": (1, 2), "a": 3}, (Point(1, {"k": 2}), [3, 4])])
def test_flatten_then_pack_gives_the_element_back(element):
    assert pack_as(element, flatten(element)) == element


def test_dicts_flatten_by_sorted_key_and_lists_are_components():
    assert flatten({"b": 1, "a": [2, 3]}) == [[2, 3], 1]


def test_pack_refuses_the_wrong_number_of_components():
    with pytest.raises(ValueError, match="3 components given for a structure of 2"):
        pack_as((0, 0), [1, 2, 3])
    with pytest.raises(ValueError, match="too few components"):
        pack_as((0, 0), [1])


def test_map_structure_and_lists_read_as_tuples():
    assert map_structure(str, Point(1, 2)) == Point("1", "2")
    assert lists_to_tuples([1, {"a": [2]}]) == (1, {"a": (2,)})


def test_same_structure():
    assert same_structure((1, {"a": 2}), (3, {"a": 4}))
    assert not same_structure((1, 2), (1, 2, 3)) and not same_structure({"a": 1}, {"b": 1})
