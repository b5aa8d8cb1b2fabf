"""Op-info entries of the summary ops, and the parser that turns a serialized ``Summary`` into comparable values.

A summary case fetches one serialized ``Summary``; ``parse_summary`` reads it into
``[(tag, field, values), ...]`` (the histogram's statistics and bucket counts, an image's size and
decoded pixels, an audio clip's rate, channels and frames and its decoded 16-bit samples, a tensor's
values), which the reference computes from the input with numpy.
"""

from __future__ import annotations

import io
import struct
import sys
import wave
import zlib
from typing import Any

import numpy as np

import tensorflux as tf
from tensorflux.extend import apply_op
from tensorflux.proto import summary_pb2

from .base import ALL, FLOATING, INDEX, NUMERIC, OpInfo

DBL_MAX = sys.float_info.max
_BY_ENUM = {d.enum: d for d in ALL}


def histogram_limits() -> np.ndarray:
    """TensorFlow's default histogram bucket limits: 1e-12 growing by 10% to 1e20, mirrored, with 0 and DBL_MAX.

    Example:
        >>> limits = histogram_limits()
        >>> float(limits[0]) == -float(limits[-1]), bool((limits[1:] > limits[:-1]).all())
        (True, True)
    """
    positive, v = [], 1.0e-12
    while v < 1.0e20:  # repeated multiplication gives the same doubles TensorFlow's C++ computes
        positive.append(v)
        v *= 1.1
    positive.append(DBL_MAX)
    return np.array([-x for x in reversed(positive)] + [0.0] + positive)


def _dense_buckets(histo: Any) -> np.ndarray:
    """The histogram's counts over every default bucket (a collapsed run of empty buckets expands to zeros)."""
    limits = histogram_limits()
    counts = np.zeros(limits.size)
    for limit, count in zip(histo.bucket_limit, histo.bucket):
        counts[np.searchsorted(limits, limit)] += count
    return counts


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced PNG as a ``[height, width, channels]`` uint8 array (every filter type).

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import image_summary
        >>> from tensorflux.proto import summary_pb2
        >>> raw = image_summary(b"x", np.full((1, 2, 3, 1), 7, np.uint8)).item()
        >>> decode_png(summary_pb2.Summary.FromString(raw).value[0].image.encoded_image_string).shape
        (2, 3, 1)
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("decode_png: not a PNG (bad signature)")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos: pos + 4]), data[pos + 4: pos + 8]
        body = data[pos + 8: pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or interlace:
        raise ValueError(f"decode_png: only 8-bit non-interlaced images are supported, got depth {depth}, "
                         f"interlace {interlace}")
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color]
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + stride)
    out = np.zeros((height, stride), np.int64)
    for r in range(height):
        kind, line = raw[r, 0], raw[r, 1:].astype(np.int64)
        up = out[r - 1] if r else np.zeros(stride, np.int64)
        for c in range(stride):
            left = out[r, c - channels] if c >= channels else 0
            corner = up[c - channels] if c >= channels and r else 0
            predictor = [0, left, up[c], (left + up[c]) // 2, _paeth(left, up[c], corner)][kind]
            out[r, c] = (line[c] + predictor) % 256
    return out.astype(np.uint8).reshape(height, width, channels)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _tensor_values(proto: Any) -> np.ndarray:
    """A TensorProto's values as numpy (the fields TensorFlow's make_tensor_proto writes)."""
    dtype = _BY_ENUM[proto.dtype]
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    if dtype is tf.string:
        return np.array(list(proto.string_val), dtype=object).reshape(shape)
    if proto.tensor_content:
        little_endian = np.frombuffer(proto.tensor_content, dtype.np_dtype.newbyteorder("<"))
        return little_endian.astype(dtype.np_dtype).reshape(shape)
    if dtype in (tf.float16, tf.bfloat16):
        values = np.array(list(proto.half_val), np.uint16).view(dtype.np_dtype)
    else:
        field = {"float32": "float_val", "float64": "double_val", "int64": "int64_val", "bool": "bool_val"}
        values = np.array(list(getattr(proto, field.get(dtype.name, "int_val"))), dtype.np_dtype)
    if values.size == 1 and int(np.prod(shape)) != 1:  # one value stands for every element
        return np.broadcast_to(values.reshape(()), shape)
    return values.reshape(shape)


def parse_summary(serialized: Any) -> list:
    """``[(tag, field, values), ...]`` of a serialized Summary, in order.

    Example:
        >>> import numpy as np
        >>> from tensorflux.extend import scalar_summary
        >>> [(tag, field, float(value)) for tag, field, value in
        ...  parse_summary(scalar_summary(np.array(b"loss", object), np.float32(0.5)))]
        [('loss', 'simple_value', 0.5)]
    """
    raw = serialized.item() if isinstance(serialized, np.ndarray) else serialized
    out: list = []
    for value in summary_pb2.Summary.FromString(bytes(raw)).value:
        kind = value.WhichOneof("value")
        if kind == "simple_value":
            out.append((value.tag, kind, np.float32(value.simple_value)))
        elif kind == "histo":
            h = value.histo
            out.append((value.tag, kind, np.array([h.min, h.max, h.num, h.sum, h.sum_squares])))
            out.append((value.tag, "buckets", _dense_buckets(h)))
        elif kind == "image":
            img = value.image
            out.append((value.tag, kind, np.array([img.height, img.width, img.colorspace])))
            out.append((value.tag, "pixels", decode_png(img.encoded_image_string)))
        elif kind == "audio":
            clip = value.audio
            out.append((value.tag, kind, np.array([clip.sample_rate, clip.num_channels, clip.length_frames])))
            out.append((value.tag, "samples", _wav_samples(clip.encoded_audio_string)))
        else:
            out.append((value.tag, value.metadata.plugin_data.plugin_name or "tensor", _tensor_values(value.tensor)))
    return out


def _wav_samples(data: bytes) -> np.ndarray:
    """A 16-bit PCM WAV file's samples as ``[frames, channels]`` int16, read with Python's wave module."""
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"expected 16-bit samples, got {8 * w.getsampwidth()}-bit")
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())


def _scalars(tags: list, values: np.ndarray) -> list:
    return [(t, "simple_value", np.float32(v)) for t, v in zip(tags, np.asarray(values).reshape(-1))]


def _histogram(tag: str, x: np.ndarray) -> list:
    flat = x.astype(np.float64).reshape(-1)
    if flat.size:
        stats = [flat.min(), flat.max(), flat.size, flat.sum(), np.dot(flat, flat)]
    else:  # TensorFlow's empty histogram keeps its initial, inverted range
        stats = [DBL_MAX, -DBL_MAX, 0, 0, 0]
    limits = histogram_limits()
    index = np.minimum(np.searchsorted(limits, flat, side="right"), limits.size - 1)
    return [(tag, "histo", np.array(stats, np.float64)),
            (tag, "buckets", np.bincount(index, minlength=limits.size).astype(np.float64))]


def _np_image_summary(x: np.ndarray, max_outputs: int, dtype: Any) -> list:
    """TensorFlow's image summary: float images scaled to uint8 per image (by 255/max when nothing is
    negative, else by 127/max|v| around 128), computed in float32 (float64 for float64 images)."""
    out = []
    for i in range(min(max_outputs, x.shape[0])):
        tag = f"img/image/{i}" if max_outputs > 1 else "img/image"
        image = x[i]
        if dtype is not tf.uint8:
            calc = np.float64 if dtype is tf.float64 else np.float32
            lo, hi = float(image.astype(np.float32).min()), float(image.astype(np.float32).max())
            if lo < 0:
                biggest = max(abs(lo), abs(hi))
                scale, offset = (0.0 if biggest < 1e-6 else 127.0 / biggest), 128.0
            else:
                scale, offset = (0.0 if hi < 1e-6 else 255.0 / hi), 0.0
            image = (image.astype(calc) * calc(scale) + calc(offset)).astype(np.uint8)
        out += [(tag, "image", np.array(image.shape)), (tag, "pixels", image.astype(np.uint8))]
    return out


def _np_audio_summary(x: np.ndarray, max_outputs: int) -> list:
    """TensorFlow's audio summary: each clip's samples times 2**15, rounded half away from zero and clipped to
    int16, at the given rate."""
    out = []
    clips = x if x.ndim == 3 else x[:, :, None]
    for i in range(min(max_outputs, clips.shape[0])):
        tag = f"snd/audio/{i}" if max_outputs > 1 else "snd/audio"
        scaled = clips[i].astype(np.float64) * 32768.0
        samples = np.clip(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5), -32768, 32767).astype(np.int16)
        out += [(tag, "audio", np.array([8000.0, clips.shape[2], clips.shape[1]])), (tag, "samples", samples)]
    return out


def _text(x: Any) -> Any:
    return tf.summary.text("notes", x)


SUMMARY = [
    OpInfo("ScalarSummary", lambda x: tf.summary.scalar("loss", x), lambda x: _scalars(["loss"], x), kind="summary",
           shapes=[()], differentiable=False),
    OpInfo("ScalarSummary", lambda x: apply_op("ScalarSummary", tf.constant(["a", "b", "c"]), x)[0],
           lambda x: _scalars(["a", "b", "c"], x), kind="summary", shapes=[(3,)], variant="tags",
           differentiable=False),
    OpInfo("HistogramSummary", lambda x: tf.summary.histogram("h", x), lambda x: _histogram("h", x), kind="summary",
           shapes=[(0,), (5,), (4, 3)], domain="wide", differentiable=False),
    OpInfo("ImageSummary", lambda x, max_outputs, dtype: tf.summary.image("img", x, max_outputs=max_outputs),
           _np_image_summary, kind="summary", dtypes=(tf.uint8,) + FLOATING[:1] + FLOATING[2:], dtype_kwarg=True,
           shapes=[(2, 3, 4, 3), (1, 2, 2, 1), (3, 2, 3, 4)], attrs=[{"max_outputs": 2}, {"max_outputs": 1}],
           differentiable=False),
    OpInfo("ImageSummary", lambda x, max_outputs, dtype: tf.summary.image("img", x, max_outputs=max_outputs),
           _np_image_summary, kind="summary", dtypes=FLOATING[:1] + FLOATING[2:], dtype_kwarg=True,
           shapes=[(2, 3, 4, 3)], attrs=[{"max_outputs": 3}], domain="positive", variant="non-negative",
           differentiable=False),
    OpInfo("AudioSummaryV2", lambda x, max_outputs: tf.summary.audio("snd", x, 8000.0, max_outputs=max_outputs),
           _np_audio_summary, kind="summary", dtypes=(tf.float32,), shapes=[(2, 6, 2), (3, 5)],
           attrs=[{"max_outputs": 2}, {"max_outputs": 1}], differentiable=False),
    OpInfo("TensorSummaryV2", _text, lambda x: [("notes", "text", x)], kind="summary", dtypes=(tf.string,),
           shapes=[(), (3,), (2, 2)], differentiable=False),
    OpInfo("TensorSummaryV2", lambda x: tf.summary.tensor_summary("t", x), lambda x: [("t", "tensor", x)],
           kind="summary", dtypes=NUMERIC + (tf.bool,), shapes=[(), (3,), (2, 2)], variant="numeric",
           differentiable=False),
    OpInfo("MergeSummary", lambda x, y: tf.summary.merge([tf.summary.scalar("a", x), tf.summary.scalar("b", y)]),
           lambda x, y: _scalars(["a"], x) + _scalars(["b"], y), kind="summary", dtypes=FLOATING + INDEX,
           shapes=[((), ())], differentiable=False),
]

INFOS = SUMMARY

__all__ = ["INFOS", "decode_png", "histogram_limits", "parse_summary"]
