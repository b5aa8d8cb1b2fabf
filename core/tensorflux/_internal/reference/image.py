"""Reference kernels of the image ops (bilinear and nearest-neighbor resizing and their gradients, SpaceToDepth,
DepthToSpace) and of LRN / LRNGrad, over the array namespace ``xp``.

Resizing follows TF's kernels: a pixel's source coordinate is ``out * scale`` (or ``(out + 0.5) * scale - 0.5``
with half-pixel centers), ``scale = in / out`` (or ``(in - 1) / (out - 1)`` with aligned corners), all in float32.
The coordinates are host metadata (numpy, a few per row or column); the pixels stay in ``xp``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .common import host_ints


def _scale(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    if align_corners and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def bilinear_weights(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> tuple:
    """(lower index, upper index, weight of the upper) of each output position, as TF's resize kernels compute them.

    Example:
        >>> [a.tolist() for a in bilinear_weights(2, 4, False, False)]
        [[0, 0, 1, 1], [0, 1, 1, 1], [0.0, 0.5, 0.0, 0.5]]
    """
    scale = _scale(in_size, out_size, align_corners)
    out = np.arange(out_size, dtype=np.float32)
    source = (out + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel_centers else out * scale
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(source).astype(np.int64), in_size - 1)
    return lower, upper, (source - floor).astype(np.float32)


def nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """The source index of each output position of a nearest-neighbor resize, as TF's kernel picks it.

    Example:
        >>> nearest_indices(2, 4, False, False).tolist()
        [0, 0, 1, 1]
    """
    scale = _scale(in_size, out_size, align_corners)
    out = np.arange(out_size, dtype=np.float32)
    source = (out + np.float32(0.5)) * scale if half_pixel_centers else out * scale
    # roundf rounds halves away from zero; the coordinates are non-negative here.
    picked = np.floor(source + np.float32(0.5)) if align_corners else np.floor(source)
    index = np.minimum(picked.astype(np.int64), in_size - 1)
    return np.maximum(index, 0) if half_pixel_centers else index


def _one_hot_rows(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """A [len(index), size] matrix with ``weights`` at ``(i, index[i])`` (repeated columns add up)."""
    matrix = np.zeros((index.size, size), np.float64)
    np.add.at(matrix, (np.arange(index.size), index), weights)
    return matrix


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the resize, space/depth and LRN ops, computing with ``xp``.

    Example:
        >>> import numpy as np
        >>> image = np.array([[[[0.0], [2.0]]]], np.float32)
        >>> kernels(np)["ResizeBilinear"](image, np.array([1, 4]), align_corners=False,
        ...                               half_pixel_centers=False)[0, 0, :, 0].tolist()
        [0.0, 1.0, 2.0, 2.0]
    """

    def indices(values: np.ndarray, device: Any) -> Any:
        return xp.asarray(values.tolist(), dtype=xp.int64, device=device)

    def check(align_corners: bool, half_pixel_centers: bool, op: str) -> None:
        if align_corners and half_pixel_centers:
            raise ValueError(f"{op}: align_corners and half_pixel_centers cannot both be True")

    def target_size(size, op: str) -> tuple:
        hw = host_ints(size)
        if len(hw) != 2 or min(hw) <= 0:
            raise ValueError(f"{op}: size must hold two positive values, got {hw}")
        return hw[0], hw[1]

    def resize_bilinear(images, size, *, align_corners, half_pixel_centers):
        check(align_corners, half_pixel_centers, "ResizeBilinear")
        out_h, out_w = target_size(size, "ResizeBilinear")
        x = xp.astype(images, xp.float32)
        top, bottom, y_lerp = bilinear_weights(x.shape[1], out_h, align_corners, half_pixel_centers)
        left, right, x_lerp = bilinear_weights(x.shape[2], out_w, align_corners, half_pixel_centers)
        dev = x.device
        rows_top, rows_bottom = (xp.take(x, indices(i, dev), axis=1) for i in (top, bottom))
        xl = xp.reshape(xp.asarray(x_lerp.tolist(), dtype=xp.float32, device=dev), (1, 1, out_w, 1))
        yl = xp.reshape(xp.asarray(y_lerp.tolist(), dtype=xp.float32, device=dev), (1, out_h, 1, 1))

        def across(rows):
            a, b = xp.take(rows, indices(left, dev), axis=2), xp.take(rows, indices(right, dev), axis=2)
            return a + (b - a) * xl

        upper, lower = across(rows_top), across(rows_bottom)
        return upper + (lower - upper) * yl

    def apply_separable(grads, rows: np.ndarray, cols: np.ndarray, dtype: Any):
        """``rows^T @ g @ cols`` for each image and channel: spreads output gradients back to the input pixels."""
        wide = xp.float64 if dtype == xp.float64 else xp.float32
        g = xp.permute_dims(xp.astype(grads, wide), (0, 3, 1, 2))
        r = xp.asarray(rows.T.tolist(), dtype=wide, device=grads.device) if rows.size else \
            xp.zeros(rows.T.shape, dtype=wide, device=grads.device)
        c = xp.asarray(cols.tolist(), dtype=wide, device=grads.device) if cols.size else \
            xp.zeros(cols.shape, dtype=wide, device=grads.device)
        out = xp.matmul(xp.matmul(r, g), c)
        return xp.astype(xp.permute_dims(out, (0, 2, 3, 1)), dtype)

    def resize_bilinear_grad(grads, original_image, *, align_corners, half_pixel_centers):
        check(align_corners, half_pixel_centers, "ResizeBilinearGrad")
        in_h, in_w = original_image.shape[1], original_image.shape[2]
        out_h, out_w = grads.shape[1], grads.shape[2]
        top, bottom, y_lerp = bilinear_weights(in_h, out_h, align_corners, half_pixel_centers)
        left, right, x_lerp = bilinear_weights(in_w, out_w, align_corners, half_pixel_centers)
        rows = _one_hot_rows(top, 1.0 - y_lerp, in_h) + _one_hot_rows(bottom, y_lerp, in_h)
        cols = _one_hot_rows(left, 1.0 - x_lerp, in_w) + _one_hot_rows(right, x_lerp, in_w)
        return apply_separable(grads, rows, cols, original_image.dtype)

    def resize_nearest(images, size, *, align_corners, half_pixel_centers):
        check(align_corners, half_pixel_centers, "ResizeNearestNeighbor")
        out_h, out_w = target_size(size, "ResizeNearestNeighbor")
        rows = nearest_indices(images.shape[1], out_h, align_corners, half_pixel_centers)
        cols = nearest_indices(images.shape[2], out_w, align_corners, half_pixel_centers)
        picked = xp.take(images, indices(rows, images.device), axis=1)
        return xp.take(picked, indices(cols, images.device), axis=2)

    def resize_nearest_grad(grads, size, *, align_corners, half_pixel_centers):
        check(align_corners, half_pixel_centers, "ResizeNearestNeighborGrad")
        in_h, in_w = target_size(size, "ResizeNearestNeighborGrad")
        rows = nearest_indices(in_h, grads.shape[1], align_corners, half_pixel_centers)
        cols = nearest_indices(in_w, grads.shape[2], align_corners, half_pixel_centers)
        ones_r, ones_c = np.ones(rows.size), np.ones(cols.size)
        integral = any(grads.dtype == getattr(xp, name, None) for name in ("int8", "int16", "int32", "int64", "uint8"))
        wide = xp.astype(grads, xp.float64) if integral else grads
        out = apply_separable(wide, _one_hot_rows(rows, ones_r, in_h), _one_hot_rows(cols, ones_c, in_w), wide.dtype)
        return xp.astype(out, grads.dtype)

    def nhwc(x, data_format: str):
        return xp.permute_dims(x, (0, 2, 3, 1)) if data_format == "NCHW" else x

    def from_nhwc(x, data_format: str):
        return xp.permute_dims(x, (0, 3, 1, 2)) if data_format == "NCHW" else x

    def space_to_depth(x, *, block_size, data_format):
        y = nhwc(x, data_format)
        b, h, w, c = y.shape
        bs = block_size
        if h % bs or w % bs:
            raise ValueError(f"SpaceToDepth: height {h} and width {w} must be divisible by block_size {bs}")
        blocks = xp.reshape(y, (b, h // bs, bs, w // bs, bs, c))
        out = xp.reshape(xp.permute_dims(blocks, (0, 1, 3, 2, 4, 5)), (b, h // bs, w // bs, bs * bs * c))
        return from_nhwc(out, data_format)

    def depth_to_space(x, *, block_size, data_format):
        y = nhwc(x, data_format)
        b, h, w, c = y.shape
        bs = block_size
        if c % (bs * bs):
            raise ValueError(f"DepthToSpace: depth {c} must be divisible by block_size**2 = {bs * bs}")
        blocks = xp.reshape(y, (b, h, w, bs, bs, c // (bs * bs)))
        out = xp.reshape(xp.permute_dims(blocks, (0, 1, 3, 2, 4, 5)), (b, h * bs, w * bs, c // (bs * bs)))
        return from_nhwc(out, data_format)

    def window_sum(v, radius: int):
        """The sum of ``v`` over channels ``d - radius .. d + radius`` (clipped) of each channel ``d``."""
        depth = v.shape[-1]
        pad = xp.zeros((*v.shape[:-1], radius), dtype=v.dtype, device=v.device)
        padded = xp.concat([pad, v, pad], axis=-1) if radius else v
        total = xp.zeros_like(v)
        for offset in range(2 * radius + 1):
            total = total + padded[..., offset:offset + depth]
        return total

    def lrn_parts(x, depth_radius, bias, alpha):
        wide = xp.astype(x, xp.float32)
        return wide, bias + alpha * window_sum(wide * wide, depth_radius)

    def lrn(x, *, depth_radius, bias, alpha, beta):
        wide, norm = lrn_parts(x, depth_radius, bias, alpha)
        return xp.astype(wide * norm ** -beta, x.dtype)

    def lrn_grad(grads, image, output, *, depth_radius, bias, alpha, beta):
        # d out_j / d in_k = [j == k] norm_j^-beta - 2 alpha beta in_k out_j / norm_j, for k within j's window.
        wide, norm = lrn_parts(image, depth_radius, bias, alpha)
        g = xp.astype(grads, xp.float32)
        spread = window_sum(g * xp.astype(output, xp.float32) / norm, depth_radius)
        return xp.astype(g * norm ** -beta - 2.0 * alpha * beta * wide * spread, grads.dtype)

    return {"ResizeBilinear": resize_bilinear, "ResizeBilinearGrad": resize_bilinear_grad,
            "ResizeNearestNeighbor": resize_nearest, "ResizeNearestNeighborGrad": resize_nearest_grad,
            "SpaceToDepth": space_to_depth, "DepthToSpace": depth_to_space, "LRN": lrn, "LRNGrad": lrn_grad}
