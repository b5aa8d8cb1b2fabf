"""Data-parallel training across MPI ranks, Horovod-style: ``mpiexec -n 4 python train.py``.

Every rank builds the same graph and trains on its own shard of the data. ``DistributedOptimizer``
averages the gradients across ranks (MPI Allreduce, fused into buckets) before they are applied, and
``broadcast_global_variables`` makes every rank start from rank 0's initial values. Only the chief
(rank 0) should write checkpoints and summaries: see :func:`is_chief`.

mpi4py is imported on first use, by :func:`init`. A script run without an MPI launcher and without mpi4py
is a world of one, so the same script runs single-process unchanged.

Example:
    >>> import tensorflux as tf
    >>> tf.distribute.init()
    >>> w = tf.Variable(2.0)
    >>> opt = tf.distribute.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.25))
    >>> train = opt.minimize(tf.square(w), var_list=[w])
    >>> with tf.Session() as sess:
    ...     sess.run(tf.global_variables_initializer())
    ...     sess.run(tf.distribute.broadcast_global_variables(0))
    ...     sess.run(train)
    ...     float(sess.run(w)) if tf.distribute.is_chief() else 1.0
    1.0
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._internal.distribute import background as _background, comm as _comm
from ._internal.graph import Operation, Tensor, control_dependencies, get_default_graph, name_scope
from ._internal.op_builder import apply_op, convert_to_tensor, make_constant
from ._internal.ops.state_ops import group
from ._internal.training.hooks import SessionRunHook
from ._internal.training.optimizer import Optimizer
from ._internal.variables import Variable, global_variables

__all__ = [
    "BroadcastGlobalVariablesHook", "DistributedOptimizer", "allreduce", "allreduce_arrays", "allreduce_arrays_finish",
    "allreduce_arrays_start", "broadcast",
    "broadcast_arrays", "broadcast_global_variables", "data_parallel", "init", "is_chief", "local_rank", "rank", "shard",
    "shard_dataset", "size",
]


def init() -> None:
    """Join the MPI world (imports mpi4py); safe to call more than once.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> 0 <= tf.distribute.rank() < tf.distribute.size()
        True
    """
    _comm.init()


def rank() -> int:
    """This process's rank in the world, 0 to ``size() - 1``.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init(); tf.distribute.rank() >= 0
        True
    """
    return _comm.rank()


def size() -> int:
    """The number of ranks in the world (1 without an MPI launcher).

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init(); tf.distribute.size() >= 1
        True
    """
    return _comm.size()


def local_rank() -> int:
    """This process's rank among the ranks on its host: use it to pick a device per process.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init(); tf.distribute.local_rank() <= tf.distribute.rank()
        True
    """
    return _comm.local_rank()


def is_chief() -> bool:
    """True on rank 0, the one rank that should write checkpoints, summaries and logs.

    Other ranks hold the same variables (gradients are averaged), so their writes would only race.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> saver_dir = "/tmp/ckpt" if tf.distribute.is_chief() else None
    """
    return _comm.rank() == 0


# -- host-side collectives (used by the cpu kernels and by benchmarks) ------------------------------
def allreduce_arrays(arrays: list, average: bool = True, in_place: bool = False) -> list:
    """Sum or average numpy arrays of one dtype across ranks, with one collective over a fused buffer: an MPI
    Allreduce, or from ``TENSORFLUX_ALLREDUCE_RING_BYTES`` (8 MiB) a ring allreduce over MPI point-to-point.

    With ``in_place`` a single C-contiguous writeable array is reduced into itself.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> tf.distribute.init()
        >>> [a.shape for a in tf.distribute.allreduce_arrays([np.ones(3), np.ones((2, 2))])]
        [(3,), (2, 2)]
    """
    # Straight through (the dtype check is comm's): this is the kernel's path, between two large transfers.
    return _comm.allreduce_arrays(arrays, average, in_place)


def allreduce_arrays_start(arrays: list, average: bool = True, in_place: bool = False) -> int:
    """Begin ``allreduce_arrays`` on the background communication thread and return its handle at once.

    The arrays are packed before this returns, so the caller may change or drop them. Collectives started
    this way run in the order of the calls, which must be the same on every rank.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> tf.distribute.init()
        >>> handle = tf.distribute.allreduce_arrays_start([np.ones(2)])
        >>> [a.tolist() for a in tf.distribute.allreduce_arrays_finish(handle)]
        [[1.0, 1.0]]
    """
    return _background.start(arrays, average, in_place)


def allreduce_arrays_finish(handle: int) -> list:
    """Wait for the allreduce ``allreduce_arrays_start`` returned ``handle`` for, and return its arrays.

    Example: ``outs = tf.distribute.allreduce_arrays_finish(tf.distribute.allreduce_arrays_start([grad]))``.
    """
    return _background.finish(handle)


def broadcast_arrays(arrays: list, root_rank: int = 0) -> list:
    """Copies of ``root_rank``'s numpy arrays on every rank.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> tf.distribute.init()
        >>> tf.distribute.broadcast_arrays([np.arange(3)])[0].tolist()
        [0, 1, 2]
    """
    return _comm.broadcast_arrays(list(arrays), int(root_rank))


# -- graph ops -------------------------------------------------------------------------------------
def allreduce(tensors: list, average: bool = True, name: str | None = None) -> list[Tensor]:
    """One ``MpiAllreduce`` op: the inputs (one dtype) summed or averaged across ranks in one fused buffer.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> [y] = tf.distribute.allreduce([tf.constant([2.0, 4.0])])
        >>> tf.Session().run(y).tolist() if tf.distribute.size() == 1 else [2.0, 4.0]
        [2.0, 4.0]
    """
    tensors = [convert_to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("allreduce needs at least one tensor, got none")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"allreduce: the tensors of one op must share a dtype, got "
                        f"{[(t.name, t.dtype.name) for t in tensors]}")
    _comm.init()
    return list(apply_op("MpiAllreduce", tensors, average=bool(average), name=name or "MpiAllreduce"))


def broadcast(tensors: list, root_rank: int = 0, name: str | None = None) -> list[Tensor]:
    """One ``MpiBroadcast`` op: every rank gets ``root_rank``'s values of the inputs (one dtype).

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> [y] = tf.distribute.broadcast([tf.constant([1, 2])])
        >>> tf.Session().run(y).tolist()
        [1, 2]
    """
    tensors = [convert_to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("broadcast needs at least one tensor, got none")
    _comm.init()
    return list(apply_op("MpiBroadcast", tensors, root_rank=int(root_rank), name=name or "MpiBroadcast"))


def _buckets(items: list, fusion_bytes: int) -> list[list]:
    """Group (tensor, payload) items by dtype, in order, into buckets of at most ``fusion_bytes``.

    A tensor larger than the limit gets a bucket of its own; every rank computes the same buckets
    because every rank builds the same graph.
    """
    buckets: list[list] = []
    open_by_dtype: dict = {}
    for item in items:
        t = item[0]
        # A tensor of unknown size is given a bucket of its own.
        known = t.shape.is_fully_defined()
        nbytes = t.shape.num_elements() * np.dtype(t.dtype.as_numpy_dtype).itemsize if known else fusion_bytes
        bucket = open_by_dtype.get(t.dtype)
        if bucket is None or bucket[0] + nbytes > fusion_bytes:
            bucket = [0, []]
            open_by_dtype[t.dtype] = bucket
            buckets.append(bucket[1])
        bucket[0] += nbytes
        bucket[1].append(item)
    return buckets


def _chained(buckets: list[list], make: Any) -> list:
    """Build one collective op per bucket, each after the previous one.

    Collectives must run in the same order on every rank or they deadlock: a control-dependency chain
    fixes the order whatever order the executor would otherwise pick.
    """
    results, previous = [], None
    for bucket in buckets:
        with control_dependencies([] if previous is None else [previous]):
            outs = make(bucket)
        previous = outs[0].op
        results.append(outs)
    return results


def _overlapped(buckets: list[list]) -> list:
    """One ``MpiAllreduceStart`` per bucket, each taking the previous one's handle as its first input, then
    one ``MpiAllreduceFinish`` per bucket.

    The handle chain fixes the order in which every rank queues its buckets. Being the first input, it also
    makes a plan (which reaches an op's inputs in order) reach the previous bucket's Start before this
    bucket's gradients: each Start runs as soon as its own gradients exist, and the backward pass goes on
    while the background thread reduces them. The Finishes run where the updates need them.
    """
    handle = make_constant(np.int64(0), name="allreduce_order")
    started = []
    for bucket in buckets:
        tensors = [convert_to_tensor(g) for g, _ in bucket]
        [handle] = apply_op("MpiAllreduceStart", handle, tensors, average=True, name="MpiAllreduceStart")
        started.append((handle, tensors))
    return [apply_op("MpiAllreduceFinish", h, T=[t.dtype for t in ts], output_shapes=[t.shape for t in ts],
                     name="MpiAllreduceFinish") for h, ts in started]


class DistributedOptimizer(Optimizer):
    """Wrap an optimizer so that its gradients are averaged across ranks before they are applied.

    Gradients are packed, by dtype, into buckets of at most ``fusion_bytes`` (Horovod's tensor fusion).
    With ``overlap`` (the default) the buckets follow the order in which the backward pass makes the
    gradients, and when there are several, each is reduced on a background thread from the moment its
    gradients exist, while the backward pass goes on (``MpiAllreduceStart``/``MpiAllreduceFinish``).
    Otherwise each bucket is one ``MpiAllreduce``, after the whole backward pass. Every rank must build the
    same graph. With each rank training on its own shard, a step with per-rank batch ``b`` on ``n`` ranks is
    a step of the wrapped optimizer on a batch of ``n * b``.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> w = tf.Variable([1.0, 2.0])
        >>> opt = tf.distribute.DistributedOptimizer(tf.train.AdamOptimizer(0.1), fusion_bytes=1 << 20)
        >>> [g.op.type for g, _ in opt.compute_gradients(tf.reduce_sum(w * w), var_list=[w])]
        ['MpiAllreduce']
    """

    def __init__(self, optimizer: Optimizer, fusion_bytes: int = 64 << 20, name: str | None = None,
                 overlap: bool = True) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer wraps a tf.train.Optimizer, got {type(optimizer).__name__} "
                            f"{optimizer!r}")
        if int(fusion_bytes) < 1:
            raise ValueError(f"DistributedOptimizer: fusion_bytes must be >= 1, got {fusion_bytes!r}")
        super().__init__(use_locking=False, name=name or f"Distributed{optimizer.get_name()}")
        self._optimizer = optimizer
        self._fusion_bytes = int(fusion_bytes)
        self._overlap = bool(overlap)
        _comm.init()

    def compute_gradients(self, loss: Any, var_list: Any = None, gate_gradients: int = Optimizer.GATE_OP,
                          aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> list:
        """The wrapped optimizer's (gradient, variable) pairs, each gradient averaged across ranks.

        Example:
            >>> import tensorflux as tf
            >>> w = tf.Variable(3.0)
            >>> opt = tf.distribute.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1))
            >>> [v is w for _, v in opt.compute_gradients(w * w, var_list=[w])]
            [True]
        """
        pairs = self._optimizer.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients, aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        present = [(g, i) for i, (g, _) in enumerate(pairs) if g is not None]
        if not present:
            return pairs
        averaged = list(pairs)
        with name_scope(f"{self.get_name()}_Allreduce"):
            if self._overlap:
                # Backprop makes the gradients in about the order it creates their ops: the last layer's first.
                present = sorted(((convert_to_tensor(g), i) for g, i in present), key=lambda item: item[0].op._id)
            buckets = _buckets(present, self._fusion_bytes)
            if self._overlap and len(buckets) > 1:
                outs = _overlapped(buckets)
            else:
                # One bucket has nothing after it to overlap, and the handoff to the thread would cost 0-5% of
                # a small model's step.
                outs = _chained(buckets, lambda b: allreduce([g for g, _ in b], average=True))
        for bucket, reduced in zip(buckets, outs):
            for (_, i), r in zip(bucket, reduced):
                averaged[i] = (r, pairs[i][1])
        return averaged

    def apply_gradients(self, grads_and_vars: Any, global_step: Any = None, name: str | None = None) -> Operation:
        """Apply (already averaged) gradients with the wrapped optimizer.

        Example:
            >>> import tensorflux as tf
            >>> w = tf.Variable(1.0)
            >>> opt = tf.distribute.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.5))
            >>> train = opt.apply_gradients(opt.compute_gradients(w * w, var_list=[w]))
            >>> with tf.Session() as sess:
            ...     sess.run(tf.global_variables_initializer()); sess.run(train); float(sess.run(w))
            0.0
        """
        return self._optimizer.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        """The wrapped optimizer's slot ``name`` for ``var``. Example: ``opt.get_slot(w, "m")``."""
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self) -> list[str]:
        """The wrapped optimizer's slot names. Example: ``opt.get_slot_names() == ['m', 'v']`` for Adam."""
        return self._optimizer.get_slot_names()

    def variables(self) -> list[Variable]:
        """The wrapped optimizer's variables. Example: ``saver = tf.train.Saver(opt.variables())``."""
        return self._optimizer.variables()


def broadcast_global_variables(root_rank: int = 0, name: str | None = None) -> Operation:
    """An op that sets every global variable to ``root_rank``'s value; run it once after initialization.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> v = tf.Variable(tf.random_normal([3]))
        >>> sync = tf.distribute.broadcast_global_variables(0)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer()); sess.run(sync)
    """
    variables = global_variables()
    graph = get_default_graph()
    with graph.name_scope(name or "BroadcastGlobalVariables") as scope:
        if not variables:
            return group(name=scope)
        buckets = _buckets([(v.value() if hasattr(v, "value") else convert_to_tensor(v), v) for v in variables],
                           64 << 20)
        outs = _chained(buckets, lambda b: broadcast([t for t, _ in b], root_rank=root_rank))
        assigns = [v.assign(r).op for bucket, reduced in zip(buckets, outs) for (_, v), r in zip(bucket, reduced)]
        return group(*assigns, name=scope)


class BroadcastGlobalVariablesHook(SessionRunHook):
    """Broadcast the global variables from ``root_rank`` once a session has initialized them.

    A ``tf.train.SessionRunHook``: pass it to ``MonitoredTrainingSession(hooks=[...])``, or call
    ``after_create_session(sess)`` right after running the initializer; build it before the graph is finalized.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> v = tf.Variable(1.0)
        >>> hook = tf.distribute.BroadcastGlobalVariablesHook(0)
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer()); hook.after_create_session(sess)
    """

    def __init__(self, root_rank: int = 0) -> None:
        self._op = broadcast_global_variables(root_rank)

    def after_create_session(self, session: Any, coord: Any = None) -> None:
        session.run(self._op)


# -- data sharding ---------------------------------------------------------------------------------
def shard(n_examples: int) -> np.ndarray:
    """The indices of ``n_examples`` that this rank trains on: every ``size()``-th from ``rank()``.

    Example:
        >>> import tensorflux as tf
        >>> tf.distribute.init()
        >>> len(tf.distribute.shard(10)) == len(range(tf.distribute.rank(), 10, tf.distribute.size()))
        True
    """
    if int(n_examples) < 0:
        raise ValueError(f"shard: n_examples must be >= 0, got {n_examples}")
    return np.arange(_comm.rank(), int(n_examples), _comm.size())


def shard_dataset(dataset: Any) -> Any:
    """This rank's shard of a ``tf.datasets.mnist.DataSet``: every ``size()``-th example from ``rank()``.

    The shard is a DataSet with the same ``next_batch`` semantics over its own examples; the source is
    left untouched.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> from tensorflux.datasets.mnist import DataSet
        >>> tf.distribute.init()
        >>> ds = DataSet(np.zeros((6, 1, 1, 1), np.uint8), np.arange(6, dtype=np.uint8), seed=0)
        >>> tf.distribute.shard_dataset(ds).num_examples == 6 // tf.distribute.size()
        True
    """
    idx = shard(dataset.num_examples)
    if len(idx) == 0:
        raise ValueError(f"shard_dataset: {dataset.num_examples} examples cannot be shared among {_comm.size()} ranks")
    # DataSet's constructor rescales raw uint8 images, so a shard is a copy with its arrays replaced rather
    # than a new DataSet built from already-scaled images.
    part = copy.copy(dataset)
    part._images, part._labels = dataset.images[idx], dataset.labels[idx]
    part._num_examples = len(idx)
    part._epochs_completed, part._index_in_epoch = 0, 0
    part._rng = copy.deepcopy(dataset._rng)
    return part



def data_parallel(dataset: Any, global_batch: int) -> tuple[Any, int]:
    """Start MPI and return this rank's shard of ``dataset`` and its share of a ``global_batch``.

    The global batch is split evenly among the ranks, so a run takes the same optimizer steps as one
    process over the same batches.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> from tensorflux.datasets.mnist import DataSet
        >>> ds = DataSet(np.zeros((8, 1, 1, 1), np.uint8), np.arange(8, dtype=np.uint8), seed=0)
        >>> shard, batch = tf.distribute.data_parallel(ds, 4)
        >>> batch * tf.distribute.size()
        4
    """
    init()
    ranks = size()
    if global_batch % ranks:
        raise ValueError(f"the batch size {global_batch} must be divisible by the {ranks} MPI ranks")
    return shard_dataset(dataset), global_batch // ranks
