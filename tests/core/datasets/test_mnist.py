"""tf.datasets.mnist: the real shared files, corrupt and truncated files, offline and download paths, next_batch epochs."""

import gzip
import hashlib
import io
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.datasets import mnist

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED = REPO_ROOT.parent / "shared" / "data" / "mnist"
needs_shared = pytest.mark.skipif(not all((SHARED / name).is_file() for name in mnist.FILES),
                                  reason=f"the shared MNIST files are not in {SHARED} (../shared/data/mnist from the repo root)")


def _idx_bytes(magic, dims, body):
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + bytes(body)


def _write_gz(path, raw):
    with gzip.open(path, "wb") as f:
        f.write(raw)


def _write_small_set(directory, n_train=12, n_test=4, rows=3, cols=2, seed=0):
    """A tiny but well-formed set of the four files; pixel values and labels from a seeded generator."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for images_name, labels_name, n in ((mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS, n_train),
                                        (mnist.TEST_IMAGES, mnist.TEST_LABELS, n_test)):
        pixels = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        _write_gz(directory / images_name, _idx_bytes(2051, (n, rows, cols), pixels.tobytes()))
        _write_gz(directory / labels_name, _idx_bytes(2049, (n,), labels.tobytes()))
        arrays[images_name], arrays[labels_name] = pixels, labels
    return arrays


# -- the real shared data ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_sets():
    return mnist.read_data_sets(str(SHARED), seed=0)


@needs_shared
def test_shared_data_splits_scales_and_labels(shared_sets):
    train, validation, test = shared_sets
    assert (train.num_examples, validation.num_examples, test.num_examples) == (24345 - 5000, 5000, 10000)
    for ds in shared_sets:
        assert ds.images.dtype == np.float32 and ds.images.shape == (ds.num_examples, 784)
        assert ds.images.min() == 0.0 and ds.images.max() == 1.0
        assert ds.labels.dtype == np.uint8 and ds.labels.shape == (ds.num_examples,)
        assert set(np.unique(ds.labels).tolist()) == set(range(10))
        assert ds.epochs_completed == 0


@needs_shared
def test_shared_data_matches_a_direct_decode_of_the_files(shared_sets):
    with gzip.open(SHARED / mnist.TEST_IMAGES) as f:
        raw = f.read()
    n, rows, cols = struct.unpack(">3I", raw[4:16])
    first = np.frombuffer(raw[16:16 + rows * cols], np.uint8)
    with gzip.open(SHARED / mnist.TEST_LABELS) as f:
        labels = np.frombuffer(f.read()[8:], np.uint8)
    assert (n, rows, cols) == (10000, 28, 28)
    np.testing.assert_allclose(shared_sets.test.images[0], first / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(shared_sets.test.labels, labels)


@needs_shared
def test_tf_datasets_namespace_reaches_the_module():
    assert tf.datasets.mnist is mnist


# -- options on small synthetic files ------------------------------------------------------------------------
def test_one_hot_uint8_and_unreshaped(tmp_path):
    arrays = _write_small_set(tmp_path)
    data = mnist.read_data_sets(str(tmp_path), one_hot=True, dtype=tf.uint8, reshape=False, validation_size=2)
    assert data.train.images.shape == (10, 3, 2, 1) and data.train.images.dtype == np.uint8
    np.testing.assert_array_equal(data.validation.images[..., 0], arrays[mnist.TRAIN_IMAGES][:2])
    np.testing.assert_array_equal(data.train.labels.argmax(1), arrays[mnist.TRAIN_LABELS][2:])
    assert data.test.labels.shape == (4, 10) and np.all(data.test.labels.sum(1) == 1)
    doubles = mnist.read_data_sets(str(tmp_path), dtype=tf.float64, validation_size=0)
    assert doubles.validation.num_examples == 0 and doubles.train.images.dtype == np.float64
    np.testing.assert_allclose(doubles.test.images, arrays[mnist.TEST_IMAGES].reshape(4, 6) / 255.0)


def test_bad_validation_size_and_dtype(tmp_path):
    _write_small_set(tmp_path)
    with pytest.raises(ValueError, match=r"validation_size must be between 0 and 12 .* got 13"):
        mnist.read_data_sets(str(tmp_path), validation_size=13)
    with pytest.raises(TypeError, match=r"dtype must be uint8 .* or a floating type .* got int32"):
        mnist.read_data_sets(str(tmp_path), dtype=tf.int32)


# -- corrupt and truncated files ------------------------------------------------------------------------------
def _corrupt(path, how):
    raw = gzip.open(path).read()
    if how == "truncated gzip":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "not gzip":
        path.write_bytes(b"this is not a gzip file at all")
    elif how == "truncated payload":
        _write_gz(path, raw[:-3])
    elif how == "trailing bytes":
        _write_gz(path, raw + b"\0\0")
    elif how == "bad magic":
        _write_gz(path, struct.pack(">I", 1234) + raw[4:])
    elif how == "short header":
        _write_gz(path, raw[:6])


@pytest.mark.parametrize("how, message", [
    ("truncated gzip", r"not a valid gzip file"),
    ("not gzip", r"not a valid gzip file"),
    ("truncated payload", r"is truncated: its header says 12 x 3 x 2 = 72 bytes of data, but it holds 69"),
    ("trailing bytes", r"longer than its header says"),
    ("bad magic", r"magic number 1234, expected 2051"),
    ("short header", r"truncated: 6 bytes, fewer than its 16-byte header"),
])
def test_corrupt_image_file_raises_a_clear_error(tmp_path, how, message):
    _write_small_set(tmp_path)
    _corrupt(tmp_path / mnist.TRAIN_IMAGES, how)
    with pytest.raises(mnist.CorruptDataError, match=message) as info:
        mnist.read_data_sets(str(tmp_path), validation_size=0)
    assert mnist.TRAIN_IMAGES in str(info.value)


def test_label_out_of_range_and_count_mismatch(tmp_path):
    _write_small_set(tmp_path)
    _write_gz(tmp_path / mnist.TEST_LABELS, _idx_bytes(2049, (4,), [1, 2, 12, 3]))
    with pytest.raises(mnist.CorruptDataError, match=r"t10k-labels-idx1-ubyte.gz: label 12 at index 2 is outside \[0, 10\)"):
        mnist.read_data_sets(str(tmp_path), validation_size=0)
    _write_gz(tmp_path / mnist.TEST_LABELS, _idx_bytes(2049, (3,), [1, 2, 3]))
    with pytest.raises(mnist.CorruptDataError, match=r"holds 4 images but t10k-labels-idx1-ubyte.gz holds 3 labels"):
        mnist.read_data_sets(str(tmp_path), validation_size=0)


# -- missing files: offline error and the download path ----------------------------------------------------------
def _offline(*args, **kwargs):
    raise urllib.error.URLError("network is unreachable (test)")


def test_missing_files_offline_lists_the_files_and_the_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    target = tmp_path / "nowhere"
    with pytest.raises(mnist.DataUnavailableError) as info:
        mnist.read_data_sets(str(target))
    message = str(info.value)
    assert str(target) in message
    for name in mnist.FILES:
        assert name in message
    assert "network is unreachable" in message
    # Each way to point at the files: the function's argument, the scripts' flag, the environment variable.
    for remedy in ("train_dir=", "--data-dir", "TENSORFLUX_DATA_DIR"):
        assert remedy in message
    assert isinstance(info.value, FileNotFoundError)
    assert not target.exists() or not any(target.iterdir())


def test_only_missing_files_are_fetched(tmp_path, monkeypatch):
    _write_small_set(tmp_path)
    (tmp_path / mnist.TEST_LABELS).unlink()
    asked = []

    def fake(url, timeout=None):
        asked.append(url)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    with pytest.raises(mnist.DataUnavailableError, match=r"missing t10k-labels-idx1-ubyte.gz\. "):
        mnist.read_data_sets(str(tmp_path))
    assert asked and all(url.endswith(mnist.TEST_LABELS) for url in asked)


def _serve(files):
    def fake(url, timeout=None):
        name = url.rsplit("/", 1)[1]
        return io.BytesIO(files[name])

    return fake


@needs_shared
def test_download_checks_sha256_and_writes_atomically(tmp_path, monkeypatch):
    served = {name: (SHARED / name).read_bytes() for name in mnist.FILES}
    for name in (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS):  # the shared train files are a re-packed prefix
        monkeypatch.setitem(mnist.OFFICIAL_SHA256, name, hashlib.sha256(served[name]).hexdigest())
    monkeypatch.setattr(urllib.request, "urlopen", _serve(served))
    target = tmp_path / "fresh" / "mnist"
    data = mnist.read_data_sets(str(target), validation_size=0)
    assert data.test.num_examples == 10000
    assert sorted(os.listdir(target)) == sorted(mnist.FILES)
    for name in mnist.FILES:
        assert (target / name).read_bytes() == served[name]


@needs_shared
def test_download_with_a_wrong_checksum_writes_nothing(tmp_path, monkeypatch):
    bad = (SHARED / mnist.TRAIN_LABELS).read_bytes()  # the official sum is of the full 60,000-label file
    monkeypatch.setattr(urllib.request, "urlopen", _serve(dict.fromkeys(mnist.FILES, bad)))
    with pytest.raises(mnist.DataUnavailableError, match=r"does not match the official 3552534a"):
        mnist.read_data_sets(str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_default_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TENSORFLUX_DATA_DIR", str(tmp_path))
    assert mnist.default_dir() == os.path.join(str(tmp_path), "mnist")
    monkeypatch.delenv("TENSORFLUX_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(mnist, "_checkout_shared_data", lambda: str(tmp_path / "no-shared-data"))
    assert mnist.default_dir() == os.path.join(str(tmp_path / "home"), ".cache", "tensorflux", "mnist")


def test_default_dir_is_the_shared_data_beside_the_checkout_when_it_holds_the_files(monkeypatch, tmp_path):
    monkeypatch.delenv("TENSORFLUX_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # the checkout, not the working directory, decides
    assert os.path.realpath(mnist._checkout_shared_data()) == os.path.realpath(REPO_ROOT.parent / "shared" / "data")

    shared = tmp_path / "shared" / "data"
    monkeypatch.setattr(mnist, "_checkout_shared_data", lambda: str(shared))
    (shared / "mnist").mkdir(parents=True)
    _write_small_set(shared / "mnist")
    assert mnist.default_dir() == str(shared / "mnist")
    assert mnist.read_data_sets(validation_size=0).test.num_examples == 4
    (shared / "mnist" / mnist.TEST_LABELS).unlink()  # an incomplete copy is not used
    assert mnist.default_dir() == os.path.join(str(tmp_path / "home"), ".cache", "tensorflux", "mnist")
    monkeypatch.setenv("TENSORFLUX_DATA_DIR", str(tmp_path / "elsewhere"))
    assert mnist.default_dir() == str(tmp_path / "elsewhere" / "mnist")


# -- next_batch epoch semantics ---------------------------------------------------------------------------------------
def _dataset(n, seed=None):
    images = np.arange(n, dtype=np.uint8).reshape(n, 1, 1, 1)
    return mnist.DataSet(images, np.arange(n, dtype=np.uint8), dtype=tf.uint8, seed=seed)


def test_next_batch_without_shuffle_wraps_across_epochs():
    ds = _dataset(5)
    batches = [ds.next_batch(2, shuffle=False)[1].tolist() for _ in range(2)]
    assert batches == [[0, 1], [2, 3]] and ds.epochs_completed == 0
    images, labels = ds.next_batch(2, shuffle=False)
    assert labels.tolist() == [4, 0] and images[:, 0].tolist() == [4, 0]
    assert ds.epochs_completed == 1
    assert ds.next_batch(4, shuffle=False)[1].tolist() == [1, 2, 3, 4]
    assert ds.epochs_completed == 1


def test_next_batch_shuffles_each_epoch_and_counts_epochs_like_tf():
    ds = _dataset(6, seed=3)
    first = np.concatenate([ds.next_batch(3)[1] for _ in range(2)])
    assert sorted(first.tolist()) == list(range(6))
    assert ds.epochs_completed == 0  # TF counts the epoch when the next batch would run past the end
    second = np.concatenate([ds.next_batch(3)[1] for _ in range(2)])
    assert ds.epochs_completed == 1 and sorted(second.tolist()) == list(range(6))
    orders = [first, second] + [np.concatenate([ds.next_batch(3)[1] for _ in range(2)]) for _ in range(4)]
    assert len({tuple(o.tolist()) for o in orders}) > 1  # reshuffled: not the same order every epoch
    assert ds.epochs_completed == 5
    images, labels = ds.next_batch(6)
    np.testing.assert_array_equal(images[:, 0], labels)  # images and labels stay paired through shuffles


def test_next_batch_crossing_an_epoch_is_rest_then_new_epoch():
    ds = _dataset(5, seed=1)
    head = ds.next_batch(3)[1].tolist()
    crossing = ds.next_batch(4)[1].tolist()
    assert sorted(head + crossing[:2]) == list(range(5))
    assert ds.epochs_completed == 1
    rest = ds.next_batch(3)[1].tolist()
    assert sorted(crossing[2:] + rest) == list(range(5))


def test_next_batch_is_reproducible_with_a_seed_and_checks_batch_size():
    a, b = _dataset(20, seed=7), _dataset(20, seed=7)
    for _ in range(5):
        np.testing.assert_array_equal(a.next_batch(7)[1], b.next_batch(7)[1])
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 20\] .* got 21"):
        a.next_batch(21)
    with pytest.raises(ValueError, match=r"got 0"):
        a.next_batch(0)
