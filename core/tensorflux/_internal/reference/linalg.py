"""The ``Svd`` reference kernel, run on the host through the host adapter.

The array API's ``linalg`` extension is optional, so the kernel copies to the host and decomposes with numpy (LAPACK's
gesdd): every device gets it, and a device that runs it often overrides it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .host import host_kernel


def svd(a: np.ndarray, *, compute_uv: bool, full_matrices: bool) -> tuple:
    """TF's ``Svd``: ``(s, u, v)`` with ``a = u @ diag(s) @ v.T`` (v, not numpy's ``vh``); u and v empty without
    ``compute_uv``.

    Example:
        >>> s, u, v = svd(np.diag([1.0, 3.0]), compute_uv=False, full_matrices=False)
        >>> s.tolist(), u.shape
        ([3.0, 1.0], (0,))
    """
    a = np.asarray(a)
    m, n = a.shape[-2:]
    if a.size == 0:  # LAPACK refuses empty matrices: there is nothing to decompose
        p = min(m, n)
        s = np.zeros(a.shape[:-2] + (p,), a.dtype)
        if not compute_uv:
            return s, np.zeros((0,), a.dtype), np.zeros((0,), a.dtype)
        eye = np.zeros(a.shape[:-2] + (m, m if full_matrices else p), a.dtype)
        return s, eye, np.zeros(a.shape[:-2] + (n, n if full_matrices else p), a.dtype)
    if not compute_uv:
        s = np.linalg.svd(a, compute_uv=False)
        return s.astype(a.dtype, copy=False), np.zeros((0,), a.dtype), np.zeros((0,), a.dtype)
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return (s.astype(a.dtype, copy=False), u.astype(a.dtype, copy=False),
            np.swapaxes(vh, -1, -2).astype(a.dtype, copy=False))


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the linear-algebra ops, on any device through the host adapter (``xp`` is unused).

    Example:
        >>> import numpy as np
        >>> sorted(kernels(np))
        ['Svd']
    """
    return {"Svd": host_kernel(svd)}
