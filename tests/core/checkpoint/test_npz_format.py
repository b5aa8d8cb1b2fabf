"""The npz checkpoint format: numpy archives, loaded without pickle."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.checkpoint.formats.npz import NpzFormat

FMT = NpzFormat()


def test_round_trip_with_scoped_names_scalars_and_bfloat16(tmp_path):
    prefix = str(tmp_path / "model")
    values = {"layer/w": np.ones((2, 3), np.float32), "step": np.array(3, np.int64), "file": np.zeros(1),
              "bf": np.array([1.5, -2.0], tf.bfloat16.np_dtype)}
    FMT.write(prefix, values)
    assert FMT.detect(prefix) and FMT.files(prefix) == [prefix + ".npz"]
    out = FMT.read(prefix)
    assert sorted(out) == sorted(values)
    for name, want in values.items():
        assert out[name].dtype == want.dtype and out[name].shape == want.shape
        np.testing.assert_array_equal(out[name], want)
    assert np.load(prefix + ".npz", allow_pickle=False)["layer/w"].shape == (2, 3)  # plain numpy can read it


def test_strings_are_refused_naming_the_variable(tmp_path):
    with pytest.raises(TypeError, match="variable 'names' holds strings.*format='native'"):
        FMT.write(str(tmp_path / "m"), {"names": np.array([b"a"], dtype=object)})
    assert not os.path.exists(tmp_path / "m.npz")


def test_corrupted_member_fails_its_crc_and_names_the_file(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"w": np.arange(64, dtype=np.float32)})
    path = prefix + ".npz"
    raw = bytearray(open(path, "rb").read())
    raw[200] ^= 0x10  # inside the array bytes of the stored (uncompressed) member
    open(path, "wb").write(bytes(raw))
    with pytest.raises(tf.errors.DataLossError, match=f"npz checkpoint '{path}' is corrupt or truncated"):
        FMT.read(prefix)


def test_truncated_archive_names_the_file(tmp_path):
    prefix = str(tmp_path / "model")
    FMT.write(prefix, {"w": np.arange(64, dtype=np.float32)})
    path = prefix + ".npz"
    with open(path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(tf.errors.DataLossError, match=f"npz checkpoint '{path}'"):
        FMT.read(prefix)


class _Payload:
    def __reduce__(self):
        return (open, (os.environ["TFX_PICKLE_CANARY"], "w"))


def test_a_pickled_object_array_is_never_unpickled(tmp_path, monkeypatch):
    canary = tmp_path / "pwned"
    monkeypatch.setenv("TFX_PICKLE_CANARY", str(canary))
    prefix = str(tmp_path / "evil")
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload()
    with zipfile.ZipFile(prefix + ".npz", "w") as zf, zf.open("v.npy", "w") as member:
        np.lib.format.write_array(member, evil, allow_pickle=True)
    assert b"open" in pickle.dumps(evil)  # the archive really carries a pickle
    v = tf.Variable(0.0, name="v")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.DataLossError, match="evil.npz"):
            tf.train.Saver([v]).restore(sess, prefix)
    assert not canary.exists()
