"""The SDK's strided layouts (tensorflux.extend): strides, collapsed walks, broadcasting plans, reshape targets
and reduction views, each checked by walking buffers the way a kernel does and comparing with numpy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tensorflux.extend import (
    broadcast_plan,
    collapse,
    contiguous_strides,
    reduction_axes,
    reduction_layout,
    resolve_reshape,
)

RNG = np.random.default_rng(5)
SHAPES = [(), (1,), (5,), (2, 3), (3, 1, 4), (1, 1), (2, 3, 4, 5), (4, 1, 1, 3, 2)]


def _offsets(dims, strides, offset=0):
    """The element each work-item reads when a kernel walks ``dims`` with one operand's ``strides``."""
    return [offset + sum(c * s for c, s in zip(coords, strides)) for coords in itertools.product(*map(range, dims))]


@pytest.mark.parametrize("shape", SHAPES)
def test_contiguous_strides_are_numpys_in_elements(shape):
    ref = np.zeros(shape, np.float64)
    assert contiguous_strides(shape) == [s // ref.itemsize for s in ref.strides]


@pytest.mark.parametrize("shape", [s for s in SHAPES if s])
def test_a_collapsed_walk_reads_the_same_elements_in_the_same_order(shape):
    operands = [contiguous_strides(shape), [0 if d == 1 or i % 2 else s for i, (d, s) in
                                            enumerate(zip(shape, contiguous_strides(shape)))]]
    perm = RNG.permutation(len(shape))
    permuted = [contiguous_strides(shape)[p] for p in perm]
    operands.append(permuted)
    dims, strides = collapse(list(shape), operands)
    assert 1 not in dims
    for before, after in zip(operands, strides):
        assert _offsets(dims, after) == _offsets(shape, before)


def test_collapse_merges_a_contiguous_array_into_one_dimension():
    assert collapse([2, 3, 4], [[12, 4, 1]]) == ([24], [[1]])


BROADCASTS = [((2, 3), [(2, 3), (2, 3)]), ((2, 3), [(2, 3), ()]), ((2, 3), [(3,), (2, 1)]),
              ((4, 2, 3), [(4, 1, 3), (2, 1)]), ((2, 3, 4, 5), [(1, 3, 1, 5), (2, 1, 4, 1), (5,)]),
              ((1,), [(), (1,)]), ((0, 3), [(0, 3), (3,)])]


@pytest.mark.parametrize("out_shape, in_shapes", BROADCASTS)
def test_a_broadcast_plan_reads_what_numpy_broadcasting_reads(out_shape, in_shapes):
    plan = broadcast_plan(out_shape, tuple(in_shapes), 4)
    size = int(np.prod(out_shape))
    for k, shape in enumerate(in_shapes):
        want = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), out_shape).reshape(-1).tolist()
        if plan[0] == "flat":
            got = [i * plan[1][k] for i in range(size)]
        else:
            assert len(plan[1]) == 4
            got = _offsets(plan[1], plan[2][k])
        assert got == want


def test_same_size_or_single_element_inputs_get_a_flat_plan():
    assert broadcast_plan((2, 3), ((2, 3), (1, 1), ()), 6) == ("flat", (1, 0, 0))


def test_a_broadcast_needing_more_dims_than_the_kernels_index_is_refused():
    out, a, b = (2, 3, 2, 3, 2), (2, 1, 2, 1, 2), (1, 3, 1, 3, 1)
    with pytest.raises(ValueError, match=r"needs 5 dimensions after merging; the kernels index at most 4"):
        broadcast_plan(out, (a, b), 4)


@pytest.mark.parametrize("shape, target", [((2, 6), [-1, 4]), ((2, 6), [12]), ((0, 3), [-1, 3]), ((), [1, 1]),
                                           ((4, 5), [5, -1]), ((3,), [-1])])
def test_a_reshape_target_resolves_as_numpys(shape, target):
    assert resolve_reshape(target, shape) == np.zeros(shape).reshape(target).shape


@pytest.mark.parametrize("shape, target, why", [((2, 6), [-1, -1], "more than one -1"),
                                                ((2, 6), [5, -1], "12 is not a multiple of 5"),
                                                ((2, 6), [0, -1], "12 is not a multiple of 0"),
                                                ((2, 6), [3, 5], "the target has 15 elements")])
def test_an_impossible_reshape_names_both_shapes_and_why(shape, target, why):
    with pytest.raises(ValueError, match=rf"shape \[2, 6\] \(12 elements\) into shape .*: {why}"):
        resolve_reshape(target, shape)
    with pytest.raises(ValueError):
        np.zeros(shape).reshape(target)


def test_reduction_axes_are_normalized_sorted_and_distinct():
    assert reduction_axes((2, 3, 4), [-1, 2, 0, -3]) == [0, 2]
    assert reduction_axes((), [0]) == [0]
    with pytest.raises(ValueError, match=r"reduction axis 3 is out of range for a tensor of shape \[2, 3, 4\]"):
        reduction_axes((2, 3, 4), [3])


@pytest.mark.parametrize("shape", [s for s in SHAPES if s])
def test_a_reduction_layout_sums_what_numpy_sums_or_says_a_transpose_is_needed(shape):
    x = RNG.standard_normal(shape)
    for r in range(1, len(shape) + 1):
        for axes in itertools.combinations(range(len(shape)), r):
            layout = reduction_layout(shape, list(axes))
            kept = [a for a in range(len(shape)) if a not in axes and shape[a] != 1]
            reduced = [a for a in axes if shape[a] != 1]
            # Contiguous means: no kept dim lies between two reduced ones (size-1 dims do not count).
            split = any(min(reduced, default=0) < k < max(reduced, default=0) for k in kept)
            assert (layout is None) == split
            if layout is not None:
                outer, red, inner = layout
                got = x.reshape(outer, red, inner).sum(axis=1).reshape(-1)
                np.testing.assert_allclose(got, x.sum(axis=axes).reshape(-1))
