"""The BLAS thread cap ``invoke`` runs under: core's counted, process-wide one, shared with the cpu plugin.

A mobile model's products are small (the MNIST CNN's largest, 196x800 by 800x64, takes 0.2 ms on one core),
too small for OpenBLAS's thread pool to pay, and that pool stalls on a busy machine (see
``tensorflux.extend.blas_thread_cap``). Sharing core's cap means an interpreter invoked while the cpu plugin
holds its own single-threaded section can never restore the count under it.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.blas_threads import capped
    >>> with capped(1):
    ...     float((np.ones((2, 2)) @ np.ones(2)).sum())
    4.0
"""

from __future__ import annotations

from tensorflux.extend import blas_thread_cap as capped, openblas_thread_setter

__all__ = ["capped", "openblas_thread_setter"]
