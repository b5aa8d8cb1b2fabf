"""Every op of the op-info table (tensorflux.testing.opinfo) against its numpy reference, on the default device.

The conformance suite runs the same cases pinned to one device; here they run where core places them,
and each result's dtype and shape must also be what shape inference promised when the graph was built.
Gradients are checked at float64 against central differences for every case of a differentiable op.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.testing.opcheck import check_case, gradient_error
from tensorflux.testing.opinfo import OP_INFOS, case_id

CASES = [pytest.param(info, dtype, shapes, attrs, id=case_id(info, dtype, shapes, attrs))
         for info in OP_INFOS for dtype, shapes, attrs in info.cases()]
# Gradient checks perturb one element at a time, so they run on cases of modest size.
GRADIENT_ELEMENTS = 300
GRADIENT_CASES = [
    pytest.param(info, shapes, attrs, id=case_id(info, tf.float64, shapes, attrs))
    for info in OP_INFOS if info.differentiable and tf.float64 in info.dtypes
    for shapes in info.shapes for attrs in info.attrs
    if all(0 < np.prod(s) for s in info.input_shapes(shapes))
    and sum(int(np.prod(s)) for s in info.input_shapes(shapes)) <= GRADIENT_ELEMENTS
]


@pytest.mark.parametrize("info, dtype, shapes, attrs", CASES)
def test_op_matches_reference_with_inferred_dtype_and_shape(info, dtype, shapes, attrs):
    check_case(info, dtype, shapes, attrs, static=True)


@pytest.mark.parametrize("info, shapes, attrs", GRADIENT_CASES)
def test_gradient_matches_central_differences(info, shapes, attrs):
    error = gradient_error(info, shapes, attrs)
    assert error < 1e-6, f"gradient of {case_id(info, tf.float64, shapes, attrs)} differs from central differences " \
                         f"by {error}"


def test_every_op_a_kernel_computes_has_a_table_entry():
    from tensorflux.extend import kernels_for_device, registered_ops

    # Graph plumbing, not computation: constants, feeds, variables' storage and control-only nodes, and the input
    # pipeline's iterator ops (tested in tests/core/data).
    plumbing = {"Const", "Placeholder", "VariableV2", "NoOp", "MakeIterator", "IteratorGetNext"}
    # Host callbacks into Python (tf.py_func), printing and run-time checks: their results are the user's function's,
    # text on a stream or a failed run, tested in tests/core/test_py_func.py, test_logging_ops.py and
    # test_check_ops.py, not numbers a table can hold.
    plumbing |= {"PyFunc", "PyFuncStateless", "StringFormat", "PrintV2", "Print", "Assert", "CheckNumerics"}
    # Functional control flow (tf.cond, tf.while_loop, tf.map_fn): they run traced user functions, so their values
    # are those functions'; tested against TF in tests/core/test_control_flow.py and test_functional_ops.py.
    plumbing |= {"If", "While", "WhileGrad", "Scan"}
    # The split allreduce: a handle in between, and its values are MpiAllreduce's; tested across real MPI ranks in
    # tests/core/distribute/test_background.py.
    plumbing |= {"MpiAllreduceStart", "MpiAllreduceFinish"}
    # TF's TensorList and Optional ops, the state of control flow imported from TF: tested against TF in
    # tests/core/serialization/test_control_flow_interop.py.
    from tensorflux._internal.ops.variant_ops import VARIANT_OPS

    plumbing |= set(VARIANT_OPS)
    # A Saver's checkpoint file I/O: tested against TF's files in tests/core/checkpoint/test_saver_graph_ops.py.
    plumbing |= {"SaveV2", "RestoreV2"}
    # TF's resource variables (handles into the session's variable state) and the TF-graph machinery that imported
    # training graphs use (BroadcastGradientArgs on shape vectors, Philox stateless random initializers): their
    # values are variable state, shape bookkeeping or TF's exact random bits, tested against TF in
    # tests/core/serialization/test_resource_variable_interop.py, test_resource_kernels.py and test_tf_graph_kernels.py.
    from tensorflux._internal.ops.resource_ops import RESOURCE_OPS

    plumbing |= set(RESOURCE_OPS) | {"BroadcastGradientArgs", "StatelessRandomGetKeyCounter", "StatelessRandomUniformV2",
                                     "StatelessRandomNormalV2", "StatelessTruncatedNormalV2",
                                     "StatelessRandomUniformIntV2", "StatelessRandomUniformFullIntV2"}
    computed = {k.op for k in kernels_for_device("cpu")} & set(registered_ops())
    assert computed - plumbing <= {info.op for info in OP_INFOS}, sorted(computed - plumbing - {i.op for i in OP_INFOS})
