"""The native checkpoint format: round trips for every dtype, checksums, and corruption detection."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.checkpoint.formats.native import NativeFormat

FMT = NativeFormat()


def sample():
    rng = np.random.default_rng(5)
    return {
        "dense/w": rng.normal(size=(3, 4)).astype(np.float32),
        "half": rng.normal(size=5).astype(np.float16),
        "brain": rng.normal(size=(2, 2)).astype(tf.bfloat16.np_dtype),
        "f64": np.float64(2.5) * np.ones(()),
        "ints": np.arange(-3, 3, dtype=np.int64),
        "small": np.array([1, -2], np.int8),
        "shorts": np.array([300], np.int16),
        "bytes": np.array([0, 255], np.uint8),
        "flags": np.array([True, False, True]),
        "step": np.array(12, np.int32),
        "empty": np.zeros((0, 3), np.float32),
        "words": np.array([b"a", b"", b"\x00\xffz", "\u00e9".encode()], dtype=object).reshape(2, 2),
    }


def test_every_dtype_round_trips(tmp_path):
    prefix = str(tmp_path / "model")
    values = sample()
    FMT.write(prefix, values)
    out = FMT.read(prefix)
    assert sorted(out) == sorted(values)
    for name, want in values.items():
        assert out[name].dtype == want.dtype and out[name].shape == want.shape, name
        np.testing.assert_array_equal(out[name], want)
    meta = FMT.variables(prefix)
    assert meta["dense/w"] == (tf.float32, [3, 4]) and meta["words"] == (tf.string, [2, 2])


def test_files_detect_and_layout(tmp_path):
    prefix = str(tmp_path / "model")
    assert not FMT.detect(prefix)
    FMT.write(prefix, {"x": np.ones(3)})
    files = FMT.files(prefix)
    assert files[0] == prefix + ".index" and len(files) == 2 and ".data-" in files[1]
    assert FMT.detect(prefix)
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(f) for f in files)
    with open(prefix + ".index", "rb") as f:
        assert f.read(8) == b"TFXINDEX"


def _data_file(prefix):
    return FMT.files(prefix)[1]


def test_flipped_data_byte_names_the_variable_and_the_file(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"a": np.zeros(4, np.float32), "b": np.ones(4, np.float32)})
    path = _data_file(prefix)
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 0x01  # inside 'b', the last tensor in name order
    open(path, "wb").write(bytes(data))
    with pytest.raises(tf.errors.DataLossError, match=rf"checksum mismatch for variable 'b' in checkpoint data file '{path}'"):
        FMT.read(prefix)


def test_truncated_data_file_names_the_file(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"a": np.zeros(100, np.float32)})
    path = _data_file(prefix)
    with open(path, "r+b") as f:
        f.truncate(123)
    with pytest.raises(tf.errors.DataLossError, match=rf"'{path}' has 123 bytes, but its index says 400: .*truncated"):
        FMT.read(prefix)
    os.unlink(path)
    with pytest.raises(tf.errors.DataLossError, match="is missing"):
        FMT.read(prefix)


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic"])
def test_damaged_index_names_the_index_file(tmp_path, damage):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"a": np.zeros(3)})
    path = prefix + ".index"
    raw = bytearray(open(path, "rb").read())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0x40
    elif damage == "truncate":
        raw = raw[: len(raw) - 10]
    else:
        raw[0:8] = b"NOTMAGIC"
    open(path, "wb").write(bytes(raw))
    with pytest.raises(tf.errors.DataLossError, match=f"checkpoint index '{path}'"):
        FMT.read(prefix)


def test_restore_through_the_saver_reports_corruption(tmp_path):
    v = tf.Variable(np.arange(4, dtype=np.float32), name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        prefix = tf.train.Saver().save(sess, str(tmp_path / "m"))
    path = _data_file(prefix)
    data = bytearray(open(path, "rb").read())
    data[0] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with tf.Session() as sess:
        with pytest.raises(tf.errors.DataLossError, match="variable 'v'"):
            tf.train.Saver().restore(sess, prefix)


def test_rewriting_a_prefix_leaves_one_data_file(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"a": np.zeros(3)})
    FMT.write(prefix, {"a": np.ones(3)})
    assert len(FMT.files(prefix)) == 2
    np.testing.assert_array_equal(FMT.read(prefix)["a"], np.ones(3))


def test_unsupported_dtype_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(TypeError, match="cannot save variable 'c': numpy dtype complex64"):
        FMT.write(str(tmp_path / "m"), {"c": np.zeros(2, np.complex64)})
