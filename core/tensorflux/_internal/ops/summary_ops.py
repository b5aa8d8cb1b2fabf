"""Summary ops (``tf.summary.*``): each yields a serialized ``Summary`` proto as a scalar string tensor.

Names and semantics follow TF 1.15: the op is named by the (cleaned) summary name in its own name
scope, its tag is that scope without the trailing slash (prefixed by ``family``), and it joins the
``SUMMARIES`` collection. None of them is differentiable.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, Iterator

import numpy as np

from .. import dtypes as dt
from ..graph import GraphKeys, Tensor, add_to_collection, get_collection, name_scope
from ..op_builder import apply_op, convert_to_tensor
from ..shapes import TensorShape
from .array_ops import constant
from .common import define, not_differentiable, scalar_shape

_LOG = logging.getLogger("tensorflux.summary")
_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w.]")
_REAL = dt.NUMERIC
_IMAGE = (dt.uint8, dt.float16, dt.float32, dt.float64)


def _scalar_summary_shape(op: Any) -> TensorShape:
    tags, values = op.inputs[0].shape, op.inputs[1].shape
    if tags.rank is not None and values.rank is not None and not tags.is_compatible_with(values):
        raise ValueError(f"tags and values must have the same shape, but got tags {tags} and values {values}")
    return TensorShape([])


def _image_summary_shape(op: Any) -> TensorShape:
    shape = op.inputs[1].shape
    if shape.rank is not None and (shape.rank != 4 or shape.dims[3] not in (None, 1, 3, 4)):
        raise ValueError(f"images must be 4-D [batch, height, width, channels] with 1, 3 or 4 channels, got {shape}")
    return TensorShape([])


def _audio_summary_shape(op: Any) -> TensorShape:
    shape, rate = op.inputs[1].shape, op.inputs[2].shape
    if shape.rank is not None and shape.rank not in (2, 3):
        raise ValueError(f"audio must be 2-D [batch, frames] or 3-D [batch, frames, channels], got {shape}")
    if rate.rank not in (None, 0):
        raise ValueError(f"sample_rate must be a scalar, got shape {rate}")
    return TensorShape([])


define("ScalarSummary", ["tags: string", "values: T"], ["summary: string"], {"T": ("type", None, _REAL)},
       shape=_scalar_summary_shape)
define("HistogramSummary", ["tag: string", "values: T"], ["summary: string"], {"T": ("type", "float32", _REAL)},
       shape=scalar_shape)
define("ImageSummary", ["tag: string", "tensor: T"], ["summary: string"],
       {"T": ("type", "float32", _IMAGE), "max_images": ("int", 3),
        "bad_color": ("tensor", np.array([255, 0, 0, 255], np.uint8))},
       shape=_image_summary_shape)
define("AudioSummaryV2", ["tag: string", "tensor: float", "sample_rate: float"], ["summary: string"],
       {"max_outputs": ("int", 3)}, shape=_audio_summary_shape)
define("TensorSummaryV2", ["tag: string", "tensor: T", "serialized_summary_metadata: string"], ["summary: string"],
       {"T": "type"}, shape=scalar_shape)
define("MergeSummary", ["*inputs: string"], ["summary: string"], {"N": "int"}, shape=scalar_shape)
not_differentiable("ScalarSummary", "HistogramSummary", "ImageSummary", "AudioSummaryV2", "TensorSummaryV2",
                   "MergeSummary")


def clean_tag(name: str | None) -> str | None:
    """Replace characters TensorBoard tags may not hold with ``_`` and drop leading slashes, as TF does.

    Example:
        >>> clean_tag("my loss")
        'my_loss'
    """
    if name is None:
        return None
    cleaned = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
    if cleaned != name:
        _LOG.info("Summary name %s is illegal; using %s instead.", name, cleaned)
    return cleaned


@contextlib.contextmanager
def summary_scope(name: str, family: str | None = None) -> Iterator[tuple[str, str]]:
    """Open the name scope of one summary; yields ``(tag, scope)`` as TF's ``summary_op_util.summary_scope``.

    Example:
        >>> import tensorflux as tf
        >>> with tf.Graph().as_default(), summary_scope("loss", family="train") as (tag, scope):
        ...     tag, scope
        ('train/train/loss', 'train/loss/')
    """
    name, family = clean_tag(name), clean_tag(family)
    if not name:
        raise ValueError(f"a summary needs a non-empty name, got {name!r}")
    with name_scope(name if family is None else f"{family}/{name}") as scope:
        # The family prefixes the tag once more so TensorBoard groups the value under that family's tab.
        tag = scope.rstrip("/") if family is None else f"{family}/{scope.rstrip('/')}"
        yield tag, scope


def _collect(value: Tensor, collections: list | None, default: list) -> None:
    for key in default if collections is None else collections:
        add_to_collection(key, value)


def scalar(name: str, tensor: Any, collections: list | None = None, family: str | None = None) -> Tensor:
    """A summary of one real scalar value, shown in TensorBoard's Scalars tab.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> s = tf.summary.scalar("loss", tf.constant(0.25))
        >>> s.op.type, s.op.name, s.dtype
        ('ScalarSummary', 'loss', tf.string)
    """
    with summary_scope(name, family) as (tag, scope):
        tensor = convert_to_tensor(tensor)
        if tensor.shape.rank not in (None, 0):
            raise ValueError(f"tf.summary.scalar '{tag}': expected a scalar tensor, got '{tensor.name}' of shape "
                             f"{tensor.shape}")
        value = apply_op("ScalarSummary", constant(tag, name="tags"), tensor, name=scope)[0]
    _collect(value, collections, [GraphKeys.SUMMARIES])
    return value


def histogram(name: str, values: Any, collections: list | None = None, family: str | None = None) -> Tensor:
    """A histogram of every element of ``values``, shown in TensorBoard's Histograms and Distributions tabs.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.summary.histogram("weights", tf.zeros([3, 4])).op.type
        'HistogramSummary'
    """
    with summary_scope(name, family) as (tag, scope):
        value = apply_op("HistogramSummary", constant(tag, name="tag"), values, name=scope)[0]
    _collect(value, collections, [GraphKeys.SUMMARIES])
    return value


def image(name: str, tensor: Any, max_outputs: int = 3, collections: list | None = None,
          family: str | None = None) -> Tensor:
    """Up to ``max_outputs`` PNG images from a ``[batch, height, width, 1|3|4]`` uint8 or float tensor.

    Float images are rescaled per image into [0, 255] as TF 1.x does (by 255/max when nothing is
    negative, else by 127/max|v| around 128).

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.summary.image("inputs", tf.zeros([2, 28, 28, 1]), max_outputs=2).op.get_attr("max_images")
        2
    """
    with summary_scope(name, family) as (tag, scope):
        value = apply_op("ImageSummary", constant(tag, name="tag"), tensor, max_images=int(max_outputs),
                         name=scope)[0]
    _collect(value, collections, [GraphKeys.SUMMARIES])
    return value


def audio(name: str, tensor: Any, sample_rate: Any, max_outputs: int = 3, collections: list | None = None,
          family: str | None = None) -> Tensor:
    """Up to ``max_outputs`` WAV clips from a ``[batch, frames, channels]`` or ``[batch, frames]`` float32 tensor.

    Samples in [-1, 1] are written as 16-bit PCM at ``sample_rate`` Hz (a float scalar or tensor); TensorBoard's
    Audio tab plays them.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> s = tf.summary.audio("voice", tf.zeros([2, 16000]), 16000, max_outputs=1)
        >>> s.op.type, s.op.get_attr("max_outputs")
        ('AudioSummaryV2', 1)
    """
    with summary_scope(name, family) as (tag, scope):
        sample_rate = convert_to_tensor(sample_rate, dtype=dt.float32, name="sample_rate")
        value = apply_op("AudioSummaryV2", constant(tag, name="tag"), tensor, sample_rate,
                         max_outputs=int(max_outputs), name=scope)[0]
    _collect(value, collections, [GraphKeys.SUMMARIES])
    return value


def tensor_summary(name: str, tensor: Any, summary_description: str | None = None, collections: list | None = None,
                   summary_metadata: Any = None, family: str | None = None, display_name: str | None = None) -> Tensor:
    """The whole tensor in a summary, with a ``SummaryMetadata`` naming the TensorBoard plugin that reads it.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.summary.tensor_summary("state", tf.constant([1, 2])).op.type
        'TensorSummaryV2'
    """
    from ...proto import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    if summary_metadata is not None:
        metadata.ParseFromString(summary_metadata.SerializeToString())
    if summary_description is not None:
        metadata.summary_description = summary_description
    if display_name is not None:
        metadata.display_name = display_name
    with summary_scope(name, family) as (tag, scope):
        value = apply_op("TensorSummaryV2", constant(tag, name="tag"), tensor,
                         constant(metadata.SerializeToString(), name="serialized_summary_metadata"), name=scope)[0]
    _collect(value, collections, [GraphKeys.SUMMARIES])
    return value


def text(name: str, tensor: Any, collections: list | None = None) -> Tensor:
    """A string tensor (of any shape) shown in TensorBoard's Text tab; markdown is rendered.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.summary.text("notes", tf.constant("step **one**")).op.type
        'TensorSummaryV2'
    """
    from ...proto import summary_pb2

    tensor = convert_to_tensor(tensor)
    if tensor.dtype != dt.string:
        raise ValueError(f"Expected tensor {tensor.name} to have dtype string, got {tensor.dtype.name}")
    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
    return tensor_summary(name, tensor, collections=collections, summary_metadata=metadata)


def merge(inputs: list, collections: list | None = None, name: str | None = None) -> Tensor:
    """One Summary holding the values of every summary in ``inputs``; a tag seen twice fails at run time.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> a, b = tf.summary.scalar("a", 1.0), tf.summary.scalar("b", 2.0)
        >>> tf.summary.merge([a, b]).op.type
        'MergeSummary'
    """
    inputs = [convert_to_tensor(t) for t in inputs]
    for t in inputs:
        if t.dtype != dt.string:
            raise TypeError(f"tf.summary.merge: input '{t.name}' must be a serialized Summary (string), "
                            f"got {t.dtype.name}")
    if not inputs:
        raise ValueError("tf.summary.merge needs at least one input summary, got none")
    with name_scope(name, "Merge"):
        value = apply_op("MergeSummary", inputs, name=name or "MergeSummary")[0]
    _collect(value, collections, [])
    return value


def merge_all(key: str = GraphKeys.SUMMARIES, scope: str | None = None, name: str | None = None) -> Tensor | None:
    """Merge every summary in collection ``key`` (optionally filtered by a ``scope`` regex); None if there are none.

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> tf.summary.merge_all() is None
        True
    """
    summaries = get_collection(key, scope)
    return merge(summaries, name=name) if summaries else None
