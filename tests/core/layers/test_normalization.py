"""tf.layers.batch_normalization against TensorFlow: variables, outputs, gradients and the UPDATE_OPS updates."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.*:UserWarning")
RNG = np.random.default_rng(23)
X4 = (RNG.normal(size=(3, 4, 5, 2)) * 2.0 + 0.5).astype(np.float32)
X2 = (RNG.normal(size=(6, 3)) * 3.0 - 1.0).astype(np.float32)

CASES = {
    "fused_nhwc": (X4, dict()),
    "fused_nchw_axis1": (X4.transpose(0, 3, 1, 2), dict(axis=1, momentum=0.5)),
    "unfused_4d": (X4, dict(fused=False, epsilon=0.01)),
    "dense": (X2, dict(momentum=0.9)),
    "no_center_no_scale": (X2, dict(center=False, scale=False)),
    "several_axes": (X4, dict(axis=[1, 3], momentum=0.7)),
}
TRAINING = {"true": True, "false": False, "tensor_true": "t1", "tensor_false": "t0"}


def _training(lib, mode):
    flag = TRAINING[mode]
    return flag if isinstance(flag, bool) else lib.placeholder_with_default(flag == "t1", [])


def _bn_steps(case, mode):
    x_value, kwargs = CASES[case]

    def build(lib):
        x = lib.constant(x_value)
        y = lib.layers.batch_normalization(x, training=_training(lib, mode), **kwargs)
        updates = lib.get_collection(lib.GraphKeys.UPDATE_OPS)
        loss = lib.reduce_sum(y * y * lib.constant(np.linspace(0.5, 2.0, y.shape.num_elements(), dtype=np.float32)
                                                   .reshape(y.shape.as_list())))
        grads = lib.gradients(loss, [x] + lib.trainable_variables())
        moving = [v for v in lib.global_variables() if "moving" in v.name]
        step = [y] + grads + [lib.group(*updates)] if updates else [y] + grads
        info = [(v.name, v.shape.as_list(), v in lib.trainable_variables()) for v in lib.global_variables()]
        return [step, step, step, moving], info, len(updates)
    return build


@pytest.mark.parametrize("mode", sorted(TRAINING))
@pytest.mark.parametrize("case", sorted(CASES))
def test_batch_normalization_matches_tf(both, case, mode):
    meta = {}

    def build(lib):
        stages, info, n_updates = _bn_steps(case, mode)(lib)
        meta["ours" if lib is tf else "theirs"] = (info, n_updates)
        return stages

    theirs, ours = both(build)
    assert meta["ours"] == meta["theirs"]
    for their_stage, our_stage in zip(theirs, ours):
        for a, b in zip(their_stage, our_stage):
            if a is not None:
                np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-4)


def test_update_ops_are_named_and_reuse_shares_the_variables():
    x = tf.placeholder(tf.float32, [None, 3])
    tf.layers.batch_normalization(x, training=True, name="bn")
    tf.layers.batch_normalization(x, training=True, name="bn", reuse=True)
    assert [v.name for v in tf.global_variables()] == ["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0",
                                                       "bn/moving_variance:0"]
    assert [u.op.name for u in tf.get_collection(tf.GraphKeys.UPDATE_OPS)] == [
        "bn/AssignMovingAvg", "bn/AssignMovingAvg_1", "bn_1/AssignMovingAvg", "bn_1/AssignMovingAvg_1"]
    assert tf.trainable_variables() == tf.global_variables()[:2]


def test_batch_normalization_refusals():
    with pytest.raises(NotImplementedError, match="renorm"):
        tf.layers.batch_normalization(tf.zeros([2, 3]), renorm=True)
    with pytest.raises(ValueError, match="fused batch norm only supports"):
        tf.layers.batch_normalization(tf.zeros([2, 3]), fused=True)
    with pytest.raises(ValueError, match="should have a defined dimension"):
        tf.layers.batch_normalization(tf.placeholder(tf.float32, [None, None]))
