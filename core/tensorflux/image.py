"""``tf.image``: resizing (bilinear and nearest neighbor, TF 1.x's ``align_corners`` and ``half_pixel_centers``).

Example:
    >>> import tensorflux as tf
    >>> tf.Session().run(tf.image.resize_nearest_neighbor([[[[1], [2]]]], [1, 4])).reshape(-1)
    array([1, 1, 2, 2], dtype=int32)
"""

from ._internal.ops.image_ops import (
    ResizeMethod as ResizeMethod,
    resize_bilinear as resize_bilinear,
    resize_images as resize_images,
    resize_nearest_neighbor as resize_nearest_neighbor,
)
