"""Convolutions as im2col plus one gemm (cuBLAS through cupy's matmul), and the 2x2 max pool by reshaping.

cupy 14 has no cuDNN binding (``cupy.cudnn`` and ``cupyx.cudnn`` were removed), so every convolution is a
matrix product:

- Conv2D: the padded input's window taps, stacked into a column matrix [pixels, taps * channels], times the
  filter as a matrix [taps * channels, out channels].
- Conv2DBackpropFilter: the column matrix transposed times the output gradient [pixels, out channels].
- Conv2DBackpropInput: the output gradient times the filter transposed gives, per pixel and tap, what flows
  back to the input cell the tap read (col2im); each tap's block is added onto the padded input grid in place.
- _FusedConv2D: the product, then bias and relu in one elementwise program, then the 2x2 pool.

A 2x2 stride-2 max pool over an unpadded input is a reshape to [n, oh, 2, ow, 2, c] and a max over the two
window axes; its gradient routes each window's gradient to the window's first maximum in row-major order, as
TF's kernel. Other pools take core's reference kernels. float16 computes in float32.
"""

from __future__ import annotations

from typing import Any, Callable

from tensorflux.extend import WindowGeometry, conv2d_geometry, pool2d_geometry, reference_kernels, to_nhwc

from .. import codegen
from ..backend import ArrayBackend
from .common import add_into, computed, dtype_name, host_ints, like


def _nhwc(xp: Any, x: Any, data_format: str) -> Any:
    return xp.permute_dims(x, (0, 2, 3, 1)) if data_format == "NCHW" else x


def _from_nhwc(xp: Any, x: Any, data_format: str) -> Any:
    return xp.permute_dims(x, (0, 3, 1, 2)) if data_format == "NCHW" else x


def padded(xp: Any, x: Any, geo: WindowGeometry) -> Any:
    """The NHWC ``x`` inside a zero border of ``geo``'s padding.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import conv2d_geometry
        >>> geo = conv2d_geometry((1, 2, 2, 1), (3, 3, 1, 1), [1, 1, 1, 1], "SAME", None, "NHWC")
        >>> padded(np, np.ones((1, 2, 2, 1)), geo)[0, :, :, 0].tolist()
        [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    if not geo.padded:
        return x
    out = xp.zeros(geo.padded_shape(), dtype=x.dtype, device=x.device)
    out[:, geo.pt:geo.pt + geo.h, geo.pl:geo.pl + geo.w, :] = x
    return out


def im2col(xp: Any, x: Any, geo: WindowGeometry) -> Any:
    """The column matrix of the NHWC ``x``: [n * oh * ow, kh * kw * c], taps row-major, channels fastest.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import conv2d_geometry
        >>> geo = conv2d_geometry((1, 2, 2, 1), (2, 2, 1, 1), [1, 1, 1, 1], "VALID", None, "NHWC")
        >>> im2col(np, np.arange(4.0).reshape(1, 2, 2, 1), geo).tolist()
        [[0.0, 1.0, 2.0, 3.0]]
    """
    p = padded(xp, x, geo)
    blocks = [p[:, rows, cols, :] for _, _, rows, cols in geo.taps()]
    stacked = blocks[0] if len(blocks) == 1 else xp.stack(blocks, axis=3)
    return xp.reshape(stacked, (geo.n * geo.oh * geo.ow, geo.kh * geo.kw * geo.c))


def col2im(xp: Any, back: Any, geo: WindowGeometry) -> Any:
    """The transpose of :func:`im2col`: ``back`` [n * oh * ow, kh * kw * c] summed onto the input [n, h, w, c].

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import conv2d_geometry
        >>> geo = conv2d_geometry((1, 2, 2, 1), (2, 2, 1, 1), [1, 1, 1, 1], "SAME", None, "NHWC")
        >>> col2im(np, np.ones((4, 4)), geo)[0, :, :, 0].tolist()
        [[1.0, 2.0], [2.0, 4.0]]
    """
    taps = geo.kh * geo.kw
    back = xp.reshape(back, (geo.n, geo.oh, geo.ow, taps, geo.c))
    grid = xp.zeros(geo.padded_shape(), dtype=back.dtype, device=back.device)
    for t, (_, _, rows, cols) in enumerate(geo.taps()):
        add_into(xp, grid, (slice(None), rows, cols, slice(None)), back[:, :, :, t, :])
    return grid[:, geo.pt:geo.pt + geo.h, geo.pl:geo.pl + geo.w, :] if geo.padded else grid


def _empty(geo: WindowGeometry) -> bool:
    return geo.n * geo.oh * geo.ow == 0


def _pool2x2(geo: WindowGeometry) -> bool:
    """Whether ``geo`` is a 2x2 stride-2 window that needs no padding (the reshape fast path)."""
    return (geo.kh, geo.kw, geo.sh, geo.sw, geo.dh, geo.dw) == (2, 2, 2, 2, 1, 1) and not geo.padded


def max_pool_2x2(xp: Any, x: Any, geo: WindowGeometry) -> Any:
    """The 2x2 stride-2 max of the NHWC ``x`` (a VALID pool drops an odd last row or column, as TF).

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import pool2d_geometry
        >>> geo = pool2d_geometry((1, 2, 2, 1), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", "NHWC")
        >>> max_pool_2x2(np, np.arange(4.0).reshape(1, 2, 2, 1), geo).tolist()
        [[[[3.0]]]]
    """
    n, oh, ow, c = geo.n, geo.oh, geo.ow, geo.c
    windows = xp.reshape(x[:, :2 * oh, :2 * ow, :], (n, oh, 2, ow, 2, c))
    return xp.max(windows, axis=(2, 4))


def max_pool_grad_2x2(xp: Any, x: Any, g: Any, geo: WindowGeometry) -> Any:
    """The gradient of :func:`max_pool_2x2`: each window's ``g`` to its first maximum (row-major), zero elsewhere.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import pool2d_geometry
        >>> geo = pool2d_geometry((1, 2, 2, 1), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", "NHWC")
        >>> x = np.array([1.0, 3.0, 3.0, 0.0]).reshape(1, 2, 2, 1)
        >>> max_pool_grad_2x2(np, x, np.full((1, 1, 1, 1), 5.0), geo)[0, :, :, 0].tolist()
        [[0.0, 5.0], [0.0, 0.0]]
    """
    n, oh, ow, c = geo.n, geo.oh, geo.ow, geo.c
    windows = xp.reshape(x[:, :2 * oh, :2 * ow, :], (n, oh, 2, ow, 2, c))
    top = xp.max(windows, axis=(2, 4), keepdims=True)
    hits = xp.reshape(xp.permute_dims(windows == top, (0, 1, 3, 5, 2, 4)), (n, oh, ow, c, 4))
    first = xp.logical_and(hits, xp.cumulative_sum(xp.astype(hits, xp.int32), axis=4) == 1)
    zero = xp.zeros((), dtype=g.dtype, device=g.device)
    shares = xp.where(first, xp.reshape(g, (n, oh, ow, c, 1)), zero)
    dx = xp.reshape(xp.permute_dims(xp.reshape(shares, (n, oh, ow, c, 2, 2)), (0, 1, 4, 2, 5, 3)),
                    (n, 2 * oh, 2 * ow, c))
    if (2 * oh, 2 * ow) != (geo.h, geo.w):
        full = xp.zeros((n, geo.h, geo.w, c), dtype=g.dtype, device=g.device)
        full[:, :2 * oh, :2 * ow, :] = dx
        dx = full
    return dx


def bias_relu_program() -> codegen.Program:
    """``max(y + bias, 0)``: the bias and relu stages of a fused convolution, as one elementwise program.

    Example:
        >>> bias_relu_program().inputs
        ('y', 'bias')
    """
    y, bias = codegen.inputs("y", "bias")
    return codegen.Program("bias_relu", ("y", "bias"), {"out": codegen.maximum(y + bias, 0.0)})


def kernels(backend: ArrayBackend) -> dict[str, Callable]:
    """``{op: kernel}`` for the convolution and max-pool ops over ``backend``'s namespace.

    Example:
        >>> import numpy as np
        >>> from tensorflux_cuda.backend import ArrayBackend
        >>> sorted(kernels(ArrayBackend(np)))[:2]
        ['Conv2D', 'Conv2DBackpropFilter']
    """
    xp = backend.xp
    reference = reference_kernels(xp)
    bias_relu = bias_relu_program()

    def conv2d(x, f, *, strides, padding, explicit_paddings, data_format, dilations):
        xn = computed(xp, _nhwc(xp, x, data_format))
        geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
        o = f.shape[3]
        if _empty(geo):
            return like(xp, _from_nhwc(xp, xp.zeros(geo.out_shape(o), dtype=xn.dtype, device=xn.device),
                                       data_format), x)
        out = xp.matmul(im2col(xp, xn, geo), xp.reshape(computed(xp, f), (-1, o)))
        return like(xp, _from_nhwc(xp, xp.reshape(out, geo.out_shape(o)), data_format), x)

    def conv2d_backprop_input(input_sizes, f, dy, *, strides, padding, explicit_paddings, data_format, dilations):
        sizes = host_ints(input_sizes)
        geo = conv2d_geometry(to_nhwc(sizes, data_format), f.shape, strides, padding, explicit_paddings,
                              data_format, dilations)
        dyn = computed(xp, _nhwc(xp, dy, data_format))
        geo.check_out(dyn.shape)
        if _empty(geo) or geo.c == 0:
            return xp.zeros(tuple(sizes), dtype=dy.dtype, device=dy.device)
        o = f.shape[3]
        back = xp.matmul(xp.reshape(dyn, (-1, o)), xp.matrix_transpose(xp.reshape(computed(xp, f), (-1, o))))
        return like(xp, _from_nhwc(xp, col2im(xp, back, geo), data_format), dy)

    def conv2d_backprop_filter(x, filter_sizes, dy, *, strides, padding, explicit_paddings, data_format, dilations):
        f_shape = tuple(host_ints(filter_sizes))
        xn = computed(xp, _nhwc(xp, x, data_format))
        geo = conv2d_geometry(xn.shape, f_shape, strides, padding, explicit_paddings, data_format, dilations)
        dyn = computed(xp, _nhwc(xp, dy, data_format))
        geo.check_out(dyn.shape)
        if _empty(geo):
            return xp.zeros(f_shape, dtype=x.dtype, device=x.device)
        df = xp.matmul(xp.matrix_transpose(im2col(xp, xn, geo)), xp.reshape(dyn, (-1, f_shape[3])))
        return like(xp, xp.reshape(df, f_shape), x)

    def fused_conv2d(x, f, bias, *, strides, padding, explicit_paddings, data_format, dilations, activation,
                     pool=""):
        xn = computed(xp, _nhwc(xp, x, data_format))
        geo = conv2d_geometry(xn.shape, f.shape, strides, padding, explicit_paddings, data_format, dilations)
        o = f.shape[3]
        if tuple(bias.shape) != (o,):
            raise ValueError(f"bias of shape {list(bias.shape)} must have one entry per output channel ({o})")
        if pool and (geo.oh % 2 or geo.ow % 2 or data_format != "NHWC"):
            raise ValueError(f"a fused 2x2 max pool needs an NHWC output of even height and width, got "
                             f"{geo.oh}x{geo.ow} ({data_format})")
        if _empty(geo):
            y = xp.zeros(geo.out_shape(o), dtype=xn.dtype, device=xn.device) + xp.reshape(computed(xp, bias), (o,))
            y = xp.maximum(y, xp.zeros_like(y)) if activation == "Relu" else y
        else:
            rows = xp.matmul(im2col(xp, xn, geo), xp.reshape(computed(xp, f), (-1, o)))
            b = computed(xp, bias)
            if activation == "Relu":
                rows = backend.elementwise(bias_relu, dtype_name(rows.dtype))([rows, b])[0]
            else:
                rows = rows + b
            y = xp.reshape(rows, geo.out_shape(o))
        if pool:
            y = max_pool_2x2(xp, y, WindowGeometry(y.shape, (2, 2), (2, 2), (1, 1), "VALID"))
        return like(xp, _from_nhwc(xp, y, data_format), x)

    def max_pool(x, *, ksize, strides, padding, data_format):
        xn = _nhwc(xp, x, data_format)
        geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
        if not _pool2x2(geo) or _empty(geo):
            return reference["MaxPool"](x, ksize=ksize, strides=strides, padding=padding, data_format=data_format)
        return _from_nhwc(xp, max_pool_2x2(xp, xn, geo), data_format)

    def max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
        xn = _nhwc(xp, orig_input, data_format)
        geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
        if not _pool2x2(geo) or _empty(geo):
            return reference["MaxPoolGrad"](orig_input, orig_output, grad, ksize=ksize, strides=strides,
                                            padding=padding, data_format=data_format)
        g = _nhwc(xp, grad, data_format)
        geo.check_out(g.shape, "grad")
        return _from_nhwc(xp, max_pool_grad_2x2(xp, xn, g, geo), data_format)

    def fused_max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format, activation):
        dx = max_pool_grad(orig_input, orig_output, grad, ksize=ksize, strides=strides, padding=padding,
                           data_format=data_format)
        return xp.where(orig_input > 0, dx, xp.zeros_like(dx)) if activation == "Relu" else dx

    return {
        "Conv2D": conv2d, "Conv2DBackpropInput": conv2d_backprop_input, "Conv2DBackpropFilter": conv2d_backprop_filter,
        "_FusedConv2D": fused_conv2d, "MaxPool": max_pool, "MaxPoolGrad": max_pool_grad,
        "_FusedMaxPoolGrad": fused_max_pool_grad,
    }
