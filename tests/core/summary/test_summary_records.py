"""TFRecord framing and CRC32C, checked against TensorBoard's own record reader and CRC code."""

import os

import pytest

from tensorflux._internal.summary.records import crc32c, masked_crc32c, write_record

stub = pytest.importorskip("tensorboard.compat.tensorflow_stub.pywrap_tensorflow",
                           reason="tensorboard is not installed; pip install tensorboard")


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 1000])
def test_crc32c_matches_tensorboards(size):
    data = os.urandom(size)
    assert crc32c(data) == stub.crc32c(data)
    assert masked_crc32c(data) == stub.masked_crc32c(data)


def _read_all(path):
    reader = stub.PyRecordReader_New(str(path))
    records = []
    while True:
        try:
            reader.GetNext()
        except stub.errors.OutOfRangeError:
            return records
        records.append(reader.record())


def test_records_read_back_through_a_crc_checking_reader(tmp_path):
    payloads = [os.urandom(n) for n in (0, 3, 300, 70000)]
    path = tmp_path / "records"
    with open(path, "wb") as f:
        for p in payloads:
            write_record(f, p)
    assert _read_all(path) == payloads


def test_a_flipped_byte_fails_the_crc(tmp_path):
    path = tmp_path / "records"
    with open(path, "wb") as f:
        write_record(f, b"some event bytes")
    raw = bytearray(path.read_bytes())
    raw[14] ^= 0xFF  # inside the data
    path.write_bytes(bytes(raw))
    with pytest.raises(stub.errors.DataLossError):
        _read_all(path)
