"""A TF 1.x name Tensorflux lacks says so and points to the compatibility table; other names fail plainly;
tf.compat.v1 is the module itself and the eager switches are no-ops."""

import pytest

import tensorflux as tf
from tensorflux._internal.tf1_names import NN, TOP_LEVEL, TRAIN


@pytest.mark.parametrize("module, known", [(tf, TOP_LEVEL), (tf.nn, NN), (tf.train, TRAIN)],
                         ids=["tf", "tf.nn", "tf.train"])
def test_missing_tf1_names_point_to_the_docs(module, known):
    missing = sorted(n for n in known if not hasattr(module, n))
    assert missing, "every TF 1.x name is implemented; pick another check"
    with pytest.raises(AttributeError, match=r"is TensorFlow 1.x API not implemented in Tensorflux; see "
                                             r"docs/tf-compat.md"):
        getattr(module, missing[0])


def test_unknown_names_keep_the_plain_message():
    with pytest.raises(AttributeError) as err:
        tf.definitely_not_tensorflow  # noqa: B018
    assert str(err.value) == "module 'tensorflux' has no attribute 'definitely_not_tensorflow'"
    assert getattr(tf, "FIFOQueue", None) is None


def test_names_added_here_are_tf1_names():
    for name in ("variable_scope", "get_variable", "AUTO_REUSE", "einsum", "norm", "clip_by_global_norm",
                 "glorot_uniform_initializer", "logging", "app", "flags", "initializers", "compat"):
        assert name in TOP_LEVEL and hasattr(tf, name)
    assert "l2_normalize" in NN and hasattr(tf.nn, "l2_normalize")


def test_compat_v1_is_the_module():
    assert tf.compat.v1 is tf
    assert tf.compat.v1.placeholder is tf.placeholder
    assert tf.compat.as_bytes("a") == b"a" and tf.compat.as_text(b"a") == "a"


def test_eager_switches():
    assert tf.compat.v1.disable_eager_execution() is None
    assert tf.disable_v2_behavior() is None
    assert tf.executing_eagerly() is False
    with pytest.raises(ValueError, match="only runs graphs"):
        tf.enable_eager_execution()
