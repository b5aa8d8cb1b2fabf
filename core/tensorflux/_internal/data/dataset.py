"""``tf.data.Dataset`` (TF 1.15 semantics): a value-like handle on a dataset node, whose methods build new ones.

Example:
    >>> import tensorflux as tf
    >>> ds = tf.data.Dataset.from_tensor_slices(([1, 2, 3, 4], [10, 20, 30, 40])).map(lambda x, y: x + y).batch(2)
    >>> nxt = ds.make_one_shot_iterator().get_next()
    >>> with tf.Session() as sess:
    ...     sess.run(nxt).tolist(), sess.run(nxt).tolist()
    ([11, 22], [33, 44])
"""

from __future__ import annotations

from typing import Any, Callable

from ..graph import Tensor
from ..ops.random_ops import get_seed
from .base import Node
from .cache import Cache
from .iterator import Iterator, make_initializable_iterator, make_one_shot_iterator
from .padded_batch import PaddedBatch
from .per_element import FlatMap, Interleave
from .prefetch import Prefetch
from .sources import Generator, Range, Tensors, TensorSlices
from .structure import flatten, map_structure
from .transforms import Batch, Concatenate, Filter, Map, Repeat, Shuffle, Skip, Take, Zip


def _count(value: Any) -> Any:
    """A size or count as a dataset keeps it: a graph tensor as is, anything else as a Python int."""
    return value if isinstance(value, Tensor) or hasattr(value, "_as_tensor") else int(value)


class Dataset:
    """A sequence of elements (tensors nested in tuples and dicts) that an iterator feeds to the graph.

    Sources are the static methods; each transformation returns a new dataset and leaves this one as it is.
    """

    def __init__(self, node: Node) -> None:
        self._node = node

    # -- sources ---------------------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any) -> "Dataset":
        """One element per slice along the first dimension of every component of ``tensors``.

        Example: ``Dataset.from_tensor_slices((images, labels))`` yields ``(images[i], labels[i])``.
        """
        return Dataset(TensorSlices(tensors))

    @staticmethod
    def from_tensors(tensors: Any) -> "Dataset":
        """One element: ``tensors`` whole. Example: ``Dataset.from_tensors([1, 2]).repeat(3)``."""
        return Dataset(Tensors(tensors))

    @staticmethod
    def range(*args: Any) -> "Dataset":
        """int64 scalars as Python's ``range(start, stop, step)``. Example: ``Dataset.range(2, 8, 2)`` is 2, 4, 6."""
        return Dataset(Range(*(_count(a) for a in args)))

    @staticmethod
    def from_generator(generator: Callable, output_types: Any, output_shapes: Any = None,
                       args: Any = None) -> "Dataset":
        """The elements ``generator(*args)`` yields, converted to ``output_types``; a new generator per pass.

        Example: ``Dataset.from_generator(lambda: iter([1, 2]), tf.int64, tf.TensorShape([]))``.
        """
        return Dataset(Generator(generator, output_types, output_shapes, args))

    @staticmethod
    def zip(datasets: Any) -> "Dataset":
        """Elements of ``datasets`` (a tuple or dict of datasets) side by side, nested likewise.

        Example: ``Dataset.zip((images, labels))`` yields ``(image, label)`` pairs.
        """
        flat = flatten(datasets)
        for d in flat:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip takes a (nested) tuple or dict of datasets, got {type(d).__name__}")
        return Dataset(Zip(datasets, [d._node for d in flat]))

    # -- transformations -------------------------------------------------------------------------------------
    def map(self, map_func: Callable, num_parallel_calls: Any = None) -> "Dataset":
        """``map_func`` (built of tf ops; a tuple element is spread over its arguments) applied to each element;
        ``num_parallel_calls`` elements at once, in order. Example: ``ds.map(lambda x, y: (x / 255, y))``."""
        return Dataset(Map(self._node, map_func, None if num_parallel_calls is None else _count(num_parallel_calls)))

    def filter(self, predicate: Callable) -> "Dataset":
        """The elements for which ``predicate`` (returning a scalar bool tensor) holds.

        Example: ``ds.filter(lambda x: x > 2)``.
        """
        return Dataset(Filter(self._node, predicate))

    def batch(self, batch_size: Any, drop_remainder: bool = False) -> "Dataset":
        """Consecutive elements stacked ``batch_size`` at a time; the last, smaller batch is dropped on request.

        Example: ``Dataset.range(5).batch(2)`` is [0, 1], [2, 3], [4].
        """
        return Dataset(Batch(self._node, _count(batch_size), drop_remainder))

    def padded_batch(self, batch_size: Any, padded_shapes: Any = None, padding_values: Any = None,
                     drop_remainder: bool = False) -> "Dataset":
        """Like ``batch``, each component first padded at the end of each dimension to ``padded_shapes`` (nested
        like the elements; a None or -1 dimension pads to the batch's longest, the default for every dimension)
        with ``padding_values`` (default 0, or b'' for strings).

        Example: ``Dataset.range(1, 4).map(lambda n: tf.fill([n], n)).padded_batch(2, [None])`` is
        [[1, 0], [2, 2]], [[3, 3, 3]].
        """
        return Dataset(PaddedBatch(self._node, _count(batch_size), padded_shapes, padding_values, drop_remainder))

    def flat_map(self, map_func: Callable) -> "Dataset":
        """The elements of the dataset ``map_func`` returns for each element, one dataset after the other.

        Example: ``Dataset.range(3).flat_map(lambda n: Dataset.range(n))`` is 0, 0, 1.
        """
        return Dataset(FlatMap(self._node, map_func))

    def interleave(self, map_func: Callable, cycle_length: Any = None, block_length: Any = None,
                   num_parallel_calls: Any = None) -> "Dataset":
        """The elements of the datasets ``map_func`` returns, ``cycle_length`` of them open at once and
        ``block_length`` elements taken from each in turn (``cycle_length`` None or -1, AUTOTUNE: the number of
        CPUs; ``block_length`` by default 1). ``num_parallel_calls`` is accepted; the order is the sequential one,
        as TF's deterministic default.

        Example: ``Dataset.range(1, 3).interleave(lambda n: Dataset.from_tensors(n).repeat(2), 2)`` is 1, 2, 1, 2.
        """
        del num_parallel_calls
        cycle_length = -1 if cycle_length is None else cycle_length
        block_length = 1 if block_length is None else block_length
        return Dataset(Interleave(self._node, map_func, _count(cycle_length), _count(block_length)))

    def cache(self, filename: str = "") -> "Dataset":
        """The same elements, kept in memory by the first complete pass and replayed by later ones (per
        iterator); a file cache (``filename``) is refused. Example: ``ds.map(decode).cache().repeat()``."""
        return Dataset(Cache(self._node, filename))

    def shuffle(self, buffer_size: Any, seed: int | None = None,
                reshuffle_each_iteration: bool | None = None) -> "Dataset":
        """Elements in random order, drawn from a buffer of ``buffer_size``; seeded by ``seed`` and the graph seed
        (the same order in every session), a new order each pass unless ``reshuffle_each_iteration=False``.

        Example: ``Dataset.range(10).shuffle(10, seed=1)``.
        """
        return Dataset(Shuffle(self._node, _count(buffer_size), get_seed(seed), reshuffle_each_iteration))

    def repeat(self, count: Any = None) -> "Dataset":
        """The elements ``count`` times over; forever when ``count`` is None or -1. Example: ``ds.repeat(2)``."""
        return Dataset(Repeat(self._node, None if count is None else _count(count)))

    def prefetch(self, buffer_size: Any) -> "Dataset":
        """The same elements, produced up to ``buffer_size`` ahead by a background thread while the session runs
        the step that consumes them. Example: ``ds.batch(100).prefetch(1)``."""
        return Dataset(Prefetch(self._node, _count(buffer_size)))

    def take(self, count: Any) -> "Dataset":
        """The first ``count`` elements (all when -1). Example: ``Dataset.range(10).take(3)`` is 0, 1, 2."""
        return Dataset(Take(self._node, _count(count)))

    def skip(self, count: Any) -> "Dataset":
        """All but the first ``count`` elements (none when -1). Example: ``Dataset.range(5).skip(3)`` is 3, 4."""
        return Dataset(Skip(self._node, _count(count)))

    def concatenate(self, dataset: "Dataset") -> "Dataset":
        """This dataset's elements, then ``dataset``'s. Example: ``Dataset.range(2).concatenate(Dataset.range(1))``."""
        return Dataset(Concatenate(self._node, dataset._node))

    def apply(self, transformation_func: Callable[["Dataset"], "Dataset"]) -> "Dataset":
        """``transformation_func(self)``, which must return a dataset. Example: ``ds.apply(lambda d: d.take(2))``."""
        result = transformation_func(self)
        if not isinstance(result, Dataset):
            raise TypeError(f"Dataset.apply: the transformation must return a Dataset, got {type(result).__name__}")
        return result

    # -- structure and iterators -----------------------------------------------------------------------------
    @property
    def output_types(self) -> Any:
        """The dtype of each component, nested like the elements."""
        return self._node.types

    @property
    def output_shapes(self) -> Any:
        """The static shape of each component, nested like the elements."""
        return self._node.shapes

    @property
    def output_classes(self) -> Any:
        """The class of each component (``tf.Tensor``), nested like the elements."""
        return map_structure(lambda _: Tensor, self._node.types)

    def make_one_shot_iterator(self) -> Iterator:
        """An iterator that needs no initializer; it starts at its first ``get_next`` in each session."""
        return make_one_shot_iterator(self._node)

    def make_initializable_iterator(self, shared_name: str | None = None) -> Iterator:
        """An iterator whose ``initializer`` must run first; running it again restarts the iteration."""
        return make_initializable_iterator(self, shared_name)

    def __iter__(self) -> Any:
        raise RuntimeError("Dataset objects are not iterable in graph mode; use make_one_shot_iterator() or "
                           "make_initializable_iterator() and run get_next() in a session")

    def __repr__(self) -> str:
        return f"<{self._node.name} shapes: {self.output_shapes}, types: {self.output_types}>"


DatasetV1 = Dataset
