"""Build serialized ``Summary`` protos from host arrays, as TF 1.x's summary kernels do.

Every device's summary kernels produce the same bytes, so the encoding lives here and device plugins
reach it through ``tensorflux.extend``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...proto import summary_pb2
from ..serialization.tensor_proto import to_tensor_proto
from .histogram import histogram_proto
from .png import encode_png
from .wav import encode_wav

DEFAULT_BAD_COLOR = np.array([255, 0, 0, 255], np.uint8)


def _text(value: Any) -> str:
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _out(summary: summary_pb2.Summary) -> np.ndarray:
    # A 0-d string tensor holds one bytes object.
    return np.array(summary.SerializeToString(), dtype=object)


def scalar_summary(tags: Any, values: Any, what: str = "ScalarSummary") -> np.ndarray:
    """One ``simple_value`` per element; ``tags`` and ``values`` have the same shape.

    Example:
        >>> import numpy as np
        >>> from tensorflux.proto import summary_pb2
        >>> s = summary_pb2.Summary.FromString(scalar_summary(np.array(b"loss", object), np.float32(0.5)).item())
        >>> s.value[0].tag, s.value[0].simple_value
        ('loss', 0.5)
    """
    tags, values = np.asarray(tags, dtype=object), np.asarray(values)
    if tags.shape != values.shape:
        raise ValueError(f"{what}: tags and values not the same shape: {list(tags.shape)} != {list(values.shape)}")
    summary = summary_pb2.Summary()
    for tag, value in zip(tags.reshape(-1), values.reshape(-1)):
        summary.value.add(tag=_text(tag), simple_value=float(value))
    return _out(summary)


def histogram_summary(tag: Any, values: Any, what: str = "HistogramSummary") -> np.ndarray:
    """A histogram of every element of ``values`` over TF's default buckets.

    Example:
        >>> import numpy as np
        >>> from tensorflux.proto import summary_pb2
        >>> s = summary_pb2.Summary.FromString(histogram_summary(b"w", np.ones(4)).item())
        >>> s.value[0].histo.num
        4.0
    """
    summary = summary_pb2.Summary()
    summary.value.add(tag=_text(tag), histo=histogram_proto(np.asarray(values), what))
    return _out(summary)


def _to_uint8(image: np.ndarray, bad_color: np.ndarray) -> np.ndarray:
    """TF's ``NormalizeFloatImage``: scale by 255/max if nothing is negative, else by 127/max|v| around 128.

    A pixel with any non-finite channel is painted ``bad_color`` and left out of the range.
    """
    height, width, depth = image.shape
    pixels = image.reshape(-1, depth)
    finite = np.isfinite(pixels).all(axis=1)
    out = np.empty(pixels.shape, np.uint8)
    good = pixels[finite].astype(np.float32)
    lo = float(good.min()) if good.size else float("inf")
    hi = float(good.max()) if good.size else float("-inf")
    if lo < 0:
        biggest = max(abs(lo), abs(hi))
        scale, offset = (0.0 if biggest < 1e-6 else 127.0 / biggest), 128.0
    else:
        scale, offset = (0.0 if hi < 1e-6 else 255.0 / hi), 0.0
    calc = np.float64 if image.dtype == np.float64 else np.float32
    # C++'s float -> uint8 cast truncates; the affine map keeps every finite pixel within [0, 255].
    out[finite] = (pixels[finite].astype(calc) * calc(scale) + calc(offset)).astype(np.uint8)
    out[~finite] = bad_color[:depth]
    return out.reshape(height, width, depth)


def image_summary(tag: Any, tensor: Any, max_images: int = 3, bad_color: Any = None,
                  what: str = "ImageSummary") -> np.ndarray:
    """PNG-encode up to ``max_images`` images of a ``[batch, height, width, 1|3|4]`` tensor.

    Tags are ``tag/image`` when ``max_images`` is 1, else ``tag/image/0``, ``tag/image/1``...
    uint8 pixels are kept; float pixels are rescaled per image as TF does.

    Example:
        >>> import numpy as np
        >>> from tensorflux.proto import summary_pb2
        >>> s = summary_pb2.Summary.FromString(image_summary(b"x", np.zeros([2, 4, 5, 3], np.uint8)).item())
        >>> [(v.tag, v.image.height, v.image.width) for v in s.value]
        [('x/image/0', 4, 5), ('x/image/1', 4, 5)]
    """
    tensor = np.asarray(tensor)
    if tensor.ndim != 4 or tensor.shape[3] not in (1, 3, 4):
        raise ValueError(f"{what}: Tensor must be 4-D with last dim 1, 3, or 4, not {list(tensor.shape)}")
    if max_images < 1:
        raise ValueError(f"{what}: max_images must be at least 1, got {max_images}")
    bad = DEFAULT_BAD_COLOR if bad_color is None else np.asarray(bad_color, np.uint8).reshape(-1)
    if tensor.dtype != np.uint8 and bad.size < tensor.shape[3]:
        raise ValueError(f"{what}: bad_color needs at least {tensor.shape[3]} channels, got {bad.size}")
    base = _text(tag)
    summary = summary_pb2.Summary()
    for i in range(min(max_images, tensor.shape[0])):
        image = tensor[i] if tensor.dtype == np.uint8 else _to_uint8(tensor[i], bad)
        try:
            png = encode_png(image)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        # The tag depends on the number requested, not produced, so tags stay stable as batches shrink.
        value = summary.value.add(tag=f"{base}/image/{i}" if max_images > 1 else f"{base}/image")
        value.image.height, value.image.width, value.image.colorspace = image.shape
        value.image.encoded_image_string = png
    return _out(summary)


def audio_summary(tag: Any, tensor: Any, sample_rate: Any, max_outputs: int = 3,
                  what: str = "AudioSummaryV2") -> np.ndarray:
    """WAV-encode up to ``max_outputs`` clips of a ``[batch, frames, channels]`` (or ``[batch, frames]``) float tensor.

    Samples in [-1, 1] become 16-bit PCM; tags are ``tag/audio`` when ``max_outputs`` is 1, else
    ``tag/audio/0``, ``tag/audio/1``... The WAV header holds ``sample_rate`` rounded to an integer.

    Example:
        >>> import numpy as np
        >>> from tensorflux.proto import summary_pb2
        >>> s = summary_pb2.Summary.FromString(audio_summary(b"a", np.zeros([2, 100], np.float32), 8000.0).item())
        >>> [(v.tag, v.audio.num_channels, v.audio.length_frames, v.audio.content_type) for v in s.value]
        [('a/audio/0', 1, 100, 'audio/wav'), ('a/audio/1', 1, 100, 'audio/wav')]
    """
    tensor = np.asarray(tensor, np.float32)
    if tensor.ndim not in (2, 3):
        raise ValueError(f"{what}: Tensor must be 3-D or 2-D, got: {list(tensor.shape)}")
    if max_outputs < 1:
        raise ValueError(f"{what}: max_outputs must be at least 1, got {max_outputs}")
    rate = np.asarray(sample_rate, np.float32)
    if rate.ndim != 0:
        raise ValueError(f"{what}: sample_rate must be a scalar, got shape {list(rate.shape)}")
    rate = float(rate)
    # The header holds whole samples per second, rounded half to even (C's lrintf).
    whole = int(np.rint(rate)) if np.isfinite(rate) else 0
    if rate <= 0 or whole < 1:
        raise ValueError(f"{what}: sample_rate must be at least 1 sample per second, got {rate}")
    clips = tensor if tensor.ndim == 3 else tensor[:, :, None]
    base = _text(tag)
    summary = summary_pb2.Summary()
    for i in range(min(max_outputs, clips.shape[0])):
        try:
            wav = encode_wav(clips[i], whole)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        # As for images, the tag depends on the number requested, so tags stay stable as batches shrink.
        value = summary.value.add(tag=f"{base}/audio/{i}" if max_outputs > 1 else f"{base}/audio")
        value.audio.sample_rate = rate
        value.audio.num_channels, value.audio.length_frames = clips.shape[2], clips.shape[1]
        value.audio.encoded_audio_string = wav
        value.audio.content_type = "audio/wav"
    return _out(summary)


def tensor_summary(tag: Any, tensor: Any, serialized_summary_metadata: Any, dtype: Any = None,
                   what: str = "TensorSummaryV2") -> np.ndarray:
    """The whole tensor as a TensorProto (strings in ``string_val``) with the given SummaryMetadata.

    Example:
        >>> import numpy as np
        >>> from tensorflux.proto import summary_pb2
        >>> meta = summary_pb2.SummaryMetadata(plugin_data={"plugin_name": "text"}).SerializeToString()
        >>> out = tensor_summary(b"note", np.array(b"hi", object), np.array(meta, object))
        >>> summary_pb2.Summary.FromString(out.item()).value[0].tensor.string_val
        [b'hi']
    """
    metadata = summary_pb2.SummaryMetadata()
    raw = np.asarray(serialized_summary_metadata, dtype=object).item()
    try:
        metadata.ParseFromString(raw)
    except Exception as exc:  # protobuf's DecodeError is not exported under one stable name
        raise ValueError(f"{what}: serialized_summary_metadata is not a SummaryMetadata: {exc}") from None
    summary = summary_pb2.Summary()
    value = summary.value.add(tag=_text(tag), metadata=metadata)
    value.tensor.CopyFrom(to_tensor_proto(tensor, dtype))
    return _out(summary)


def merge_summary(*inputs: Any, what: str = "MergeSummary") -> np.ndarray:
    """Concatenate the values of serialized Summaries; a tag repeated across inputs is an error.

    Example:
        >>> import numpy as np
        >>> a, b = scalar_summary(np.array(b"a", object), 1.0), scalar_summary(np.array(b"b", object), 2.0)
        >>> from tensorflux.proto import summary_pb2
        >>> [v.tag for v in summary_pb2.Summary.FromString(merge_summary(a, b).item()).value]
        ['a', 'b']
    """
    merged, seen = summary_pb2.Summary(), set()
    for i, batch in enumerate(inputs):
        for raw in np.asarray(batch, dtype=object).reshape(-1):
            part = summary_pb2.Summary()
            try:
                part.ParseFromString(bytes(raw))
            except Exception:  # protobuf's DecodeError is not exported under one stable name
                raise ValueError(f"{what}: input {i} is not a serialized Summary") from None
            for value in part.value:
                if value.tag and value.tag in seen:
                    raise ValueError(f"{what}: Duplicate tag {value.tag} found in summary inputs")
                seen.add(value.tag)
                merged.value.add().CopyFrom(value)
    return _out(merged)
