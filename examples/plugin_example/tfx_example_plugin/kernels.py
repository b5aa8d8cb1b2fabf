"""cpu kernel of Swish."""

from __future__ import annotations

import numpy as np


def swish(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows, and e/(1+e) keeps full relative precision for large negative x.
    e = np.exp(-np.abs(x))
    sigmoid = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return (x * sigmoid).astype(x.dtype, copy=False)
