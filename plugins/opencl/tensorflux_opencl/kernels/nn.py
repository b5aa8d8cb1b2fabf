"""Softmax, log-softmax and the softmax cross-entropy ops, one work-item per row of the last axis.

Out-of-range sparse labels raise (naming the value) when the labels are also on the host, which they are
when fed at up to ``host_copy_limit`` elements; otherwise that row's loss and gradient are NaN, as on
TensorFlow's GPU kernels.
"""

from __future__ import annotations

import numpy as np

from ..device import ctype
from ._common import i32, launch_1d


def _source(dtype: np.dtype) -> str:
    t = ctype(dtype)
    head = """
  int r = get_global_id(0); if (r >= rows) return;
  __global const T* x = f + (size_t)r * C;
  T m = -INFINITY; for (int j = 0; j < C; j++) m = x[j] > m ? x[j] : m;
  T s = 0; for (int j = 0; j < C; j++) s += exp(x[j] - m);
  T ls = log(s);
"""
    text = f"typedef {t} T;\n"
    text += f"""
__kernel void softmax(__global T* z, __global const T* f, int rows, int C, int logs) {{ {head}
  __global T* o = z + (size_t)r * C;
  if (logs) for (int j = 0; j < C; j++) o[j] = x[j] - m - ls;
  else for (int j = 0; j < C; j++) o[j] = exp(x[j] - m) / s;
}}
__kernel void xent(__global T* loss, __global T* back, __global const T* f, __global const T* y, int rows, int C) {{
  {head}
  __global const T* yr = y + (size_t)r * C; __global T* o = back + (size_t)r * C;
  T total = 0;
  for (int j = 0; j < C; j++) {{ T lp = x[j] - m - ls; total -= yr[j] * lp; o[j] = exp(lp) - yr[j]; }}
  loss[r] = total;
}}
"""
    for suffix, idx in (("i", "int"), ("l", "long")):
        text += f"""
__kernel void sparse_xent_{suffix}(__global T* loss, __global T* back, __global const T* f,
                                 __global const {idx}* labels, int rows, int C) {{ {head}
  {idx} label = labels[r]; __global T* o = back + (size_t)r * C;
  if (label < 0 || label >= C) {{ loss[r] = NAN; for (int j = 0; j < C; j++) o[j] = NAN; return; }}
  for (int j = 0; j < C; j++) o[j] = exp(x[j] - m - ls) - (j == label ? (T)1 : (T)0);
  loss[r] = -(x[label] - m - ls);
}}
"""
    return text


def program(device, dtype):
    """The softmax program for ``dtype`` on ``device``."""
    dtype = np.dtype(dtype)
    return device.kernels(("softmax", dtype), lambda: _source(dtype))


def _rows(x) -> tuple[int, int]:
    if x.ndim == 0:
        raise ValueError(f"softmax needs a tensor of rank >= 1, got shape {list(x.shape)}")
    c = x.shape[-1]
    return (x.size // c if c else 0), c


def _softmax(x, logs: int):
    rows, c = _rows(x)
    dev = x.device
    out = dev.empty(x.shape, x.dtype)
    launch_1d(dev, program(dev, x.dtype).softmax, rows, out.buffer, x.buffer, i32(rows), i32(c), i32(logs))
    return out


def softmax(logits):
    return _softmax(logits, 0)


def log_softmax(logits):
    return _softmax(logits, 1)


def softmax_xent(features, labels):
    if features.shape != labels.shape:
        raise ValueError(f"logits and labels must have the same shape, got logits {list(features.shape)} and labels "
                         f"{list(labels.shape)}")
    rows, c = _rows(features)
    dev = features.device
    loss, back = dev.empty(features.shape[:-1], features.dtype), dev.empty(features.shape, features.dtype)
    launch_1d(dev, program(dev, features.dtype).xent, rows, loss.buffer, back.buffer, features.buffer, labels.buffer,
              i32(rows), i32(c))
    return loss, back


def sparse_softmax_xent(features, labels):
    if features.ndim != 2:
        raise ValueError(f"logits must be 2-D [batch, classes], got shape {list(features.shape)}")
    batch, classes = features.shape
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape [{batch}] to match logits {list(features.shape)}, got "
                         f"{list(labels.shape)}")
    if labels.host is not None:
        bad = (labels.host < 0) | (labels.host >= classes)
        if bad.any():
            raise ValueError(f"Received a label value of {int(labels.host[bad][0])} which is outside the valid range "
                             f"of [0, {classes}). Label values: {' '.join(str(int(v)) for v in labels.host[:20])}"
                             f"{' ...' if labels.size > 20 else ''}")
    dev = features.device
    loss, back = dev.empty((batch,), features.dtype), dev.empty(features.shape, features.dtype)
    kernel = "sparse_xent_l" if labels.dtype.itemsize == 8 else "sparse_xent_i"
    launch_1d(dev, getattr(program(dev, features.dtype), kernel), batch, loss.buffer, back.buffer, features.buffer,
              labels.buffer, i32(batch), i32(classes))
    return loss, back


KERNELS = {
    "Softmax": softmax, "LogSoftmax": log_softmax, "SoftmaxCrossEntropyWithLogits": softmax_xent,
    "SparseSoftmaxCrossEntropyWithLogits": sparse_softmax_xent,
}


def register(registrar, dtypes: dict) -> None:
    """The softmax family for float dtypes."""
    registrar.kernels("opencl", KERNELS, dtypes=dtypes["f"])
