"""Crafted IDX files (issue 20): header products that overflow, and gzip bombs, raise CorruptDataError
(a tf.errors.DataLossError) before anything large is allocated."""

from __future__ import annotations

import gzip

import pytest

import tensorflux as tf
from tensorflux.datasets import mnist
from tests.hostile_inputs import idx_gz


# Both products are 2**64, which wraps to 0 in int64: an empty body matched it, then reshape failed.
@pytest.mark.parametrize("dims", [[2**16, 2**24, 2**24], [2**31, 2**31, 4]])
def test_idx_dims_whose_product_overflows_raise_corrupt_data_error(tmp_path, dims):
    path = str(tmp_path / "images.gz")
    idx_gz(path, 2051, dims, b"")
    with pytest.raises((mnist.CorruptDataError, tf.errors.InvalidArgumentError), match=f"MNIST file {path}"):
        mnist.extract_images(path)


def test_idx_gzip_bomb_stops_at_the_limit_before_inflating(tmp_path, monkeypatch):
    path = str(tmp_path / "labels.gz")
    with gzip.open(path, "wb") as f:
        f.write((2049).to_bytes(4, "big") + (2**31).to_bytes(4, "big"))
        for _ in range(16):
            f.write(bytes(1 << 20))
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"MNIST file {path}.*TENSORFLUX_MAX_EXPANDED_BYTES"):
        mnist.extract_labels(path)


def test_corrupt_data_error_is_a_data_loss_error_and_still_a_value_error(tmp_path):
    path = str(tmp_path / "labels.gz")
    open(path, "wb").write(b"not gzip")
    with pytest.raises(tf.errors.DataLossError):
        mnist.extract_labels(path)
    with pytest.raises(ValueError):
        mnist.extract_labels(path)


def test_zero_images_of_a_huge_size_raise_corrupt_data_error(tmp_path):
    # Found by `make fuzz` (build/fuzz/idx/crash-44b07291...): 0 x 4261543938 x 4294966528 images, no bytes.
    path = str(tmp_path / "images.gz")
    idx_gz(path, 2051, [0, 0xFE020002, 0xFFFFFD00], b"")
    with pytest.raises(mnist.CorruptDataError, match=f"MNIST file {path}"):
        mnist.extract_images(path)
