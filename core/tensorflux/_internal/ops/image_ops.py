"""Image ops of TF 1.x: bilinear and nearest-neighbor resizing (``align_corners``, ``half_pixel_centers``) with
their gradient ops, and ``SpaceToDepth`` / ``DepthToSpace``. Images are NHWC (``[batch, height, width, channels]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, constant_value, convert_to_tensor
from ..shapes import TensorShape
from .common import define, gradient

REAL = dt.NUMERIC
RESIZE_ATTRS = {"align_corners": ("bool", False), "half_pixel_centers": ("bool", False)}


def _check_resize_attrs(op: Any) -> None:
    if op.attrs["align_corners"] and op.attrs["half_pixel_centers"]:
        raise ValueError(f"{op.type} '{op.name}': align_corners and half_pixel_centers cannot both be True")


def _resized_shape(op: Any, image: TensorShape, size: Tensor) -> TensorShape:
    _check_resize_attrs(op)
    if image.rank not in (None, 4):
        raise ValueError(f"{op.type} '{op.name}': images must be 4-D [batch, height, width, channels], got {image}")
    if size.shape.rank is not None and size.shape.as_list() not in ([2], [None]):
        raise ValueError(f"{op.type} '{op.name}': size must be a vector of 2 elements, got shape {size.shape}")
    value = constant_value(size)
    hw = [None, None] if value is None else [int(v) for v in np.reshape(value, -1)]
    if value is not None and min(hw) <= 0:
        raise ValueError(f"{op.type} '{op.name}': size must be positive, got {hw}")
    batch, channels = (None, None) if image.rank is None else (image.dims[0], image.dims[3])
    return TensorShape([batch, *hw, channels])


def _resize_shape(op: Any) -> TensorShape:
    return _resized_shape(op, op.inputs[0].shape, op.inputs[1])


def _bilinear_grad_shape(op: Any) -> TensorShape:
    _check_resize_attrs(op)
    return op.inputs[1].shape


define("ResizeBilinear", ["images: T", "size: int32"], ["resized_images: float"],
       {"T": ("type", None, REAL), **RESIZE_ATTRS}, shape=_resize_shape)
define("ResizeBilinearGrad", ["grads: float", "original_image: T"], ["output: T"],
       {"T": ("type", None, dt.FLOATING), **RESIZE_ATTRS}, shape=_bilinear_grad_shape)
define("ResizeNearestNeighbor", ["images: T", "size: int32"], ["resized_images: T"],
       {"T": ("type", None, REAL), **RESIZE_ATTRS}, shape=_resize_shape)
define("ResizeNearestNeighborGrad", ["grads: T", "size: int32"], ["output: T"],
       {"T": ("type", None, (dt.uint8, dt.int8, dt.int32) + dt.FLOATING), **RESIZE_ATTRS}, shape=_resize_shape)


def _resize_attrs(op: Any) -> dict:
    return {"align_corners": op.attrs["align_corners"], "half_pixel_centers": op.attrs["half_pixel_centers"]}


@gradient("ResizeBilinear")
def _resize_bilinear_grad(op: Any, grad: Tensor) -> list:
    image = op.inputs[0]
    if not image.dtype.is_floating:  # TF gives integer images no gradient
        return [None, None]
    return [apply_op("ResizeBilinearGrad", grad, image, **_resize_attrs(op))[0], None]


@gradient("ResizeNearestNeighbor")
def _resize_nearest_grad(op: Any, grad: Tensor) -> list:
    from .base_array_ops import shape

    image = op.inputs[0]
    dims = image.shape.dims
    size = (np.array(dims[1:3], np.int32) if dims is not None and None not in dims[1:3]
            else shape(image)[1:3])
    return [apply_op("ResizeNearestNeighborGrad", grad, size, **_resize_attrs(op))[0], None]


def _space_depth_shape(op: Any) -> TensorShape:
    shape, bs = op.inputs[0].shape, op.attrs["block_size"]
    if bs < 2:
        raise ValueError(f"{op.type} '{op.name}': block_size must be at least 2, got {bs}")
    if shape.rank is None:
        return TensorShape(None)
    if shape.rank != 4:
        raise ValueError(f"{op.type} '{op.name}': input must be 4-D, got shape {shape}")
    nchw = op.attrs["data_format"] == "NCHW"
    b, c, h, w = (shape.dims[i] for i in ((0, 1, 2, 3) if nchw else (0, 3, 1, 2)))
    if op.type == "SpaceToDepth":
        for d, what in ((h, "height"), (w, "width")):
            if d is not None and d % bs:
                raise ValueError(f"SpaceToDepth '{op.name}': {what} {d} is not divisible by block_size {bs}")
        h, w, c = (None if h is None else h // bs), (None if w is None else w // bs), (None if c is None else c * bs * bs)
    else:
        if c is not None and c % (bs * bs):
            raise ValueError(f"DepthToSpace '{op.name}': depth {c} is not divisible by block_size**2 = {bs * bs}")
        h, w, c = (None if h is None else h * bs), (None if w is None else w * bs), (None if c is None else c // (bs * bs))
    return TensorShape([b, c, h, w] if nchw else [b, h, w, c])


for _name in ("SpaceToDepth", "DepthToSpace"):
    define(_name, ["input: T"], ["output: T"],
           {"T": "type", "block_size": "int", "data_format": ("string", "NHWC", ("NHWC", "NCHW"))},
           shape=_space_depth_shape)


@gradient("SpaceToDepth", "DepthToSpace")
def _space_depth_grad(op: Any, grad: Tensor) -> list:
    inverse = "DepthToSpace" if op.type == "SpaceToDepth" else "SpaceToDepth"
    return [apply_op(inverse, grad, block_size=op.attrs["block_size"], data_format=op.attrs["data_format"])[0]]


# -- Python wrappers ----------------------------------------------------------------------------------------
def _size(size: Any) -> Any:
    return size if isinstance(size, Tensor) else np.asarray(size, np.int32)


def resize_bilinear(images: Any, size: Any, align_corners: bool = False, name: str | None = None,
                    half_pixel_centers: bool = False) -> Tensor:
    """Resize NHWC ``images`` to ``size`` ([height, width]) by bilinear interpolation; the result is float32.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.image.resize_bilinear([[[[0.0], [2.0]]]], [1, 4]))[0, 0, :, 0]
        array([0., 1., 2., 2.], dtype=float32)
    """
    return apply_op("ResizeBilinear", images, _size(size), align_corners=bool(align_corners),
                    half_pixel_centers=bool(half_pixel_centers), name=name or "ResizeBilinear")[0]


def resize_nearest_neighbor(images: Any, size: Any, align_corners: bool = False, name: str | None = None,
                            half_pixel_centers: bool = False) -> Tensor:
    """Resize NHWC ``images`` to ``size`` ([height, width]) by taking the nearest pixel; the dtype is kept.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.image.resize_nearest_neighbor([[[[1], [2]]]], [1, 4]))[0, 0, :, 0]
        array([1, 1, 2, 2], dtype=int32)
    """
    return apply_op("ResizeNearestNeighbor", images, _size(size), align_corners=bool(align_corners),
                    half_pixel_centers=bool(half_pixel_centers), name=name or "ResizeNearestNeighbor")[0]


class ResizeMethod:
    """The ``method`` values of :func:`resize_images` (TF 1.x's ``tf.image.ResizeMethod``)."""

    BILINEAR = 0
    NEAREST_NEIGHBOR = 1
    BICUBIC = 2
    AREA = 3


def resize_images(images: Any, size: Any, method: int = ResizeMethod.BILINEAR, align_corners: bool = False,
                  preserve_aspect_ratio: bool = False, name: str | None = None) -> Tensor:
    """Resize 4-D (NHWC) or 3-D (HWC) ``images`` to ``size`` by ``method`` (bilinear or nearest neighbor).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.image.resize_images([[[1.0], [3.0]]], [1, 3], method=1))[0, :, 0]
        array([1., 1., 3.], dtype=float32)
    """
    from .shape_ops import expand_dims, squeeze

    if preserve_aspect_ratio:
        raise NotImplementedError("resize_images: preserve_aspect_ratio=True is not supported")
    resizers = {ResizeMethod.BILINEAR: resize_bilinear, ResizeMethod.NEAREST_NEIGHBOR: resize_nearest_neighbor}
    if method not in resizers:
        raise NotImplementedError(f"resize_images: method {method} is not supported (BILINEAR=0 and "
                                  f"NEAREST_NEIGHBOR=1 are)")
    with name_scope(name or "resize_images"):
        images = convert_to_tensor(images, name="images")
        if images.shape.rank not in (3, 4):
            raise ValueError(f"resize_images: images must be 3-D or 4-D, got shape {images.shape}")
        batched = images.shape.rank == 4
        x = images if batched else expand_dims(images, 0)
        out = resizers[method](x, size, align_corners=align_corners)
        return out if batched else squeeze(out, axis=[0])


def space_to_depth(input: Any, block_size: int, name: str | None = None,  # noqa: A002 - TF's name
                   data_format: str = "NHWC") -> Tensor:
    """Move each ``block_size`` x ``block_size`` block of pixels into the channels.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.space_to_depth([[[[1], [2]], [[3], [4]]]], 2)).tolist()
        [[[[1, 2, 3, 4]]]]
    """
    return apply_op("SpaceToDepth", input, block_size=int(block_size), data_format=data_format,
                    name=name or "SpaceToDepth")[0]


def depth_to_space(input: Any, block_size: int, name: str | None = None,  # noqa: A002 - TF's name
                   data_format: str = "NHWC") -> Tensor:
    """Move the channels into ``block_size`` x ``block_size`` blocks of pixels (the inverse of space_to_depth).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.depth_to_space([[[[1, 2, 3, 4]]]], 2)).tolist()
        [[[[1], [2]], [[3], [4]]]]
    """
    return apply_op("DepthToSpace", input, block_size=int(block_size), data_format=data_format,
                    name=name or "DepthToSpace")[0]
