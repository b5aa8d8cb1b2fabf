"""TFRecord files: our writer read by TF and TF's writer read here (no compression, ZLIB, GZIP), the byte-identical
framing, the options and aliases, and damaged files."""

from __future__ import annotations

import os

import pytest

import tensorflux as tf

RECORDS = [b"", b"a", bytes(range(256)) * 4, b"x" * 70_000, "text"]
AS_BYTES = [r.encode() if isinstance(r, str) else r for r in RECORDS]


def _write(lib, path, kind):
    options = lib.io.TFRecordOptions(kind) if kind else None
    with lib.python_io.TFRecordWriter(path, options=options) as writer:
        for record in RECORDS:
            writer.write(record)


@pytest.mark.parametrize("kind", ["", "ZLIB", "GZIP"])
def test_files_move_between_tf_and_tensorflux(tfr, tmp_path, kind):
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    _write(tf, ours, kind)
    _write(tfr, theirs, kind)
    tf_options = tfr.io.TFRecordOptions(kind) if kind else None
    assert list(tfr.io.tf_record_iterator(ours, options=tf_options)) == AS_BYTES
    assert list(tf.io.tf_record_iterator(theirs, options=kind or None)) == AS_BYTES
    if kind != "GZIP":  # a gzip header holds a timestamp
        assert open(ours, "rb").read() == open(theirs, "rb").read()


def test_options_names_and_aliases():
    assert tf.python_io.TFRecordWriter is tf.io.TFRecordWriter
    assert tf.python_io.tf_record_iterator is tf.io.tf_record_iterator
    assert tf.io.TFRecordOptions.get_compression_type_string(tf.io.TFRecordCompressionType.ZLIB) == "ZLIB"
    assert tf.io.TFRecordOptions(tf.io.TFRecordCompressionType.GZIP).compression_type == "GZIP"
    assert tf.io.TFRecordOptions.get_compression_type_string(None) == ""
    with pytest.raises(ValueError, match="compression type must be"):
        tf.io.TFRecordOptions("BZIP2")


def test_flush_makes_records_readable_before_close(tmp_path):
    path = str(tmp_path / "partial")
    writer = tf.io.TFRecordWriter(path)
    writer.write(b"early")
    writer.flush()
    assert list(tf.io.tf_record_iterator(path)) == [b"early"]
    writer.close()
    with pytest.raises(ValueError, match="is closed"):
        writer.write(b"late")


def test_damaged_files_are_data_loss_errors(tfr, tmp_path):
    path = str(tmp_path / "good")
    _write(tf, path, "")
    data = open(path, "rb").read()
    cases = {"length_crc": bytearray(data), "data_crc": bytearray(data), "truncated": bytearray(data[:-3])}
    cases["length_crc"][20] ^= 1
    cases["data_crc"][-1] ^= 1
    for name, content in cases.items():
        bad = str(tmp_path / name)
        open(bad, "wb").write(bytes(content))
        with pytest.raises(tf.errors.DataLossError, match="record at"):
            list(tf.io.tf_record_iterator(bad))
        with pytest.raises(tfr.errors.DataLossError):
            list(tfr.io.tf_record_iterator(bad))
    with pytest.raises(tf.errors.NotFoundError):
        list(tf.io.tf_record_iterator(os.path.join(str(tmp_path), "missing")))
