"""TextLineDataset and TFRecordDataset against TF's compat.v1: line ends, empty lines, compression, several files,
parallel reads, filenames fed through a placeholder, and errors."""

import gzip
import zlib

import numpy as np
import pytest

import tensorflux as tf
from tests.core.data.pipelines import drain


@pytest.fixture
def text_files(tmp_path):
    paths = [tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt.gz", tmp_path / "d.txt.z"]
    paths[0].write_bytes(b"alpha\nbeta\r\n\ngamma")
    paths[1].write_bytes(b"one\ntwo\n")
    paths[2].write_bytes(gzip.compress(b"zipped 1\nzipped 2\n"))
    paths[3].write_bytes(zlib.compress(b"deflated\n"))
    return [str(p) for p in paths]


def test_text_lines_of_several_files(both, text_files):
    both(lambda t: t.data.TextLineDataset(text_files[:2]))


@pytest.mark.parametrize("index, kind", [(2, "GZIP"), (3, "ZLIB")])
def test_compressed_text_lines(both, text_files, index, kind):
    both(lambda t: t.data.TextLineDataset(text_files[index], compression_type=kind).batch(2))


def test_filenames_through_a_placeholder(text_files):
    def build(t):
        names = t.placeholder(t.string, [None])
        return t.data.TextLineDataset(names), names

    elements, spec = drain(tf, build, lambda names: {names: text_files[1:2]})
    assert elements == [b"one", b"two"] and spec == (["string"], [[]])


@pytest.fixture
def record_files(tmp_path):
    records = [[b"", b"first", bytes(range(256)) * 3], [b"second file", b"x" * 5000]]
    paths = []
    for i, (kind, chunk) in enumerate([("", records[0]), ("", records[1]), ("GZIP", records[0])]):
        path = str(tmp_path / f"r{i}.tfrecord")
        with tf.io.TFRecordWriter(path, options=kind or None) as writer:
            for record in chunk:
                writer.write(record)
        paths.append(path)
    return paths


def test_records_of_several_files(both, record_files):
    both(lambda t: t.data.TFRecordDataset(record_files[:2]))
    both(lambda t: t.data.TFRecordDataset(record_files[:2]).batch(2))


def test_parallel_reads_interleave_the_files(both, record_files):
    both(lambda t: t.data.TFRecordDataset(record_files[:2], num_parallel_reads=2))


def test_gzip_records(both, record_files):
    both(lambda t: t.data.TFRecordDataset(record_files[2], compression_type="GZIP").repeat(2))


def test_damaged_and_missing_files_are_errors(tmp_path, record_files):
    data = bytearray(open(record_files[0], "rb").read())
    data[-1] ^= 0xFF
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(data))
    with pytest.raises(tf.errors.DataLossError, match="corrupted record at"):
        drain(tf, lambda t: t.data.TFRecordDataset(str(bad)))
    with pytest.raises(tf.errors.NotFoundError, match="No such file"):
        drain(tf, lambda t: t.data.TextLineDataset(str(tmp_path / "missing.txt")))
    with pytest.raises(ValueError, match="filenames must be a string scalar or vector"):
        tf.data.TextLineDataset(np.array([["a"]]))
