"""Window geometry shared by the convolution and pooling kernels: TF Lite's SAME/VALID padding, patch views, and
:class:`Windows`, which keeps one operator's padded input and patch matrix between invokes.

Example:
    >>> from tensorflux_mobile.windows import out_size_and_pad
    >>> out_size_and_pad(28, 5, 1, 1, "SAME"), out_size_and_pad(28, 5, 1, 1, "VALID")
    ((28, 2), (24, 0))
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

# Patch matrices are built this many bytes at a time, so a big batch never needs one huge im2col buffer.
CHUNK_BYTES = 48 << 20
# Inputs with fewer channels than this build the patch matrix transposed ([KH*KW*C, N*OH*OW], which BLAS takes
# as well): the copy then runs along output columns (long runs) rather than along C (runs of 1-3 elements),
# 4x faster for the MNIST CNN's 1-channel input.
TRANSPOSE_BELOW_C = 4
# Pools reduce tap by tap (one whole-array maximum or sum per tap) up to this many taps; above it (global
# pooling) one reduction over the window view has fewer, larger steps.
TAP_LOOP_MAX = 16


def out_size_and_pad(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """Output length and padding before the first element along one spatial axis (TF Lite's rule)."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        out = (size + stride - 1) // stride
    else:
        out = (size - effective + stride) // stride
    total = max((out - 1) * stride + effective - size, 0)
    return out, total // 2


def _geometry(h: int, w: int, kh: int, kw: int, opts: dict) -> tuple[int, int, tuple, tuple]:
    """Output height and width, and the (before, after) padding of each spatial axis."""
    sh, sw = opts.get("stride_h", 1), opts.get("stride_w", 1)
    dh, dw = opts.get("dilation_h", 1), opts.get("dilation_w", 1)
    oh, ph = out_size_and_pad(h, kh, sh, dh, opts.get("padding", "SAME"))
    ow, pw = out_size_and_pad(w, kw, sw, dw, opts.get("padding", "SAME"))
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    return oh, ow, (ph, max(need_h - ph - h, 0)), (pw, max(need_w - pw - w, 0))


def pad_spatial(x: np.ndarray, kh: int, kw: int, opts: dict, value: float = 0) -> tuple[np.ndarray, int, int]:
    """``x`` (NHWC) padded for the window; returns it with the output height and width."""
    oh, ow, pad_h, pad_w = _geometry(x.shape[1], x.shape[2], kh, kw, opts)
    if any(pad_h + pad_w):
        x = np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)), constant_values=value)
    return x, oh, ow


def patches(x: np.ndarray, kh: int, kw: int, oh: int, ow: int, opts: dict) -> np.ndarray:
    """A read-only view [N, OH, OW, KH, KW, C] of the windows of padded ``x`` (no copy)."""
    sn, sy, sx, sc = x.strides
    sh, sw = opts.get("stride_h", 1), opts.get("stride_w", 1)
    dh, dw = opts.get("dilation_h", 1), opts.get("dilation_w", 1)
    return as_strided(x, (x.shape[0], oh, ow, kh, kw, x.shape[3]), (sn, sy * sh, sx * sw, sy * dh, sx * dw, sc),
                      writeable=False)


class Windows:
    """One operator's windows over its NHWC input, with buffers kept between invokes.

    The padded input lives in a buffer whose border is filled with ``pad_value`` once (per input shape), so
    each invoke writes only the interior; the patch matrix [N*OH*OW, KH*KW*C] is one strided copy of the
    window view into a buffer of ``dtype`` (im2col; transposed in memory for inputs of few channels), and a
    1x1, stride-1 window is the input itself.

    Example:
        >>> import numpy as np
        >>> from tensorflux_mobile.windows import Windows
        >>> win = Windows(2, 2, {"padding": "VALID"}, 0, np.float32)
        >>> win.columns(np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)).tolist()
        [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """

    def __init__(self, kh: int, kw: int, opts: dict, pad_value: float, dtype: np.dtype) -> None:
        self.kh, self.kw, self.opts, self.pad_value, self.dtype = kh, kw, opts, pad_value, np.dtype(dtype)
        self.pointwise = (kh == kw == 1 and opts.get("stride_h", 1) == opts.get("stride_w", 1) == 1)
        self._shape: tuple | None = None

    def _prepare(self, shape: tuple) -> None:
        n, h, w, c = shape
        self.oh, self.ow, pad_h, pad_w = _geometry(h, w, self.kh, self.kw, self.opts)
        self._interior = None
        if any(pad_h + pad_w):
            self._padded = np.full((n, h + sum(pad_h), w + sum(pad_w), c), self.pad_value, self.dtype)
            self._interior = self._padded[:, pad_h[0]:pad_h[0] + h, pad_w[0]:pad_w[0] + w]
        self._cols: np.ndarray | None = None
        self._shape = shape

    def padded(self, x: np.ndarray) -> np.ndarray:
        """``x`` as ``dtype``, padded for the window (in the kept buffer; valid until the next call)."""
        if x.shape != self._shape:
            self._prepare(x.shape)
        if self._interior is None:
            return x.astype(self.dtype, copy=False)
        np.copyto(self._interior, x, casting="same_kind")
        return self._padded

    def view(self, x: np.ndarray) -> np.ndarray:
        """The window view [N, OH, OW, KH, KW, C] of padded ``x`` (read-only, over the kept buffer)."""
        padded = self.padded(x)
        return patches(padded, self.kh, self.kw, self.oh, self.ow, self.opts)

    def columns(self, x: np.ndarray) -> np.ndarray:
        """The patch matrix [N*OH*OW, KH*KW*C] of ``x`` (in the kept buffer; valid until the next call)."""
        if self.pointwise:
            if x.shape != self._shape:
                self._prepare(x.shape)
            return x.reshape(-1, x.shape[3]).astype(self.dtype, copy=False)
        view = self.view(x)
        k = self.kh * self.kw * x.shape[3]
        if x.shape[3] < TRANSPOSE_BELOW_C:
            view = view.transpose(3, 4, 5, 0, 1, 2)
        if self._cols is None or self._cols.shape != view.shape:
            self._cols = np.empty(view.shape, self.dtype)
        np.copyto(self._cols, view)
        return self._cols.reshape(k, -1).T if x.shape[3] < TRANSPOSE_BELOW_C else self._cols.reshape(-1, k)

    def conv(self, x: np.ndarray, product: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``product(patch matrix)`` ([rows, O]) as [N, OH, OW, O], the batch taken in chunks of CHUNK_BYTES."""
        n, h, w, c = x.shape
        oh, ow, _, _ = _geometry(h, w, self.kh, self.kw, self.opts)
        rows = max(1, CHUNK_BYTES // max(1, oh * ow * self.kh * self.kw * c * self.dtype.itemsize))
        if n <= rows:
            out = product(self.columns(x))
        else:
            out = np.concatenate([product(self.columns(x[start:start + rows])) for start in range(0, n, rows)])
        return out.reshape(n, oh, ow, out.shape[-1])


def reduce_windows(view: np.ndarray, ufunc: np.ufunc, dtype: np.dtype | None = None) -> np.ndarray:
    """``ufunc`` (np.maximum or np.add) over the KH, KW axes of a window view: [N, OH, OW, C].

    Tap by tap for small windows (one whole-array step each, where a 6-D reduction walks the view element
    by element), else one reduction. ``dtype`` is the accumulator's (np.add on small integers needs a wider one).

    Example:
        >>> import numpy as np
        >>> from tensorflux_mobile.windows import patches, reduce_windows
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
        >>> v = patches(x, 2, 2, 2, 2, {"stride_h": 2, "stride_w": 2})
        >>> reduce_windows(v, np.maximum)[..., 0].tolist()
        [[[5.0, 7.0], [13.0, 15.0]]]
    """
    kh, kw = view.shape[3], view.shape[4]
    if kh * kw > TAP_LOOP_MAX:
        return ufunc.reduce(view, axis=(3, 4), dtype=dtype)
    out = np.array(view[:, :, :, 0, 0, :], dtype=dtype or view.dtype)
    for i in range(kh):
        for j in range(kw):
            if i or j:
                ufunc(out, view[:, :, :, i, j, :], out=out)
    return out
