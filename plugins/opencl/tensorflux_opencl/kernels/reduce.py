"""Reductions along any axes: Sum, Mean, Max, Min, Prod, Any, All, ArgMax, ArgMin, BiasAddGrad, L2Loss.

The input is viewed as ``[outer, red, inner]`` (reduced axes in the middle); axes that are not one
contiguous run are first moved to the end with a transpose. Each work-item reduces one chunk of ``red``
for one (outer, inner) position; long reductions take two launches (chunks, then the partial results),
which keeps the work spread over the cores and float32 sums accurate.
"""

from __future__ import annotations

import numpy as np

from tensorflux.extend import host_array, host_value, on_host, reduction_axes, reduction_layout

from ..device import ctype
from ._common import i32, launch_1d
from .array import permuted_copy
from .elementwise import BOOL, FLOAT, INT, kind_of

CHUNK = 256  # elements one work-item reduces before a second pass combines the chunks

REDUCERS = {  # name: (initial value, combine acc with v, kinds)
    "sum": ("0", "acc + v", FLOAT + INT), "sumsq": ("0", "acc + v * v", FLOAT), "prod": ("1", "acc * v", FLOAT + INT),
    "max": ("LOWEST", "(v > acc || ISNAN(v)) ? v : acc", FLOAT + INT),
    "min": ("HIGHEST", "(v < acc || ISNAN(v)) ? v : acc", FLOAT + INT),
    "any": ("0", "acc || v", BOOL), "all": ("1", "acc && v", BOOL),
}
_LIMITS = {"float": ("-INFINITY", "INFINITY"), "double": ("-INFINITY", "INFINITY"), "int": ("INT_MIN", "INT_MAX"),
           "long": ("LONG_MIN", "LONG_MAX"), "uchar": ("0", "1")}


def _source(dtype: np.dtype) -> str:
    t = ctype(dtype)
    kind = kind_of(dtype)
    low, high = _LIMITS[t]
    final = "(div ? (T)(acc / (T)div) : (T)(acc * (T)scale))" if kind == FLOAT else "(T)(div ? acc / div : acc)"
    text = (f"typedef {t} T;\n#define LOWEST {low}\n#define HIGHEST {high}\n"
            f"#define ISNAN(v) {'((v) != (v))' if kind == FLOAT else '0'}\n")
    for name, (init, combine, kinds) in REDUCERS.items():
        if kind not in kinds:
            continue
        text += f"""
__kernel void r_{name}(__global T* z, __global const T* a, int n, int red, int inner, int parts, int chunk,
                     float scale, int div) {{
  int i = get_global_id(0); if (i >= n) return;
  int c = i % inner; int t = i / inner; int p = t % parts; int o = t / parts;
  int k0 = p * chunk; int k1 = min(red, k0 + chunk);
  __global const T* row = a + (size_t)o * red * inner + c;
  T acc = {init};
  for (int k = k0; k < k1; k++) {{ T v = row[(size_t)k * inner]; acc = {combine}; }}
  z[i] = {final};
}}
"""
    if kind != BOOL:
        for suffix, out in (("i", "int"), ("l", "long")):
            for name, better in (("argmax", "v > best"), ("argmin", "v < best")):
                text += f"""
__kernel void {name}_{suffix}(__global {out}* z, __global const T* a, int n, int red, int inner) {{
  int i = get_global_id(0); if (i >= n) return;
  int c = i % inner; int o = i / inner;
  __global const T* row = a + (size_t)o * red * inner + c;
  T best = row[0]; int at = 0;
  for (int k = 1; k < red; k++) {{
    T v = row[(size_t)k * inner];
    if (({better} || ISNAN(v)) && !ISNAN(best)) {{ best = v; at = k; }}
  }}
  z[i] = at;
}}
"""
    return text


def program(device, dtype):
    """The reduction program for ``dtype`` on ``device``."""
    dtype = np.dtype(dtype)
    return device.kernels(("reduce", dtype), lambda: _source(dtype))


def _axes(x, axes) -> list[int]:
    raw = [int(a) for a in np.reshape(host_value(axes), -1)] if not isinstance(axes, (list, tuple)) else list(axes)
    return reduction_axes(x.shape, raw)


def layout(x, axes: list[int]) -> tuple:
    """(x or a transposed copy, outer, red, inner) so that ``axes`` form the middle of ``[outer, red, inner]``.

    Example:
        >>> layout.__name__
        'layout'
    """
    run = reduction_layout(x.shape, axes)
    if run is not None:
        return (x, *run)
    kept = [i for i in range(x.ndim) if i not in axes]
    perm = kept + list(axes)
    moved = permuted_copy(x, perm)
    outer = int(np.prod([x.shape[a] for a in kept], dtype=np.int64))
    return moved, outer, int(np.prod([x.shape[a] for a in axes], dtype=np.int64)), 1


def reduce(name: str, x, axes: list[int], keep_dims: bool, scale: float = 1.0, div: int = 0, final: str = ""):
    """Reduce ``x`` over ``axes`` with reducer ``name`` (see ``REDUCERS``); ``final`` names the second pass.

    Example:
        >>> reduce.__name__
        'reduce'
    """
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keep_dims else tuple(
        d for i, d in enumerate(x.shape) if i not in axes)
    dev = x.device
    src, outer, red, inner = layout(x, axes)
    prog = program(dev, x.dtype)
    parts = max(1, -(-red // CHUNK)) if red > 2 * CHUNK else 1
    out = dev.empty(out_shape, x.dtype)
    n = outer * inner
    if n == 0:
        return out
    if parts == 1:
        launch_1d(dev, getattr(prog, "r_" + name), n, out.buffer, src.buffer, i32(n), i32(red), i32(inner), i32(1),
                  i32(max(red, 1)), np.float32(scale), i32(div))
        return out
    partial = dev.empty((outer, parts, inner), x.dtype)
    m = outer * parts * inner
    launch_1d(dev, getattr(prog, "r_" + name), m, partial.buffer, src.buffer, i32(m), i32(red), i32(inner), i32(parts),
              i32(CHUNK), np.float32(1.0), i32(0))
    launch_1d(dev, getattr(prog, "r_" + (final or name)), n, out.buffer, partial.buffer, i32(n), i32(parts), i32(inner),
              i32(1), i32(parts), np.float32(scale), i32(div))
    return out


_HOST = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "any": np.any, "all": np.all}


def _make(name: str):
    def kernel(x, axes, *, keep_dims):
        ax = _axes(x, axes)
        if on_host(x):
            return host_array(x.device, _HOST[name](x.host, axis=tuple(ax), keepdims=keep_dims), x.dtype)
        if not ax:
            return x
        return reduce(name, x, ax, keep_dims)

    kernel.__name__ = kernel.__qualname__ = f"reduce_{name}"
    return kernel


def reduce_mean(x, axes, *, keep_dims):
    ax = _axes(x, axes)
    if not ax:
        return x
    count = int(np.prod([x.shape[a] for a in ax], dtype=np.int64))
    # A mean divides by the count (exact for float64); an empty mean is 0 * inf = nan, as numpy's.
    return reduce("sum", x, ax, keep_dims, scale=float("inf") if count == 0 else 1.0, div=count)


def _arg(name: str):
    def kernel(x, dimension, *, output_type):
        ax = _axes(x, dimension)[0] if x.ndim else 0
        if x.ndim and x.shape[ax] == 0:
            raise ValueError(f"{name}: cannot reduce over an empty dimension {ax} of shape {list(x.shape)}")
        src, outer, red, inner = layout(x, [ax])
        dev = x.device
        out = dev.empty(tuple(d for i, d in enumerate(x.shape) if i != ax), output_type.np_dtype)
        n = outer * inner
        suffix = "l" if np.dtype(output_type.np_dtype).itemsize == 8 else "i"
        launch_1d(dev, getattr(program(dev, x.dtype), f"{name}_{suffix}"), n, out.buffer, src.buffer, i32(n),
                  i32(red), i32(inner))
        return out

    kernel.__name__ = kernel.__qualname__ = name
    return kernel


def bias_add_grad(g, *, data_format):
    axis = 1 if data_format.startswith("NC") and g.ndim >= 3 else g.ndim - 1
    return reduce("sum", g, [a for a in range(g.ndim) if a != axis], False)


def l2_loss(t):
    return reduce("sumsq", t, list(range(t.ndim)), False, scale=0.5, final="sum")


def register(registrar, dtypes: dict) -> None:
    """Register the reductions: numeric ones for float and int dtypes, Any/All for bool."""
    numeric = dtypes[FLOAT] + dtypes[INT]
    for op, name in (("Sum", "sum"), ("Prod", "prod"), ("Max", "max"), ("Min", "min")):
        registrar.kernel(op, "opencl", _make(name), dtypes=numeric)
    registrar.kernel("Any", "opencl", _make("any"), dtypes=None)
    registrar.kernel("All", "opencl", _make("all"), dtypes=None)
    registrar.kernel("Mean", "opencl", reduce_mean, dtypes=numeric)
    registrar.kernel("ArgMax", "opencl", _arg("argmax"), dtypes=numeric)
    registrar.kernel("ArgMin", "opencl", _arg("argmin"), dtypes=numeric)
    registrar.kernel("BiasAddGrad", "opencl", bias_add_grad, dtypes=numeric)
    registrar.kernel("L2Loss", "opencl", l2_loss, dtypes=dtypes[FLOAT])
