"""The op-info runner (tensorflux.testing.opcheck) fails a wrong kernel and names what a device lacks.

A conformance suite that cannot fail proves nothing: each check here feeds it a wrong result on purpose.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.testing.opcheck import Unclaimed, assert_close, build, check_case
from tensorflux.testing.opinfo import OP_INFOS, OpInfo


def test_a_wrong_reference_fails_the_case_naming_it():
    wrong = OpInfo("Neg", tf.negative, lambda x: x, dtypes=(tf.float32,), shapes=[(3,)])
    with pytest.raises(AssertionError, match=r"Neg-float32-\(3,\)"):
        check_case(wrong, tf.float32, (3,), {})


def test_a_wrong_output_dtype_fails_even_when_values_agree():
    with pytest.raises(AssertionError, match="dtype int64, expected int32"):
        assert_close(np.array([1, 2], np.int64), np.array([1, 2], np.int32), "example")


def test_a_result_just_outside_the_dtype_tolerance_fails():
    assert_close(np.float32(1.0), np.float64(1.0 + 5e-6), "inside")
    with pytest.raises(AssertionError):
        assert_close(np.float32(1.0), np.float64(1.0 + 5e-5), "outside")


def test_a_device_without_the_kernel_is_named_with_the_op_and_dtype():
    neg = next(i for i in OP_INFOS if i.op == "Neg")
    with pytest.raises(Unclaimed, match=r"'no-such-device' has no kernel for Neg \(T=float32\)"):
        build(neg, tf.float32, [np.ones(2, np.float32)], {}, ("/cpu:0", "no-such-device"))


def test_a_fused_op_made_by_a_graph_pass_needs_its_own_kernel_on_the_device():
    via_pass = next(i for i in OP_INFOS if i.op == "_FusedConv2D" and i.variant == "graph pass")
    inputs = [np.ones(s, np.float32) for s in via_pass.input_shapes(via_pass.shapes[0])]
    attrs = via_pass.attrs[0]
    graph, _, _ = build(via_pass, tf.float32, inputs, attrs, ("/cpu:0", "cpu"))
    assert "_FusedConv2D" not in {op.type for op in graph.get_operations()}  # the pass makes it at plan time


def test_a_stochastic_op_that_repeats_its_draws_fails():
    uniform = next(i for i in OP_INFOS if i.op == "RandomUniform")
    frozen = OpInfo("RandomUniform", lambda dtype, **a: tf.fill(a["shape"], tf.constant(0.5, dtype)),
                    uniform.reference, dtypes=(tf.float32,), kind="random", shapes=[()], no_inputs=True,
                    dtype_kwarg=True, attrs=uniform.attrs, differentiable=False)
    with pytest.raises(AssertionError, match="the second run drew the same values"):
        check_case(frozen, tf.float32, (), {"shape": [3], "minval": 0.0, "maxval": 1.0, "seed": 7})


def test_an_entry_with_an_unknown_domain_is_refused():
    with pytest.raises(ValueError, match="unknown input domain 'evens'"):
        OpInfo("Neg", tf.negative, np.negative, domain="evens")
