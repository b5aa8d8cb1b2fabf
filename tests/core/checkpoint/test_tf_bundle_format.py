"""The tf_bundle checkpoint format (TensorFlow's V2 tensor bundle): round trips, its table and checksum layers,
corruption and truncation, crafted entries, and checkpoints exchanged with TensorFlow 2.21 in both directions."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal import crc32c
from tensorflux._internal.checkpoint.formats import leveldb_table
from tensorflux._internal.checkpoint.formats.tf_bundle import TfBundleFormat
from tests.hostile_inputs import PEAK_RSS_LIMIT_MB, REJECT, peak_rss_mb, tf_bundle_checkpoint

FMT = TfBundleFormat()
FLOAT, STRING = tf.float32.enum, tf.string.enum


def sample():
    """One tensor of every dtype a bundle holds, with awkward shapes (scalar, empty) and strings."""
    rng = np.random.default_rng(7)
    out = {f"x/{np.dtype(dt).name}": (rng.normal(size=(2, 3)) * 50).astype(dt)
           for dt in (np.float16, tf.bfloat16.np_dtype, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                      np.uint8, np.uint16, np.uint32, np.uint64, np.complex64, np.complex128)}
    out["x/complex64"] = out["x/complex64"] * (1 + 2j)
    out.update({
        "flags": np.array([True, False, True]),
        "step": np.array(12, np.int32),
        "empty": np.zeros((0, 3), np.float32),
        "words": np.array([b"a", b"", b"\x00\xffz", "\u00e9".encode() * 200], dtype=object).reshape(2, 2),
        "\u00fcml/name": np.ones(1, np.float32),
    })
    return out


# -- the checksum and table layers -----------------------------------------------------------------------
def test_crc32c_known_values():
    # The CRC-32C check value and RFC 3720's (iSCSI) test vectors.
    assert crc32c.value(b"123456789") == 0xE3069283
    assert crc32c.value(bytes(32)) == 0x8A9136AA
    assert crc32c.value(b"\xff" * 32) == 0x62A8AB43
    assert crc32c.value(bytes(range(32))) == 0x46DD794E
    assert crc32c.unmask(crc32c.mask(0xE3069283)) == 0xE3069283 and crc32c.mask(0) != 0


@pytest.mark.parametrize("n", [4095, 4096, 70_001, 300_007])
def test_crc32c_wide_path_matches_the_bytewise_loop_and_chains(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert crc32c.value(data) == crc32c._loop(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    cut = n // 3
    assert crc32c.extend(crc32c.value(data[:cut]), data[cut:]) == crc32c.value(data)


def test_leveldb_table_with_many_blocks_round_trips_and_shares_key_prefixes():
    items = [(f"layer_{i:04d}/kernel".encode(), bytes([i % 251]) * (i % 7)) for i in range(500)]
    table = leveldb_table.build_table(items, block_size=512)
    assert leveldb_table.read_table(table, "t") == items
    assert len(table) < sum(len(k) + len(v) for k, v in items)  # keys are prefix compressed
    with pytest.raises(ValueError, match="strictly increasing"):
        leveldb_table.build_table(items[::-1])


# -- round trips -----------------------------------------------------------------------------------------
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
    assert meta["x/float32"] == (tf.float32, [2, 3]) and meta["words"] == (tf.string, [2, 2])
    assert meta["x/uint32"] == (tf.uint32, [2, 3])
    assert sorted(os.listdir(tmp_path)) == ["model.data-00000-of-00001", "model.index"]
    assert FMT.detect(prefix) and not FMT.detect(str(tmp_path / "other"))


def test_saving_over_a_checkpoint_alternates_data_files_and_leaves_no_stale_one(tmp_path):
    prefix = str(tmp_path / "model")
    for k, shards in enumerate([1, 2, 1, 2]):  # a new data file never replaces the one the live index names
        FMT.write(prefix, {"w": np.full(4, k, np.float32)})
        assert FMT.read(prefix)["w"][0] == k
        assert FMT.files(prefix) == [prefix + ".index", prefix + f".data-00000-of-{shards:05d}"]


def test_saving_over_another_formats_checkpoint_leaves_only_this_ones_files(tmp_path):
    from tensorflux._internal.checkpoint.formats.native import NativeFormat

    prefix = str(tmp_path / "model")
    NativeFormat().write(prefix, {"w": np.zeros(2, np.float32)})
    FMT.write(prefix, {"w": np.ones(2, np.float32)})
    assert sorted(os.listdir(tmp_path)) == ["model.data-00000-of-00001", "model.index"]
    assert tf.train.NewCheckpointReader(prefix).format_name == "tf_bundle"


def test_saver_writes_tf_bundle_by_default_and_restores_by_detection(tmp_path):
    with tf.Graph().as_default():
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="dense/kernel")
        step = tf.Variable(3, dtype=tf.int64, name="global_step")
        saver = tf.train.Saver()
        assert saver.format == "tf_bundle"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "model"), global_step=step)
            sess.run([w.assign(tf.zeros([2, 3])), step.assign(0)])
            tf.train.Saver().restore(sess, prefix)
            np.testing.assert_array_equal(sess.run(w), np.arange(6).reshape(2, 3))
            assert sess.run(step) == 3
    assert tf.train.list_variables(str(tmp_path)) == [("dense/kernel", [2, 3]), ("global_step", [])]


def test_restore_mismatch_names_the_variable_and_both_shapes_or_dtypes(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"v": np.zeros(3, np.float32), "u": np.zeros(2, np.uint32)})
    with tf.Graph().as_default():
        v = tf.Variable(tf.zeros([4]), name="v")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"variable 'v:0' \(key 'v'\) has shape \[4\], "
                                                                     r"but checkpoint .* stores shape \[3\]"):
                tf.train.Saver([v]).restore(sess, prefix)
        u = tf.Variable(tf.zeros([2], tf.int32), name="u")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"'u:0' .*has dtype int32, .* stores uint32"):
                tf.train.Saver([u]).restore(sess, prefix)


# -- corruption, truncation, crafted entries --------------------------------------------------------------
def _flip(path, pos):
    raw = bytearray(open(path, "rb").read())
    raw[pos] ^= 0x20
    open(path, "wb").write(bytes(raw))


def test_a_flipped_byte_in_the_data_file_names_the_file_and_the_variable(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"a": np.ones(4, np.float32), "b": np.ones(4, np.float32), "s": np.array([b"xy"], object)})
    data = prefix + ".data-00000-of-00001"
    _flip(data, 16 + 3)  # inside 'b' (data order is name order)
    with pytest.raises(tf.errors.DataLossError, match=r"checksum mismatch for variable 'b' in checkpoint data file "
                                                      r"'.*model.data-00000-of-00001'"):
        tf.train.NewCheckpointReader(prefix).get_tensor("b")
    _flip(data, 16 + 3)
    _flip(data, 32 + 6)  # the last byte of the string's bytes
    with pytest.raises(tf.errors.DataLossError, match=r"checksum mismatch for variable 's'"):
        FMT.read(prefix)


def test_every_flipped_byte_of_the_index_is_caught(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"dense/w": np.ones(4, np.float32), "dense/b": np.zeros(2, np.int64)})
    raw = open(prefix + ".index", "rb").read()
    for pos in range(len(raw)):
        flipped = bytearray(raw)
        flipped[pos] ^= 0x01
        open(prefix + ".index", "wb").write(bytes(flipped))
        try:
            values = FMT.read(prefix)
        except tf.errors.DataLossError as exc:
            assert "model.index" in str(exc), str(exc)
        else:  # only the footer's zero padding is not covered by a checksum
            np.testing.assert_array_equal(values["dense/w"], np.ones(4, np.float32))


@pytest.mark.parametrize("which", ["index", "data"])
def test_truncated_files_raise_data_loss_error_naming_them(tmp_path, which):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"w": np.ones(100, np.float32)})
    path = prefix + (".index" if which == "index" else ".data-00000-of-00001")
    raw = open(path, "rb").read()
    for keep in (0, 1, len(raw) // 2, len(raw) - 1):
        open(path, "wb").write(raw[:keep])
        if which == "index":
            assert not FMT.detect(prefix)
            with pytest.raises(tf.errors.DataLossError, match=r"model.index"):
                FMT.read(prefix)
        else:
            with pytest.raises(tf.errors.DataLossError, match=r"variable 'w' in checkpoint data file .*truncated"):
                FMT.read(prefix)


def test_a_missing_data_file_is_named(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"w": np.ones(2, np.float32)})
    os.unlink(prefix + ".data-00000-of-00001")
    with pytest.raises(tf.errors.DataLossError, match=r"data-00000-of-00001' \(needed for variable 'w'.*missing"):
        tf.train.load_variable(prefix, "w")


@pytest.mark.parametrize("dtype, dims, payload, entry, message", [
    (FLOAT, [2**40, 2**40], bytes(16), {}, r"16 bytes do not hold a float32 tensor of shape"),
    (FLOAT, [2**62, 4], b"", {}, r"0 bytes do not hold"),
    (FLOAT, [4], bytes(16), {"offset": 2**62}, r"claims bytes 4611686018427387904\.\."),
    (FLOAT, [4], bytes(16), {"size": 2**40}, r"claims bytes 0\.\.1099511627776, but the file holds 16"),
    (FLOAT, [4], bytes(16), {"shard_id": 3}, r"names data file 3, but the bundle has 1"),
    (FLOAT, [-1], bytes(16), {}, r"not fully defined"),
    (STRING, [3 * 10**8], bytes(8), {}, r"300000000 strings need at least 300000004 bytes"),
    (STRING, [1], b"\xff\xff\xff\xff\x0f" + bytes(4), {}, r"string lengths add up to 4294967295 bytes"),
    (21, [1], bytes(8), {}, r"DataType 21"),
])
def test_crafted_entries_are_refused_before_allocating(tmp_path, dtype, dims, payload, entry, message):
    prefix = str(tmp_path / "model")
    tf_bundle_checkpoint(prefix, dtype, dims, payload, **entry)
    with pytest.raises(tf.errors.DataLossError, match=r"variable 's'.*" + message):
        FMT.read(prefix)


def test_crafted_huge_claims_are_refused_under_300_mb_peak_rss(tmp_path):
    prefix = str(tmp_path / "model")
    tf_bundle_checkpoint(prefix, STRING, [3 * 10**8], bytes(8), size=2**40)
    tf_bundle_checkpoint(str(tmp_path / "f"), FLOAT, [2**31, 64], bytes(16), size=2**39)
    calls = "; ".join(f"tf.train.load_variable({p!r}, 's')" for p in (prefix, str(tmp_path / "f")))
    rss, result = peak_rss_mb(REJECT.format(call=calls))
    assert result["error"] == "DataLossError", result
    assert rss < PEAK_RSS_LIMIT_MB, f"peak RSS {rss:.0f} MB while rejecting crafted size claims"


def test_a_partitioned_variable_is_refused_by_name(tmp_path):
    from tensorflux.proto import tensor_bundle_pb2

    prefix = str(tmp_path / "model")
    header = tensor_bundle_pb2.BundleHeaderProto(num_shards=1)
    entry = tensor_bundle_pb2.BundleEntryProto(dtype=FLOAT)
    entry.shape.dim.add(size=4)
    entry.slices.add().extent.add(start=0, length=2)
    table = leveldb_table.build_table([(b"", header.SerializeToString()), (b"part", entry.SerializeToString())])
    open(prefix + ".index", "wb").write(table)
    open(prefix + ".data-00000-of-00001", "wb").close()
    assert FMT.variables(prefix) == {"part": (tf.float32, [4])}
    with pytest.raises(tf.errors.DataLossError, match=r"variable 'part' .* partitioned into 1 slices"):
        FMT.read(prefix)


# -- TensorFlow 2.21 in both directions ---------------------------------------------------------------------
def test_tensorflow_writes_we_restore_and_list(tfr, tmp_path):
    rng = np.random.default_rng(3)
    values = {"dense/kernel": rng.normal(size=(300, 200)).astype(np.float32),
              "dense/bias": rng.normal(size=200).astype(np.float64), "global_step": np.int64(42),
              "table/keys": np.array([b"alpha", b"", b"\xce\xb2" * 40], dtype=object),
              "flags": np.array([True, False]), "half": rng.normal(size=7).astype(np.float16)}
    with tfr.Graph().as_default():
        tvars = [tfr.Variable(v, name=n) for n, v in values.items()]
        with tfr.Session() as sess:
            sess.run(tfr.global_variables_initializer())
            prefix = tfr.train.Saver(tvars).save(sess, str(tmp_path / "tf_model"), global_step=7)
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix  # TF's state file reads here
    assert dict(tf.train.list_variables(prefix)) == {n: list(np.shape(v)) for n, v in values.items()}
    reader = tf.train.NewCheckpointReader(prefix)
    assert reader.format_name == "tf_bundle"
    for name, want in values.items():
        np.testing.assert_array_equal(reader.get_tensor(name), want)
    with tf.Graph().as_default():
        ours = {n: tf.Variable(tf.zeros_like(v) if n != "table/keys" else tf.constant([b""] * 3), name=n)
                for n, v in values.items()}
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, prefix)  # the format is detected from the files
            for name, var in ours.items():
                np.testing.assert_array_equal(sess.run(var), values[name])


@pytest.mark.parametrize("saves", [1, 2], ids=["fresh", "saved-over"])
def test_we_write_tensorflow_restores_and_loads_equal_values(tfr, tmp_path, saves):
    rng = np.random.default_rng(4)
    values = {"w": rng.normal(size=(64, 32)).astype(np.float32), "b": rng.normal(size=32).astype(np.float64),
              "step": np.int64(9), "names": np.array([b"x", b"yz"], dtype=object),
              "mask": np.array([[True], [False]]), "q": np.arange(-4, 4, dtype=np.int8)}
    with tf.Graph().as_default():
        ours = [tf.Variable(v, name=n) for n, v in values.items()]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(saves):  # saved over: the second save uses the two-shard layout
                prefix = tf.train.Saver(ours).save(sess, str(tmp_path / "model"))
    reader = tfr.train.load_checkpoint(prefix)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(values)
    for name, want in values.items():
        np.testing.assert_array_equal(reader.get_tensor(name), want)
    assert tfr.train.latest_checkpoint(str(tmp_path)) == prefix  # our state file reads in TF
    with tfr.Graph().as_default():
        theirs = {n: tfr.Variable(np.zeros_like(v) if v.dtype != object else np.array([b""] * 2, object), name=n)
                  for n, v in values.items()}
        with tfr.Session() as sess:
            tfr.train.Saver(list(theirs.values())).restore(sess, prefix)
            for name, var in theirs.items():
                np.testing.assert_array_equal(sess.run(var), values[name])


def test_a_10_mb_tensorflow_tensor_verifies_against_its_crc(tfr, tmp_path):
    big = np.random.default_rng(5).normal(size=(2500, 1000)).astype(np.float32)
    with tfr.Graph().as_default():
        v = tfr.Variable(big, name="big")
        with tfr.Session() as sess:
            sess.run(v.initializer)
            prefix = tfr.train.Saver([v]).save(sess, str(tmp_path / "tf_big"))
    np.testing.assert_array_equal(FMT.read(prefix)["big"], big)  # raises if our CRC disagreed with TF's


def test_bundle_protos_have_tensorflows_field_numbers_names_and_types(tfr):
    from tensorflow.core.framework import tensor_slice_pb2
    from tensorflow.core.protobuf import tensor_bundle_pb2 as theirs

    from tensorflux.proto import tensor_bundle_pb2 as ours
    from tests.core.serialization.test_tf_interop import _compare_message

    problems = []
    for name, descriptor in ours.DESCRIPTOR.message_types_by_name.items():
        other = (theirs.DESCRIPTOR.message_types_by_name.get(name)
                 or tensor_slice_pb2.DESCRIPTOR.message_types_by_name.get(name))
        problems += [f"TensorFlow has no message {name}"] if other is None else _compare_message(descriptor, other, name)
    assert sorted(ours.DESCRIPTOR.message_types_by_name) == ["BundleEntryProto", "BundleHeaderProto", "TensorSliceProto"]
    assert not problems, problems
