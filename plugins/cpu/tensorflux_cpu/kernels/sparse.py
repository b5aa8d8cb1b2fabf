"""Row-sparse kernels: Unique, UnsortedSegmentSum and the Scatter* variable updates (duplicate rows accumulate)."""

from __future__ import annotations

import contextlib

import numpy as np


def unique(x, *, out_idx):
    values, first, inverse = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # TF lists the entries in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return values[order].astype(x.dtype, copy=False), rank[inverse.reshape(-1)].astype(out_idx.np_dtype)


def unsorted_segment_sum(data, segment_ids, num_segments):
    n, flat = int(num_segments), segment_ids.reshape(-1)
    rows = data.reshape((flat.size,) + data.shape[segment_ids.ndim:])
    kept = (flat >= 0) & (flat < n)  # TF drops the rows of out-of-range ids
    out = np.zeros((n,) + rows.shape[1:], dtype=data.dtype)
    np.add.at(out, flat[kept], rows[kept])
    return out


def _scatter(combine):
    def kernel(ref, indices, updates, *, use_locking):
        with ref.lock if use_locking else contextlib.nullcontext():
            value = np.array(ref.read(), copy=True)  # readers of the old value keep it
            flat = indices.reshape(-1)
            if flat.size and (flat.min() < 0 or flat.max() >= value.shape[0]):
                bad = flat[(flat < 0) | (flat >= value.shape[0])][0]
                raise IndexError(f"Scatter into variable '{ref.name}': index {bad} is outside [0, {value.shape[0]})")
            rows = np.asarray(updates, dtype=value.dtype).reshape((flat.size,) + value.shape[1:])
            if combine is None:
                value[flat] = rows
            else:
                combine.at(value, flat, rows)
            return ref.assign(value, True)

    return kernel


KERNELS = {"Unique": unique, "UnsortedSegmentSum": unsorted_segment_sum, "ScatterAdd": _scatter(np.add),
           "ScatterSub": _scatter(np.subtract), "ScatterUpdate": _scatter(None)}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
