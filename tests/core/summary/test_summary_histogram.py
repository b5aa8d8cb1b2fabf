"""Histograms follow TF's bucketing: default limits, upper-bound buckets, collapsed empty runs."""

import sys

import numpy as np
import pytest

from tensorflux._internal.summary.histogram import default_bucket_limits, histogram_proto


def test_default_limits_grow_by_ten_percent_from_1e_12_and_mirror():
    limits = default_bucket_limits()
    positive = limits[limits > 0]
    assert positive[0] == 1e-12 and positive[-1] == sys.float_info.max
    assert positive[-2] < 1e20 <= positive[-2] * 1.1
    np.testing.assert_allclose(positive[1:-1] / positive[:-2], 1.1, rtol=1e-12)
    np.testing.assert_array_equal(limits, -limits[::-1])
    assert np.count_nonzero(limits == 0.0) == 1 and np.all(np.diff(limits) > 0)


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).normal(size=1000),
    np.random.default_rng(1).uniform(-1e6, 1e6, size=257),
    np.array([0.0, 0.0, 1.0, -1.0, 1e-13, 3.5]),
    np.array([7.25]),
])
def test_histogram_counts_each_value_in_its_bucket(values):
    proto = histogram_proto(values)
    assert (proto.num, proto.min, proto.max) == (values.size, values.min(), values.max())
    assert proto.sum == pytest.approx(values.sum()) and proto.sum_squares == pytest.approx((values ** 2).sum())
    limits = default_bucket_limits()
    bucket_limit, bucket = np.array(proto.bucket_limit), np.array(proto.bucket)
    assert bucket.sum() == values.size
    for limit, count in zip(bucket_limit, bucket):
        index = int(np.searchsorted(limits, limit))
        lower = limits[index - 1] if index else -np.inf
        if count:  # a kept non-empty bucket is exactly one default bucket
            assert count == np.count_nonzero((values >= lower) & (values < limit))
    # Empty runs collapse, so no two empty buckets are adjacent.
    assert not np.any((bucket[1:] == 0) & (bucket[:-1] == 0))


def test_empty_histogram_keeps_tf_initial_range():
    proto = histogram_proto(np.zeros([0]))
    assert (proto.num, proto.min, proto.max) == (0, sys.float_info.max, -sys.float_info.max)
    assert list(proto.bucket_limit) == [sys.float_info.max] and list(proto.bucket) == [0]


@pytest.mark.parametrize("bad, message", [(np.nan, "Nan"), (np.inf, "Infinity"), (-np.inf, "Infinity")])
def test_non_finite_values_are_refused_naming_the_summary(bad, message):
    with pytest.raises(ValueError, match=f"{message} in summary histogram for: weights"):
        histogram_proto(np.array([1.0, bad]), "weights")
