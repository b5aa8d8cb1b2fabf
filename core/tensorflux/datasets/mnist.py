"""MNIST as TF 1.x's tutorials read it: ``read_data_sets(dir)`` gives train, validation and test ``DataSet``s.

The four standard IDX ``.gz`` files are read from ``train_dir``. Missing files are downloaded over
HTTPS from a public mirror, checked against the official SHA-256 sums and written atomically. Files
found locally are validated structurally (header, sizes, label range), so a corrupt or truncated
file raises :class:`CorruptDataError` instead of yielding garbage arrays.

Example:
    >>> from tensorflux.datasets import mnist
    >>> data = mnist.read_data_sets("../shared/data/mnist", one_hot=True)  # doctest: +SKIP
    >>> images, labels = data.train.next_batch(100)  # doctest: +SKIP
    >>> images.shape, labels.shape  # doctest: +SKIP
    ((100, 784), (100, 10))
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import math
import os
import struct
import urllib.error
import urllib.request
import zlib
from typing import Any

import numpy as np

from .._internal import config as _config, dtypes as _dtypes
from .._internal.errors import DataLossError
from .._internal.fileio import atomic_write
from .._internal.untrusted import check_expansion, parsing

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of the official files; a download must match. Files already on disk are checked structurally only.
OFFICIAL_SHA256 = {
    TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
NUM_CLASSES = 10
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049
_TIMEOUT_S = 60

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


class CorruptDataError(DataLossError, ValueError):
    """An MNIST file exists but is not a valid IDX file (bad gzip, bad header, truncated, bad labels).

    A ``tf.errors.DataLossError``, and a ValueError as before.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.datasets.mnist import CorruptDataError
        >>> issubclass(CorruptDataError, (tf.errors.DataLossError, ValueError))
        True
    """


class DataUnavailableError(FileNotFoundError):
    """The MNIST files are not in the directory and could not be downloaded (for example, offline)."""


def default_dir() -> str:
    """Where ``read_data_sets`` looks when given no directory: the first of these that applies.

    1. ``$TENSORFLUX_DATA_DIR/mnist`` when that variable is set;
    2. ``shared/data/mnist`` beside the source checkout tensorflux runs from (``../shared/data/mnist``
       from the repository root, whatever the working directory), when it holds the four files;
    3. ``~/.cache/tensorflux/mnist``, where missing files are downloaded.

    Example:
        >>> from tensorflux.datasets import mnist
        >>> mnist.default_dir().endswith("mnist")
        True
    """
    root = _config.data_dir()
    if root is not None:
        return os.path.join(root, "mnist")
    shared = _checkout_shared_data()
    if shared is not None and all(os.path.isfile(os.path.join(shared, "mnist", name)) for name in FILES):
        return os.path.join(shared, "mnist")
    return os.path.join(os.path.expanduser("~"), ".cache", "tensorflux", "mnist")


def _checkout_shared_data() -> str | None:
    """``<checkout>/../shared/data`` when this package is the one in a source checkout's ``core/``, else None.

    The development machines keep one copy of the data sets beside their checkouts; an installed (not
    editable) tensorflux has no checkout, and then this is None.
    """
    core = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    checkout = os.path.dirname(core)
    if os.path.basename(core) != "core" or not os.path.isfile(os.path.join(checkout, "pyproject.toml")):
        return None
    return os.path.join(os.path.dirname(checkout), "shared", "data")


class DataSet:
    """Images and labels with TF 1.x's ``next_batch`` epoch semantics.

    ``images`` are ``[N, rows * cols]`` (or ``[N, rows, cols, 1]`` without ``reshape``), scaled to [0, 1]
    for floating dtypes and left as 0..255 for uint8. ``labels`` are uint8 class indices, or one-hot rows.

    Example:
        >>> import numpy as np
        >>> from tensorflux.datasets.mnist import DataSet
        >>> ds = DataSet(np.zeros((5, 2, 2, 1), np.uint8), np.arange(5, dtype=np.uint8), seed=0)
        >>> ds.next_batch(3)[0].shape, ds.num_examples, ds.epochs_completed
        ((3, 4), 5, 0)
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, dtype: Any = _dtypes.float32, reshape: bool = True,
                 seed: int | None = None) -> None:
        dt = _image_dtype(dtype)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"DataSet: images has {images.shape[0]} examples but labels has {labels.shape[0]}")
        if images.ndim != 4 or images.shape[3] != 1:
            raise ValueError(f"DataSet: images must have shape [N, rows, cols, 1], got {list(images.shape)}")
        if reshape:
            images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
        if dt.kind == "f":
            images = images.astype(dt) * dt.type(1.0 / 255.0)
        self._images, self._labels = images, labels
        self._num_examples = images.shape[0]
        self._epochs_completed = 0
        self._index_in_epoch = 0
        self._rng = np.random.default_rng(seed)

    @property
    def images(self) -> np.ndarray:
        return self._images

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._num_examples

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def _shuffle(self) -> None:
        perm = self._rng.permutation(self._num_examples)
        self._images, self._labels = self._images[perm], self._labels[perm]

    def next_batch(self, batch_size: int, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` examples, as TF: shuffled before the first epoch and at each epoch's end.

        A batch that crosses the end of an epoch is the rest of that epoch followed by the start of
        the next (reshuffled) one, and ``epochs_completed`` counts up.

        Example:
            >>> import numpy as np
            >>> from tensorflux.datasets.mnist import DataSet
            >>> ds = DataSet(np.zeros((5, 1, 1, 1), np.uint8), np.arange(5, dtype=np.uint8))
            >>> _ = ds.next_batch(4, shuffle=False); labels = ds.next_batch(4, shuffle=False)[1]
            >>> labels.tolist(), ds.epochs_completed
            ([4, 0, 1, 2], 1)
        """
        batch_size = int(batch_size)
        if not 0 < batch_size <= self._num_examples:
            raise ValueError(f"next_batch: batch_size must be in [1, {self._num_examples}] (the number of examples), "
                             f"got {batch_size}")
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        if start + batch_size <= self._num_examples:
            self._index_in_epoch = start + batch_size
            return self._images[start:self._index_in_epoch], self._labels[start:self._index_in_epoch]
        self._epochs_completed += 1
        rest_images, rest_labels = self._images[start:], self._labels[start:]
        if shuffle:
            self._shuffle()
        self._index_in_epoch = batch_size - (self._num_examples - start)
        end = self._index_in_epoch
        return (np.concatenate([rest_images, self._images[:end]]), np.concatenate([rest_labels, self._labels[:end]]))

    def __repr__(self) -> str:
        return (f"DataSet(num_examples={self._num_examples}, images={list(self._images.shape)} {self._images.dtype}, "
                f"labels={list(self._labels.shape)} {self._labels.dtype}, epochs_completed={self._epochs_completed})")


def _image_dtype(dtype: Any) -> np.dtype:
    dt = _dtypes.as_dtype(dtype)
    if dt is not _dtypes.uint8 and not dt.is_floating:
        raise TypeError(f"MNIST images: dtype must be uint8 (raw 0..255) or a floating type (scaled to [0, 1]), "
                        f"got {dt.name}")
    return np.dtype(dt.np_dtype)


# -- reading IDX files -----------------------------------------------------------------------------
def _parse_idx(path: str, magic: int, ndim: int) -> tuple[tuple[int, ...], bytes]:
    """The dims and data of an IDX ``.gz`` file, its header checked before the data is inflated."""
    with parsing(f"MNIST file {path}", corrupt=CorruptDataError, invalid=CorruptDataError):
        try:
            packed = os.path.getsize(path)
            with gzip.open(path, "rb") as f:
                return _read_idx(f, path, magic, ndim, packed)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptDataError(f"MNIST file {path} is not a valid gzip file ({exc}); delete it so that it is "
                                   "downloaded again, or replace it with the official file") from None


def _read_idx(f: Any, path: str, magic: int, ndim: int, packed: int) -> tuple[tuple[int, ...], bytes]:
    header = 4 + 4 * ndim
    head = f.read(header)
    if len(head) < header:
        raise CorruptDataError(f"MNIST file {path} is truncated: {len(head)} bytes, fewer than its {header}-byte header")
    got_magic, *dims = struct.unpack(f">{1 + ndim}I", head)
    if got_magic != magic:
        kind = "images" if magic == _IMAGES_MAGIC else "labels"
        raise CorruptDataError(f"MNIST file {path}: magic number {got_magic}, expected {magic} (an IDX {kind} file)")
    # Python ints: the product of crafted uint32 dims must not wrap around.
    expected = math.prod(dims)
    # The header's claim bounds what is inflated: a gzip bomb stops at the limit, not at memory's end.
    check_expansion(header + expected, packed, f"MNIST file {path}")
    body = f.read(expected + 1)
    if len(body) != expected:
        what = "truncated" if len(body) < expected else "longer than its header says"
        held = len(body) if len(body) < expected else f"more than {expected}"
        raise CorruptDataError(f"MNIST file {path} is {what}: its header says {' x '.join(map(str, dims))} = {expected} "
                               f"bytes of data, but it holds {held}")
    return tuple(dims), body


def extract_images(path: str) -> np.ndarray:
    """The images of an IDX3 ``.gz`` file as uint8 ``[N, rows, cols, 1]``.

    Example:
        >>> from tensorflux.datasets import mnist
        >>> mnist.extract_images("../shared/data/mnist/t10k-images-idx3-ubyte.gz").shape  # doctest: +SKIP
        (10000, 28, 28, 1)
    """
    (n, rows, cols), body = _parse_idx(path, _IMAGES_MAGIC, 3)
    if rows == 0 or cols == 0:
        raise CorruptDataError(f"MNIST file {path}: images of {rows} x {cols} pixels")
    # No images of a huge size still make a shape numpy cannot hold (found by `make fuzz`).
    with parsing(f"MNIST file {path}", corrupt=CorruptDataError, invalid=CorruptDataError):
        return np.frombuffer(body, dtype=np.uint8).reshape(n, rows, cols, 1)


def extract_labels(path: str, one_hot: bool = False, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """The labels of an IDX1 ``.gz`` file: uint8 ``[N]``, or float32 ``[N, num_classes]`` with ``one_hot``.

    Example:
        >>> from tensorflux.datasets import mnist
        >>> mnist.extract_labels("../shared/data/mnist/t10k-labels-idx1-ubyte.gz").shape  # doctest: +SKIP
        (10000,)
    """
    _, body = _parse_idx(path, _LABELS_MAGIC, 1)
    labels = np.frombuffer(body, dtype=np.uint8)
    if labels.size and labels.max() >= num_classes:
        bad = int(np.argmax(labels >= num_classes))
        raise CorruptDataError(f"MNIST file {path}: label {int(labels[bad])} at index {bad} is outside [0, {num_classes})")
    return dense_to_one_hot(labels, num_classes) if one_hot else labels


def dense_to_one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Class indices ``[N]`` to float32 one-hot rows ``[N, num_classes]``.

    Example:
        >>> from tensorflux.datasets.mnist import dense_to_one_hot
        >>> dense_to_one_hot([1, 0], 3).tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    labels = np.asarray(labels)
    out = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


# -- download -----------------------------------------------------------------------------------
def _download(name: str, directory: str, mirrors: tuple[str, ...]) -> None:
    """Fetch ``name`` from the first mirror that serves the official bytes; write it atomically."""
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + name
        try:
            with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
                data = response.read()
        except (OSError, urllib.error.URLError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != OFFICIAL_SHA256[name]:
            errors.append(f"{url}: sha256 {digest} does not match the official {OFFICIAL_SHA256[name]}")
            continue
        _write_atomically(os.path.join(directory, name), data)
        return
    raise OSError("; ".join(errors))


def _write_atomically(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_write(path) as f:
        f.write(data)


def maybe_download(directory: str, source_url: str | None = None) -> dict[str, str]:
    """Paths of the four MNIST files in ``directory``, downloading any that are missing.

    Raises :class:`DataUnavailableError`, listing the files expected and the directory searched,
    when a missing file cannot be downloaded (for example, offline).

    Example:
        >>> from tensorflux.datasets import mnist
        >>> sorted(mnist.maybe_download("../shared/data/mnist"))[0]  # doctest: +SKIP
        't10k-images-idx3-ubyte.gz'
    """
    directory = os.path.abspath(os.path.expanduser(directory))
    paths = {name: os.path.join(directory, name) for name in FILES}
    missing = [name for name, path in paths.items() if not os.path.isfile(path)]
    mirrors = (source_url,) if source_url else MIRRORS
    failures = []
    for name in missing:
        try:
            _download(name, directory, mirrors)
        except OSError as exc:
            failures.append(f"  {name}: {exc}")
    if failures:
        still = [name for name in FILES if not os.path.isfile(paths[name])]
        raise DataUnavailableError(
            f"MNIST data not found in {directory}: expected the four files {', '.join(FILES)}; missing "
            f"{', '.join(still)}. Downloading them failed:\n" + "\n".join(failures) +
            "\nPut the official files in that directory, or point to a directory that holds them: "
            "read_data_sets(train_dir=...) in code, --data-dir DIR for the example scripts, or, for either, "
            "the environment variable TENSORFLUX_DATA_DIR=ROOT, whose mnist/ subdirectory holds them."
        )
    return paths


def read_data_sets(train_dir: str | None = None, one_hot: bool = False, dtype: Any = _dtypes.float32,
                   reshape: bool = True, validation_size: int = 5000, seed: int | None = None, *,
                   source_url: str | None = None) -> Datasets:
    """Read (downloading if needed) MNIST from ``train_dir`` into train, validation and test ``DataSet``s.

    The first ``validation_size`` training images become the validation set. ``train_dir`` defaults to
    :func:`default_dir`. ``seed`` makes the shuffling of ``next_batch`` reproducible.

    Example:
        >>> import tensorflux as tf
        >>> mnist = tf.datasets.mnist.read_data_sets("../shared/data/mnist", one_hot=True)  # doctest: +SKIP
        >>> mnist.test.images.shape, mnist.test.labels.shape  # doctest: +SKIP
        ((10000, 784), (10000, 10))
    """
    image_dtype = _image_dtype(dtype)
    paths = maybe_download(train_dir if train_dir is not None else default_dir(), source_url)
    train_images, test_images = extract_images(paths[TRAIN_IMAGES]), extract_images(paths[TEST_IMAGES])
    train_labels = extract_labels(paths[TRAIN_LABELS], one_hot=one_hot)
    test_labels = extract_labels(paths[TEST_LABELS], one_hot=one_hot)
    for images, labels, i_name, l_name in ((train_images, train_labels, TRAIN_IMAGES, TRAIN_LABELS),
                                           (test_images, test_labels, TEST_IMAGES, TEST_LABELS)):
        if images.shape[0] != labels.shape[0]:
            raise CorruptDataError(f"MNIST: {i_name} holds {images.shape[0]} images but {l_name} holds "
                                   f"{labels.shape[0]} labels")
    if not 0 <= validation_size <= len(train_images):
        raise ValueError(f"read_data_sets: validation_size must be between 0 and {len(train_images)} (the number "
                         f"of training images), got {validation_size}")
    if one_hot and image_dtype == np.float64:
        train_labels, test_labels = train_labels.astype(np.float64), test_labels.astype(np.float64)
    kwargs = {"dtype": image_dtype, "reshape": reshape}
    return Datasets(
        train=DataSet(train_images[validation_size:], train_labels[validation_size:], seed=_sub_seed(seed, 0), **kwargs),
        validation=DataSet(train_images[:validation_size], train_labels[:validation_size], seed=_sub_seed(seed, 1),
                           **kwargs),
        test=DataSet(test_images, test_labels, seed=_sub_seed(seed, 2), **kwargs),
    )


def _sub_seed(seed: int | None, index: int) -> Any:
    return None if seed is None else [int(seed), index]

