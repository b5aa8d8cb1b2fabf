"""Crafted checkpoint files (issue 20): claimed sizes checked against the bytes present before allocating, and
only the library's errors, naming the file and the variable."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.checkpoint.formats.native import NativeFormat
from tensorflux._internal.checkpoint.formats.npz import NpzFormat
from tests.hostile_inputs import PEAK_RSS_LIMIT_MB, REJECT, native_checkpoint, npz_deflate_bomb, peak_rss_mb

STRING, FLOAT = tf.string.enum, tf.float32.enum


def test_string_payload_claiming_3e8_strings_is_refused_before_allocating(tmp_path):
    prefix = str(tmp_path / "model")
    native_checkpoint(prefix, STRING, [3 * 10**8], bytes(8))
    with pytest.raises(tf.errors.DataLossError, match=r"variable 's' in checkpoint data file .*model.data-0'.*"
                                                      r"300000000 strings need at least 2400000000 bytes"):
        NativeFormat().read(prefix)


def test_string_payload_bomb_is_refused_under_300_mb_peak_rss(tmp_path):
    prefix = str(tmp_path / "model")
    native_checkpoint(prefix, STRING, [3 * 10**8], bytes(8))
    rss, result = peak_rss_mb(REJECT.format(call=f"tf.train.load_variable({prefix!r}, 's')"))
    assert result["error"] == "DataLossError", result
    assert rss < PEAK_RSS_LIMIT_MB, f"peak RSS {rss:.0f} MB while rejecting an 8-byte payload claiming 3e8 strings"


# Products of 2**96 and 2**64 wrap to 0 in int64, which an empty payload matches.
@pytest.mark.parametrize("dims", [[2**32, 2**32, 2**32], [2**62, 4], [2**40, 0, -5]])
def test_dims_whose_product_overflows_raise_a_library_error(tmp_path, dims):
    prefix = str(tmp_path / "model")
    native_checkpoint(prefix, FLOAT, dims, b"")
    with pytest.raises((tf.errors.DataLossError, tf.errors.InvalidArgumentError), match="variable 's'"):
        NativeFormat().read(prefix)


@pytest.mark.parametrize("data_file", ["", ".", ".."])
def test_index_naming_a_directory_as_data_file_raises_data_loss_error(tmp_path, data_file):
    prefix = str(tmp_path / "model")
    native_checkpoint(prefix, FLOAT, [2], bytes(8), data_file=data_file)
    with pytest.raises(tf.errors.DataLossError, match=f"names data file '{data_file}'"):
        NativeFormat().read(prefix)


def test_entry_beyond_the_data_file_is_refused_without_reading(tmp_path):
    from tensorflux.proto import checkpoint_index_pb2

    prefix = str(tmp_path / "model")
    NativeFormat().write(prefix, {"w": np.ones(4, np.float32)})
    index = checkpoint_index_pb2.CheckpointIndex.FromString(open(prefix + ".index", "rb").read()[8:])
    body = checkpoint_index_pb2.CheckpointIndexBody.FromString(index.body)
    body.tensor[0].offset = 2**62
    native_checkpoint(prefix, FLOAT, [4], bytes(16))  # a valid layout to overwrite
    import hashlib

    raw = body.SerializeToString()
    index = checkpoint_index_pb2.CheckpointIndex(format_version=1, body=raw, body_sha256=hashlib.sha256(raw).digest())
    open(prefix + ".index", "wb").write(b"TFXINDEX" + index.SerializeToString())
    with pytest.raises(tf.errors.DataLossError, match=r"variable 'w' .*claims bytes 4611686018427387904\.\."):
        NativeFormat().read(prefix)


def test_npz_deflate_bomb_is_refused_before_inflating(tmp_path):
    prefix = str(tmp_path / "bomb")
    npz_deflate_bomb(prefix + ".npz", 150 * 2**20)  # 600 MiB of zeros in well under 1 MiB
    assert os.path.getsize(prefix + ".npz") < 2**20
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"bomb.npz' \(its compressed members\).*"
                                                             r"TENSORFLUX_MAX_EXPANDED_BYTES"):
        NpzFormat().read(prefix)
    rss, result = peak_rss_mb(REJECT.format(call=f"tf.train.NewCheckpointReader({prefix!r}).get_tensor('w')"))
    assert result["error"] == "InvalidArgumentError", result
    assert rss < PEAK_RSS_LIMIT_MB, f"peak RSS {rss:.0f} MB while rejecting a deflate bomb"


def test_npz_compressed_member_within_the_limit_loads(tmp_path, monkeypatch):
    prefix = str(tmp_path / "model")
    np.savez_compressed(prefix + ".npz", w=np.zeros(1000, np.float32))
    assert NpzFormat().read(prefix)["w"].shape == (1000,)
    monkeypatch.setenv("TENSORFLUX_MAX_EXPANDED_BYTES", "1K")
    with pytest.raises(tf.errors.InvalidArgumentError, match="over the limit of 1024 bytes"):
        NpzFormat().read(prefix)


def _npz_with_header(header: bytes, data: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("w.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data)
    return out.getvalue()


@pytest.mark.parametrize("header, reason", [
    (b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }", "header says float32 of shape"),
    (b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, ", "corrupt or truncated"),  # tokenize.TokenError
    (b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "not a tensor dtype"),
    (b"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "complex64"),
])
def test_npz_crafted_npy_headers_raise_data_loss_error_naming_the_variable(tmp_path, header, reason):
    prefix = str(tmp_path / "model")
    open(prefix + ".npz", "wb").write(_npz_with_header(header, bytes(8)))
    with pytest.raises(tf.errors.DataLossError, match=f"variable .w. in npz checkpoint .{prefix}.npz.") as info:
        NpzFormat().read(prefix)
    assert reason in str(info.value)


def test_npz_header_bit_flips_raise_only_data_loss_error(tmp_path):
    prefix = str(tmp_path / "model")
    NpzFormat().write(prefix, {"w": np.arange(6, dtype=np.float32)})
    raw = open(prefix + ".npz", "rb").read()
    start = raw.index(b"\x93NUMPY")
    for pos in range(start, start + 128):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[pos] ^= 1 << bit
            open(prefix + ".npz", "wb").write(bytes(flipped))
            try:
                NpzFormat().read(prefix)
            except tf.errors.DataLossError:
                pass
