"""Linear-algebra kernels: Svd (LAPACK's gesdd through numpy), returning TF's v rather than numpy's vh."""

from __future__ import annotations

import numpy as np


def svd(a, *, compute_uv, full_matrices):
    m, n = a.shape[-2:]
    empty = np.zeros((0,), a.dtype)
    if a.size == 0:  # LAPACK refuses empty matrices
        p = min(m, n)
        s = np.zeros(a.shape[:-2] + (p,), a.dtype)
        if not compute_uv:
            return s, empty, empty
        return (s, np.zeros(a.shape[:-2] + (m, m if full_matrices else p), a.dtype),
                np.zeros(a.shape[:-2] + (n, n if full_matrices else p), a.dtype))
    if not compute_uv:
        return np.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False), empty, empty
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return s.astype(a.dtype, copy=False), u.astype(a.dtype, copy=False), np.swapaxes(vh, -1, -2).astype(a.dtype)


KERNELS = {"Svd": svd}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
