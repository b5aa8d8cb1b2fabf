"""Allreduce on the background thread (core/tensorflux/_internal/distribute/background.py) and the overlapped
DistributedOptimizer built on it: its schedule, its results across real MPI ranks, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from test_distribute import _launch, _results, _skip_reason, _worker

import tensorflux as tf
from tensorflux._internal.distribute import background
from tensorflux._internal.executor import compile_plan


def _mlp_train_op(overlap: bool, fusion_bytes: int = 16):
    x = tf.placeholder(tf.float32, [None, 4])
    h = x
    for i, (a, b) in enumerate([(4, 8), (8, 8), (8, 1)]):
        h = tf.matmul(h, tf.Variable(tf.ones([a, b])), name=f"layer{i}")
        h = tf.nn.relu(h) if i < 2 else h
    # fusion_bytes=16: one bucket per layer, as each weight matrix is more than 16 bytes.
    opt = tf.distribute.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1), fusion_bytes=fusion_bytes,
                                             overlap=overlap)
    return x, opt.minimize(tf.reduce_sum(h))


def test_each_bucket_starts_as_soon_as_backprop_has_made_it_and_finishes_where_an_update_needs_it():
    tf.distribute.init()
    with tf.Graph().as_default():
        x, train = _mlp_train_op(overlap=True)
        with tf.Session() as sess:
            plan = compile_plan(sess._state, [train], [x])
    names = [op.name for op in plan.step_ops]
    starts = [i for i, n in enumerate(names) if n.endswith(("MpiAllreduceStart", "MpiAllreduceStart_1",
                                                             "MpiAllreduceStart_2"))]
    finishes = [i for i, n in enumerate(names) if "MpiAllreduceFinish" in n]
    weight_grads = [names.index(f"gradients/layer{i}_grad/MatMul_1") for i in (2, 1, 0)]
    assert len(starts) == len(finishes) == 3, names
    # The last layer's gradient is reduced first, while the earlier layers' gradients are still to be made.
    assert weight_grads[0] < starts[0] < weight_grads[1] < starts[1] < weight_grads[2] < starts[2], names
    assert min(finishes) > max(starts), names


@pytest.mark.parametrize(("overlap", "fusion_bytes", "buckets"), [(False, 16, 3), (True, 1 << 20, 1)])
def test_without_overlap_or_with_one_bucket_each_bucket_is_one_allreduce_after_the_backward_pass(
        overlap, fusion_bytes, buckets):
    # One bucket has nothing after it to overlap: the thread would only cost its handoff.
    tf.distribute.init()
    with tf.Graph().as_default():
        x, train = _mlp_train_op(overlap=overlap, fusion_bytes=fusion_bytes)
        with tf.Session() as sess:
            plan = compile_plan(sess._state, [train], [x])
    types = [op.type for op in plan.step_ops]
    assert types.count("MpiAllreduce") == buckets and "MpiAllreduceStart" not in types


def test_finishing_a_handle_never_started_names_it():
    tf.distribute.init()
    with pytest.raises(RuntimeError, match="no allreduce was started under handle 987654"):
        tf.distribute.allreduce_arrays_finish(987654)
    handle = tf.distribute.allreduce_arrays_start([np.ones(3)])
    tf.distribute.allreduce_arrays_finish(handle)
    with pytest.raises(RuntimeError, match=f"handle {handle}, or it was finished already"):
        tf.distribute.allreduce_arrays_finish(handle)


def test_a_bucket_of_mixed_dtypes_or_of_nothing_is_refused_when_started():
    tf.distribute.init()
    with pytest.raises(TypeError, match="must share a dtype, got \\['float32', 'int64'\\]"):
        tf.distribute.allreduce_arrays_start([np.ones(2, np.float32), np.ones(2, np.int64)])
    with pytest.raises(ValueError, match="allreduce needs at least one array, got none"):
        tf.distribute.allreduce_arrays_start([])


def test_started_allreduces_never_finished_do_not_pile_up():
    # A run that fails between a Start and its Finish leaves its job behind; finished ones are dropped.
    tf.distribute.init()
    for _ in range(3 * background._MAX_UNFINISHED):
        tf.distribute.allreduce_arrays_start([np.ones(4)])
    assert len(background._jobs) <= background._MAX_UNFINISHED


def test_the_started_arrays_may_change_at_once():
    tf.distribute.init()
    grad = np.arange(4.0)
    handle = tf.distribute.allreduce_arrays_start([grad])
    grad[:] = -1.0  # packed already: the reduction does not see this
    [out] = tf.distribute.allreduce_arrays_finish(handle)
    assert out.tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
@pytest.mark.parametrize(("ranks", "ring_bytes"), [(2, "8M"), (4, "8M"), (2, "0")])
def test_overlapped_training_takes_the_same_steps_as_reducing_after_the_backward_pass(ranks, ring_bytes):
    results = _results(_launch(ranks, *_worker("overlap"), env={"TENSORFLUX_ALLREDUCE_RING_BYTES": ring_bytes}),
                       ranks)
    for r in results:
        assert r["ops"] == {"True": ["MpiAllreduceFinish"], "False": ["MpiAllreduce"]}, r
        assert r["buckets"]["True"] > 1 and r["buckets"]["False"] > 1, r
        assert r["matches_mpi"], f"rank {r['rank']}: the averaged gradients differ from MPI's own mean"
        # Sums of two are exact whatever the order; past two, MPI may add in another order per bucket layout.
        exact = ranks == 2
        assert (r["same_grads"] and r["same_weights"]) if exact else (r["close_grads"] and r["close_weights"]), (
            f"rank {r['rank']}: overlap changed the results")
    # Every replica ends with the same weights.
    assert all(r["weights"] == results[0]["weights"] for r in results)
