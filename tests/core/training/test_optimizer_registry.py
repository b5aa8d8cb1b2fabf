"""Optimizers are registered through the tensorflux.plugins entry points: listing, lookup, third-party packages."""

from __future__ import annotations

import pytest

import tensorflux as tf
from tensorflux._internal.plugins import PluginInfo
from tensorflux.extend import Registrar
from tests.plugin_sandbox import make_site, run

BUILT_IN = {
    "adagrad": "AdagradOptimizer", "adam": "AdamOptimizer", "gradient_descent": "GradientDescentOptimizer",
    "momentum": "MomentumOptimizer", "rmsprop": "RMSPropOptimizer",
}


def test_built_in_optimizers_are_listed_and_found_by_name():
    assert set(BUILT_IN) <= set(tf.train.list_optimizers())
    for name, cls_name in BUILT_IN.items():
        assert tf.train.get_optimizer(name) is getattr(tf.train, cls_name)
    assert tf.train.get_optimizer("ADAM") is tf.train.AdamOptimizer


def test_unknown_optimizer_names_the_known_ones():
    with pytest.raises(KeyError, match=r"No optimizer named 'adamw' is registered; known: .*adam, .*rmsprop"):
        tf.train.get_optimizer("adamw")


def test_core_registers_its_optimizers_through_the_plugin_hook():
    from tensorflux.extend import plugin_infos

    core = next(info for info in plugin_infos() if info.name == "core")
    assert set(BUILT_IN) <= set(core.optimizers)


def test_rediscovering_plugins_keeps_the_built_in_optimizers():
    from tensorflux._internal.plugins import reload_for_tests

    reload_for_tests()
    assert set(BUILT_IN) <= set(tf.train.list_optimizers())
    with tf.Session() as sess:  # and the re-registered cpu kernels still run a training step
        w = tf.Variable(1.0)
        train = tf.train.AdamOptimizer(0.1).minimize(w * w)
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        assert sess.run(w) == pytest.approx(0.9)


def test_registrar_refuses_a_class_that_is_not_an_optimizer():
    registrar = Registrar(PluginInfo("test-bad-optimizer"))
    with pytest.raises(TypeError, match=r"plugin 'test-bad-optimizer' registers optimizer 'bogus' as .*dict.*subclass "
                                        r"of tensorflux.train.Optimizer"):
        registrar.optimizer("bogus", dict)


SIGN_SGD_PLUGIN = """
import tensorflux as tf
from tensorflux.extend import Optimizer, hookimpl

TENSORFLUX_CONTRACT = "1.0"


class SignSGD(Optimizer):
    \"\"\"var -= learning_rate * sign(grad), composed from basic ops.\"\"\"

    def __init__(self, learning_rate, name="SignSGD"):
        super().__init__(False, name)
        self._set_hyper("learning_rate", learning_rate)

    def _apply_composed(self, grad, var):
        return var.assign_sub(self._get_hyper("learning_rate", var.dtype) * tf.sign(grad)).op


@hookimpl
def tensorflux_register_optimizers(registrar):
    registrar.optimizer("sign_sgd", SignSGD)
"""


def test_an_installed_optimizer_package_is_usable_by_name(tmp_path):
    site = make_site(tmp_path, plugins={"signsgd": SIGN_SGD_PLUGIN})
    result = run(site, """
        import tensorflux as tf
        print("LISTED", "sign_sgd" in tf.train.list_optimizers())
        w = tf.Variable([3.0, -2.0])
        train = tf.train.get_optimizer("sign_sgd")(0.5).minimize(tf.reduce_sum(tf.square(w)))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            print("W", sess.run(w).tolist())
    """)
    assert result.returncode == 0, result.stderr
    assert "LISTED True" in result.stdout
    assert "W [2.5, -1.5]" in result.stdout
