"""The geometry of 3-D window ops (``Conv3D`` and its gradients, ``MaxPool3D``, ``AvgPool3D``), written once.

The 2-D ops' ``geometry.WindowGeometry`` with one more spatial axis: the layout ("NDHWC" or "NCDHW"), and per
depth, height and width the output size and the padding before and after, as TF computes them
(``geometry.axis_geometry``: VALID keeps whole windows, SAME gives ``ceil(size / stride)`` with the padding
split evenly and the odd cell after). Nothing here depends on the graph or on a device.
"""

from __future__ import annotations

from itertools import product
from typing import Iterator, Sequence

from .geometry import axis_geometry, window_counts

FORMATS_3D = ("NDHWC", "NCDHW")
_AXIS_NAMES = ("input depth", "input height", "input width")


def spatial_axes_3d(data_format: str) -> tuple[tuple[int, int, int], int]:
    """((depth, height, width) axes, channel axis) of a 5-D ``data_format`` ("NDHWC" or "NCDHW").

    Example:
        >>> spatial_axes_3d("NCDHW")
        ((2, 3, 4), 1)
    """
    if data_format not in FORMATS_3D:
        raise ValueError(f"data_format must be one of {list(FORMATS_3D)}, got {data_format!r}")
    return ((2, 3, 4), 1) if data_format == "NCDHW" else ((1, 2, 3), 4)


def depth_height_width(values: Sequence[int], data_format: str) -> tuple[int, int, int]:
    """The (depth, height, width) entries of a 5-element ``strides``/``ksize``/``dilations`` attr or shape.

    Example:
        >>> depth_height_width([1, 1, 2, 3, 4], "NCDHW")
        (2, 3, 4)
    """
    axes, _ = spatial_axes_3d(data_format)
    return int(values[axes[0]]), int(values[axes[1]]), int(values[axes[2]])


def to_ndhwc(shape: Sequence[int], data_format: str) -> tuple[int, int, int, int, int]:
    """A 5-D shape given in ``data_format`` order, as (batch, depth, height, width, channels).

    Example:
        >>> to_ndhwc([8, 3, 4, 5, 6], "NCDHW")
        (8, 4, 5, 6, 3)
    """
    n, a, b, c, d = (int(v) for v in shape)
    return (n, b, c, d, a) if data_format == "NCDHW" else (n, a, b, c, d)


class Window3D:
    """The geometry of one NDHWC 3-D window op (a convolution or a pool).

    Attributes: ``in_shape`` = (n, d, h, w, c); per spatial axis, as 3-tuples in (depth, height, width)
    order: ``size``, ``window``, ``strides``, ``dilations``, ``out`` (output size) and ``pads`` ((before,
    after) pairs); ``f_shape`` = (kd, kh, kw, c, out_channels) for a convolution, None for a pool. Build one
    with ``conv3d_geometry`` or ``pool3d_geometry``.

    Example:
        >>> g = pool3d_geometry((1, 5, 4, 3, 2), [1, 3, 2, 2, 1], [1, 2, 2, 1, 1], "SAME", "NDHWC")
        >>> g.out, g.pads, g.out_shape()
        ((3, 2, 3), ((1, 1), (0, 0), (0, 1)), (1, 3, 2, 3, 2))
    """

    __slots__ = ("in_shape", "n", "c", "size", "window", "strides", "dilations", "out", "pads", "f_shape")

    def __init__(self, in_shape: Sequence[int], window: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int], padding: str, f_shape: tuple | None = None) -> None:
        if len(in_shape) != 5:
            raise ValueError(f"a 3-D window op needs a 5-D input, got shape {list(in_shape)}")
        self.in_shape = tuple(int(v) for v in in_shape)
        self.n, self.c = self.in_shape[0], self.in_shape[4]
        self.size = self.in_shape[1:4]
        self.window = tuple(int(v) for v in window)
        self.strides = tuple(int(v) for v in strides)
        self.dilations = tuple(int(v) for v in dilations)
        axes = [axis_geometry(self.size[a], self.window[a], self.strides[a], self.dilations[a], padding,
                              what=_AXIS_NAMES[a]) for a in range(3)]
        self.out = tuple(a[0] for a in axes)
        self.pads = tuple((a[1], a[2]) for a in axes)
        self.f_shape = f_shape

    @property
    def padded(self) -> bool:
        """Whether any side is padded."""
        return any(b or a for b, a in self.pads)

    @property
    def taps_count(self) -> int:
        """How many cells one window holds (kd * kh * kw)."""
        return self.window[0] * self.window[1] * self.window[2]

    @property
    def empty(self) -> bool:
        """Whether there are no windows at all (an empty batch or an empty output)."""
        return self.n * self.out[0] * self.out[1] * self.out[2] == 0

    def padded_shape(self) -> tuple[int, int, int, int, int]:
        """The NDHWC shape of the input with its padding."""
        d, h, w = (s + b + a for s, (b, a) in zip(self.size, self.pads))
        return (self.n, d, h, w, self.c)

    def out_shape(self, channels: int | None = None) -> tuple[int, int, int, int, int]:
        """The NDHWC output shape: ``channels`` output channels (default: the filter's, or the input's for a pool)."""
        if channels is None:
            channels = self.f_shape[4] if self.f_shape is not None else self.c
        return (self.n, *self.out, channels)

    def check_out(self, shape: Sequence[int], what: str = "out_backprop") -> None:
        """Raise ValueError naming ``what`` unless ``shape`` is the NDHWC output shape."""
        want = self.out_shape()
        if tuple(int(v) for v in shape) != want:
            of = f" and filter {list(self.f_shape)}" if self.f_shape is not None else ""
            raise ValueError(f"{what} has shape {list(shape)}, expected {list(want)} for input "
                             f"{list(self.in_shape)}{of}")

    def tap_slices(self, tap: Sequence[int]) -> tuple[slice, slice, slice]:
        """The strided (depth, height, width) slices of the padded input that window cell ``tap`` reads."""
        return tuple(slice(t * dl, t * dl + (o - 1) * s + 1, s)
                     for t, dl, o, s in zip(tap, self.dilations, self.out, self.strides))

    def taps(self) -> Iterator[tuple[tuple[int, int, int], tuple[slice, slice, slice]]]:
        """Per window cell in row-major (depth, height, width) order: (cell, its ``tap_slices``).

        ``padded_input[:, sd, sh, sw, :]`` is the [n, od, oh, ow, c] block that cell meets in every window.
        """
        for tap in product(*(range(k) for k in self.window)):
            yield tap, self.tap_slices(tap)

    def valid_counts(self) -> tuple[list[int], list[int], list[int]]:
        """Real (unpadded) cells each window covers along depth, height and width (``window_counts``)."""
        return tuple(window_counts(self.out[a], self.strides[a], self.pads[a][0], self.window[a], self.size[a])
                     for a in range(3))

    def inside(self, tap: Sequence[int]) -> tuple[list[bool], list[bool], list[bool]]:
        """Along depth, height and width: whether window cell ``tap`` lies in the real input for each output."""
        return tuple([0 <= o * s + t * dl - b < size for o in range(out)]
                     for t, dl, s, out, (b, _), size in zip(tap, self.dilations, self.strides, self.out, self.pads,
                                                            self.size))

    def flops(self) -> float:
        """Multiply-adds times two of the convolution (0 for a pool)."""
        if self.f_shape is None:
            return 0.0
        kd, kh, kw, c, o = self.f_shape
        return 2.0 * self.n * self.out[0] * self.out[1] * self.out[2] * kd * kh * kw * c * o


def conv3d_geometry(in_shape: Sequence[int], f_shape: Sequence[int], strides: Sequence[int], padding: str,
                    data_format: str, dilations: Sequence[int] | None = None) -> Window3D:
    """The geometry of a Conv3D with NDHWC input shape ``in_shape`` and filter [kd, kh, kw, in, out].

    ``strides`` and ``dilations`` are 5-element attrs in ``data_format`` order, as the op holds them.

    Example:
        >>> g = conv3d_geometry((2, 8, 8, 8, 3), (3, 3, 3, 3, 16), [1, 2, 2, 2, 1], "SAME", "NDHWC")
        >>> g.out_shape(), g.pads[0]
        ((2, 4, 4, 4, 16), (0, 1))
    """
    f_shape = tuple(int(v) for v in f_shape)
    if len(f_shape) != 5:
        raise ValueError(f"filter must be 5-D [depth, height, width, in_channels, out_channels], got {list(f_shape)}")
    if f_shape[3] != int(in_shape[4]):
        raise ValueError(f"input depth {int(in_shape[4])} does not match filter in_channels {f_shape[3]} (filter "
                         f"shape {list(f_shape)})")
    dil = depth_height_width(dilations, data_format) if dilations else (1, 1, 1)
    return Window3D(in_shape, f_shape[:3], depth_height_width(strides, data_format), dil, padding, f_shape)


def pool3d_geometry(in_shape: Sequence[int], ksize: Sequence[int], strides: Sequence[int], padding: str,
                    data_format: str) -> Window3D:
    """The geometry of a MaxPool3D/AvgPool3D with NDHWC input shape ``in_shape``, from the op's attrs.

    Example:
        >>> pool3d_geometry((1, 4, 4, 4, 1), [1, 2, 2, 2, 1], [1, 2, 2, 2, 1], "VALID", "NDHWC").out_shape()
        (1, 2, 2, 2, 1)
    """
    return Window3D(in_shape, depth_height_width(ksize, data_format), depth_height_width(strides, data_format),
                    (1, 1, 1), padding)
