"""The PNG encoder's output decodes, pixel for pixel, with a real decoder (Pillow, which TensorBoard needs)."""

import io

import numpy as np
import pytest

from tensorflux._internal.summary.png import encode_png

Image = pytest.importorskip("PIL.Image", reason="Pillow (installed with tensorboard) decodes the PNGs")


@pytest.mark.parametrize("channels, mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
@pytest.mark.parametrize("height, width", [(1, 1), (7, 13), (32, 3)])
def test_png_decodes_to_the_same_pixels(channels, mode, height, width):
    pixels = np.random.default_rng(height * width + channels).integers(0, 256, (height, width, channels), np.uint8)
    decoded = Image.open(io.BytesIO(encode_png(pixels)))
    assert decoded.mode == mode and decoded.size == (width, height)
    np.testing.assert_array_equal(np.asarray(decoded).reshape(height, width, channels), pixels)


def test_png_of_a_2d_array_is_grayscale():
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode_png(pixels)))), pixels)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 2, 5), np.uint8), "shape \\[2, 2, 5\\]"),
    (np.zeros((0, 2, 3), np.uint8), "at least 1"),
    (np.zeros((2, 2, 3), np.float32), "uint8"),
])
def test_bad_images_are_refused_with_their_shape_or_dtype(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        encode_png(bad)
