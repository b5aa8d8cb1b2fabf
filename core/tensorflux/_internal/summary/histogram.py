"""Histograms as TensorFlow's ``HistogramSummary`` kernel builds them (``tensorflow/core/lib/histogram``)."""

from __future__ import annotations

import functools
import sys

import numpy as np

from ...proto import summary_pb2

DBL_MAX = sys.float_info.max


@functools.lru_cache(maxsize=1)
def default_bucket_limits() -> np.ndarray:
    """TF's default bucket limits: 1e-12 growing by 10% up to 1e20, mirrored, with 0 and ±DBL_MAX.

    Example:
        >>> limits = default_bucket_limits()
        >>> float(limits[0]) == -float(limits[-1]), 0.0 in limits
        (True, True)
    """
    positive = []
    v = 1.0e-12
    # Repeated multiplication (not 1.1 ** i) so every limit is the same double TF computes.
    while v < 1.0e20:
        positive.append(v)
        v *= 1.1
    positive.append(DBL_MAX)
    limits = np.array([-x for x in reversed(positive)] + [0.0] + positive, dtype=np.float64)
    limits.flags.writeable = False
    return limits


def histogram_proto(values: np.ndarray, what: str = "histogram") -> summary_pb2.HistogramProto:
    """A HistogramProto of ``values`` over the default buckets, runs of empty buckets collapsed as TF does.

    NaN or infinite values raise ``ValueError`` naming ``what``, as TF's kernel refuses them.

    Example:
        >>> import numpy as np
        >>> h = histogram_proto(np.array([1.0, 2.0, 2.0]))
        >>> h.num, h.min, h.max, sum(h.bucket)
        (3.0, 1.0, 2.0, 3.0)
    """
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    if np.isnan(flat).any():
        raise ValueError(f"Nan in summary histogram for: {what}")
    if np.isinf(flat).any():
        raise ValueError(f"Infinity in summary histogram for: {what}")
    limits = default_bucket_limits()
    proto = summary_pb2.HistogramProto(num=float(flat.size))
    if flat.size:
        proto.min, proto.max = float(flat.min()), float(flat.max())
        proto.sum, proto.sum_squares = float(flat.sum()), float(np.dot(flat, flat))
    else:
        # TF's empty histogram keeps its initial, inverted range.
        proto.min, proto.max = DBL_MAX, -DBL_MAX
    # std::upper_bound: bucket i holds limits[i-1] <= v < limits[i]; DBL_MAX itself lands in the last bucket.
    index = np.minimum(np.searchsorted(limits, flat, side="right"), limits.size - 1)
    counts = np.bincount(index, minlength=limits.size).astype(np.float64)
    # Each non-empty bucket is kept; a run of empty ones becomes one bucket ending at the run's last limit.
    keep = (counts > 0) | np.append(counts[1:] > 0, True)
    proto.bucket_limit.extend(limits[keep].tolist())
    proto.bucket.extend(counts[keep].tolist())
    return proto
