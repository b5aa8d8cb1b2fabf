"""Run one case of the op-info table on a device (or the default placement) and check it against its reference.

Shared by the device conformance suite and core's own op tests, so both check the same things the
same way. A case whose graph puts on the device an op, or an op at a dtype, that the device has no
kernel for raises ``Unclaimed`` naming them; the suite skips such a case saying so.

Example:
    >>> from tensorflux.testing.opinfo import OP_INFOS
    >>> neg = next(i for i in OP_INFOS if i.op == "Neg")
    >>> import tensorflux as tf
    >>> check_case(neg, tf.float32, (2, 3), {})
"""

from __future__ import annotations

import contextlib
import warnings
import zlib
from typing import Any

import numpy as np

import tensorflux as tf
from tensorflux.extend import canonical_device, kernels_for_device, list_devices

from .opinfo import TOLERANCE, NotApplicable, OpInfo, case_id, make_input, parse_summary, reference_result
from .opinfo.random_ops import SAMPLE

# Ops whose output shape depends on the input's values, so shape inference leaves dimensions unknown.
DATA_DEPENDENT_SHAPES = frozenset({"Where", "Unique"})
# The optional stages of the fused ops: a kernel applies only the stages it takes as attributes, and the
# fusion pass asks it for no others (an older kernel may lack ``pool``).
OPTIONAL_STAGES = {"_FusedConv2D": ("activation", "pool"), "_FusedMaxPoolGrad": ("activation",)}
# Kolmogorov-Smirnov distance two samples of SAMPLE draws from one distribution exceed with chance below 1e-6.
KS_LIMIT = np.sqrt(-np.log(1e-6 / 2) / 2) * np.sqrt(2 / SAMPLE)


class Unclaimed(NotApplicable):
    """A case needs a kernel (an op at a dtype) that the device under test does not claim."""


def claims(device_type: str, op: str, dtype: Any, any_dtype: bool = False) -> bool:
    """Whether ``device_type`` registers a kernel for ``op`` that accepts ``dtype`` (its type attr's value),
    or with ``any_dtype`` a kernel for ``op`` at all.

    Example:
        >>> import tensorflux as tf
        >>> claims("cpu", "MatMul", tf.float32), claims("cpu", "NoSuchOp", None, any_dtype=True)
        (True, False)
    """
    return any(k.op == op and (any_dtype or k.dtypes is None or dtype in k.dtypes)
               for k in kernels_for_device(device_type))


def _kernel_for(device_type: str, op: Any) -> Any:
    """The kernel placement would choose for ``op`` on ``device_type`` (one that accepts its dtypes), or None."""
    return next((k for k in kernels_for_device(device_type) if k.op == op.type and k.supports(op.attrs)), None)


def unclaimed(graph: Any, device_name: str, device_type: str) -> str:
    """Why ``graph`` cannot run on the device as built: the ops placed there without a kernel for their dtypes,
    or fused ops asked for a stage their kernel does not take; '' when it can.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32)
        ...     with tf.device("/cpu:0"):
        ...         _ = tf.negative(x)
        >>> unclaimed(g, "/cpu:0", "cpu"), unclaimed(g, "/cpu:0", "no-such-device")
        ('', "device 'no-such-device' has no kernel for Neg (T=float32)")
    """
    missing = []
    for op in graph.get_operations():
        if op.type == "NoOp" or not op.device or canonical_device(op.device) != device_name:
            continue
        kernel = _kernel_for(device_type, op)
        if kernel is None:
            dtypes = [f"{k}={v.name}" for k, v in sorted(op.attrs.items()) if isinstance(v, tf.DType)]
            missing.append(f"no kernel for {op.type} ({', '.join(dtypes) or 'no dtype attr'})")
        for stage in OPTIONAL_STAGES.get(op.type, ()) if kernel is not None else ():
            if op.attrs.get(stage) and stage not in kernel.attr_params:
                missing.append(f"a {op.type} kernel without the optional stage '{stage}', which the fusion pass "
                               f"therefore never asks of it")
    return f"device '{device_type}' has {'; '.join(sorted(set(missing)))}" if missing else ""


def case_seed(info: OpInfo, dtype: Any, shapes: Any, attrs: dict) -> int:
    """A seed fixed by the case itself (Python's str hash changes from process to process).

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.testing.opinfo import OP_INFOS
        >>> neg = next(i for i in OP_INFOS if i.op == "Neg")
        >>> case_seed(neg, tf.int8, (2,), {}) == case_seed(neg, tf.int8, (2,), {})
        True
    """
    return zlib.crc32(case_id(info, dtype, shapes, attrs).encode())


def case_inputs(info: OpInfo, dtype: Any, shapes: Any, attrs: dict, scale: float = 1.0) -> list[np.ndarray]:
    """The case's input arrays, the same on every run.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.testing.opinfo import OP_INFOS
        >>> add = next(i for i in OP_INFOS if i.op == "AddV2")
        >>> [x.shape for x in case_inputs(add, tf.int8, ((2, 3), (3,)), {})]
        [(2, 3), (3,)]
    """
    rng = np.random.default_rng(case_seed(info, dtype, shapes, attrs) + (scale != 1.0))
    return [make_input(s, info.input_dtype(i, dtype), info.input_domain(i), rng, scale)
            for i, s in enumerate(info.input_shapes(shapes))]


def build(info: OpInfo, dtype: Any, inputs: list, attrs: dict, device: tuple | None, strict: bool = True) -> tuple:
    """``(graph, placeholders, fetch)``: the case's op on ``device`` (``(name, type)``, or None for default placement).

    Placeholders stay off the device, so their values reach it as copies, as a user's feeds do. With
    ``strict``, raises ``Unclaimed`` when the device lacks a kernel the graph needs there, or the kernel of
    ``info.op`` at ``dtype`` when the graph builds it from other ops (a fused op made by a graph pass).

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> from tensorflux.testing.opinfo import OP_INFOS
        >>> neg = next(i for i in OP_INFOS if i.op == "Neg")
        >>> graph, placeholders, fetch = build(neg, tf.float32, [np.ones(2, np.float32)], {}, ("/cpu:0", "cpu"))
        >>> fetch.op.type, fetch.op.device
        ('Neg', '/cpu:0')
    """
    graph = tf.Graph()
    kwargs = dict(attrs, dtype=dtype) if info.dtype_kwarg else dict(attrs)
    with graph.as_default():
        placeholders = [tf.placeholder(info.input_dtype(i, dtype), x.shape) for i, x in enumerate(inputs)]
        with tf.device(device[0]) if device else contextlib.nullcontext():
            fetch = info.fn(*placeholders, **kwargs)
    if device and strict:
        why = unclaimed(graph, *device)
        if not why and info.op not in {op.type for op in graph.get_operations()} and not claims(device[1], info.op,
                                                                                                  dtype):
            why = f"device '{device[1]}' has no kernel for {info.op} ({dtype.name})"
        if why:
            raise Unclaimed(why)
    return graph, placeholders, fetch


def _check_builds_op(info: OpInfo, graph: Any, fetch: Any, placeholders: list) -> None:
    """The case's graph holds the op the case is about, unless a graph pass makes it at plan time or the
    builder returned its input unchanged (a cast to the input's own dtype)."""
    if info.op in {op.type for op in graph.get_operations()} or info.variant.startswith("graph pass"):
        return
    assert all(t in placeholders for t in _flat(fetch)), f"{info.label}: the graph has no {info.op} op"


def _check_static(fetch: Any, actual: Any, op: str) -> None:
    """The graph's promised dtypes and shapes (shape inference) agree with the computed values."""
    values = actual if isinstance(fetch, (list, tuple)) else [actual]
    for t, value in zip(_flat(fetch), _flat(values)):
        value = np.asarray(value)
        if t.dtype is not tf.string:
            assert value.dtype == t.dtype.np_dtype, f"{t.name}: fetched dtype {value.dtype}, graph says {t.dtype.name}"
        assert t.shape.is_compatible_with(value.shape), f"{t.name}: fetched shape {value.shape}, inferred {t.shape}"
        if op not in DATA_DEPENDENT_SHAPES:
            assert t.shape.is_fully_defined(), f"{t.name}: inferred shape {t.shape} is not fully known"


def _flat(values: Any) -> list:
    if isinstance(values, (list, tuple)):
        return [v for item in values for v in _flat(item)]
    return [values]


def device_tolerance(graph: Any, device: tuple | None, dtype: Any, magnitude: float) -> tuple[float, float] | None:
    """``(rtol, atol)`` for a float result of ``graph`` at ``dtype`` that the device under test asks for
    (``Device.conformance_tolerance`` of the device named ``device[0]``, given the graph's op types), its
    relative atol made absolute with ``magnitude``; None for the dtype's own tolerance.

    Example:
        >>> import tensorflux as tf
        >>> device_tolerance(tf.Graph(), ("/cpu:0", "cpu"), tf.float32, 1.0) is None
        True
    """
    if device is None:
        return None
    found = next((d for d in list_devices() if d.name == device[0]), None)
    asked = found.conformance_tolerance({op.type for op in graph.get_operations()}, dtype) if found else None
    return None if asked is None else (asked[0], asked[1] * magnitude)


def _largest(values: Any) -> float:
    """The largest finite magnitude among the floating arrays of ``values`` (nested lists and tuples), at least 0."""
    if isinstance(values, (list, tuple)):
        return max([0.0] + [_largest(v) for v in values])
    array = np.asarray(values) if not isinstance(values, (str, bytes)) else np.zeros(0)
    if array.dtype.kind not in "fV" or array.size == 0:
        return 0.0
    finite = np.abs(array.astype(np.float64))
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else 0.0


def assert_close(actual: Any, expected: Any, what: str, scale: float = 1.0,
                 tolerance: tuple[float, float] | None = None) -> None:
    """``actual`` equals ``expected`` (nested lists and tuples of arrays and strings) within ``TOLERANCE``.

    Floating results are compared within the tolerance of their own dtype, the absolute part times
    ``scale`` (the magnitude of the operands a result was computed from), or within a device's looser
    ``tolerance`` (``(rtol, atol)``, see :func:`device_tolerance`); integers, bools and strings exactly.
    NaNs match NaNs.

    Example:
        >>> import numpy as np
        >>> assert_close([np.float32(1.0), b"x"], [np.float64(1.0 + 1e-7), b"x"], "example")
    """
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), \
            f"{what}: expected {len(expected)} results, got {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{what}, result {i}", scale, tolerance)
        return
    if isinstance(expected, (str, bytes)):
        assert actual == expected, f"{what}: {actual!r} != expected {expected!r}"
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    if expected.dtype == object or actual.dtype.kind in "OS":
        actual = np.asarray(actual.tolist() if actual.dtype.kind == "S" else actual, dtype=object)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    # References of low-precision floats compute at float64, so a float result only needs to be a float.
    if expected.dtype.kind in "biu" or actual.dtype.kind in "biu":
        assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, expected {expected.dtype}"
    own = TOLERANCE.get(actual.dtype.name)
    if own is not None:
        rtol, atol = own[0], own[1] * scale
        if tolerance is not None:
            rtol, atol = max(rtol, tolerance[0]), max(atol, tolerance[1])
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True, err_msg=what)
    elif actual.dtype == object:
        np.testing.assert_array_equal(actual, expected, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected.astype(actual.dtype), err_msg=what)


@contextlib.contextmanager
def _session(graph: Any) -> Any:
    # A fallback to another device (a PlacementWarning) would check the wrong kernel, and a kernel's
    # numpy RuntimeWarning is noise TensorFlow does not make: both fail the case.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tf.Session(graph=graph) as sess:
            yield sess


def check_case(info: OpInfo, dtype: Any, shapes: Any, attrs: dict, device: tuple | None = None,
               static: bool = False) -> None:
    """Run one case and compare it with its reference; ``static`` also checks the inferred dtypes and shapes.

    ``device`` is ``(device name, device type)``, or None for the default placement. Raises
    ``Unclaimed`` when the device lacks a kernel the case needs (``NotApplicable`` when the case cannot run
    here for another reason), AssertionError when a result is wrong.
    """
    where = f" on {device[0]}" if device else ""
    what = f"{case_id(info, dtype, shapes, attrs)}{where}"
    inputs = case_inputs(info, dtype, shapes, attrs)
    runner = {"value": _check_value, "random": _check_random, "state": _check_state, "summary": _check_summary}
    runner[info.kind](info, dtype, inputs, attrs, device, static, what)
    if info.kind == "value" and info.large_values and dtype.is_floating:
        big = case_inputs(info, dtype, shapes, attrs, scale=1e3 if dtype is not tf.float16 else 3e1)
        _check_value(info, dtype, big, attrs, device, static, f"{what} with large values")


def _check_value(info: OpInfo, dtype: Any, inputs: list, attrs: dict, device: Any, static: bool, what: str) -> None:
    graph, placeholders, fetch = build(info, dtype, inputs, attrs, device)
    with _session(graph) as sess:
        actual = sess.run(fetch, dict(zip(placeholders, inputs)))
    if static:
        _check_builds_op(info, graph, fetch, placeholders)
        _check_static(fetch, actual, info.op)
    expected = reference_result(info, inputs, attrs, dtype)
    # A device's relative atol scales with the larger of the result and the operands: a sum of products that
    # cancels keeps its terms' rounding, not its own magnitude's.
    tolerance = device_tolerance(graph, device, dtype, max(_largest(expected), _largest(inputs)))
    if tolerance is not None:
        what += f" (the device's tolerance: rtol {tolerance[0]:g}, atol {tolerance[1]:g})"
    assert_close(actual, expected, what, tolerance=tolerance)


def _check_summary(info: OpInfo, dtype: Any, inputs: list, attrs: dict, device: Any, static: bool, what: str) -> None:
    graph, placeholders, fetch = build(info, dtype, inputs, attrs, device)
    with _session(graph) as sess:
        serialized = sess.run(fetch, dict(zip(placeholders, inputs)))
    if static:
        _check_builds_op(info, graph, fetch, placeholders)
        assert fetch.dtype is tf.string and fetch.shape.as_list() == [], f"{what}: a summary is a scalar string"
    assert_close(parse_summary(serialized), reference_result(info, inputs, attrs, dtype), what)


def _check_state(info: OpInfo, dtype: Any, inputs: list, attrs: dict, device: Any, static: bool, what: str) -> None:
    """Run the update twice; after each run its output and every variable match the reference's."""
    graph, placeholders, fetch = build(info, dtype, inputs, attrs, device)
    with graph.as_default():
        variables = tf.global_variables()
        init = tf.global_variables_initializer()
    feed = dict(zip(placeholders, inputs))
    current = list(inputs)
    with _session(graph) as sess:
        sess.run(init, feed)
        for step in (1, 2):
            out = sess.run(fetch, feed)
            values = sess.run(variables)
            expected = reference_result(info, current, attrs, dtype)
            # An update subtracts a step from the variable: a result near zero keeps only the absolute
            # precision of its operands, so the absolute tolerance scales with them.
            scale = max([1.0] + [float(np.max(np.abs(x.astype(np.float64)))) for x in current
                                 if x.size and x.dtype.kind in "fV"])
            assert_close([out, *values], list(expected), f"{what}, run {step}", scale,
                         device_tolerance(graph, device, dtype, max(scale, _largest(expected))))
            # The variables keep their dtype between runs, so the reference's next run starts from them rounded.
            current[:len(variables)] = [np.asarray(e).astype(x.dtype) for e, x in zip(expected[1:], inputs)]
    if static:
        _check_builds_op(info, graph, fetch, placeholders)
        _check_static(fetch, out, info.op)


def _check_random(info: OpInfo, dtype: Any, inputs: list, attrs: dict, device: Any, static: bool, what: str) -> None:
    """Shape and dtype; the same values from a new session (seeded), new values on each run; the support;
    and for large samples the distribution against the reference's sample."""
    graph, _, fetch = build(info, dtype, inputs, attrs, device)
    with _session(graph) as sess:
        first, second = sess.run(fetch), sess.run(fetch)
    with _session(graph) as sess:
        again = sess.run(fetch)
    first = np.asarray(first)
    assert first.dtype == dtype.np_dtype and first.shape == tuple(attrs["shape"]), \
        f"{what}: got {first.dtype} {first.shape}, expected {dtype.name} {tuple(attrs['shape'])}"
    np.testing.assert_array_equal(again, first, err_msg=f"{what}: a seeded op repeats its values in a new session")
    if first.size > 1:
        assert not np.array_equal(first, second), f"{what}: the second run drew the same values as the first"
    if static:
        _check_builds_op(info, graph, fetch, [])
        _check_static(fetch, first, info.op)
    sample, low, high = reference_result(info, inputs, attrs, dtype)
    got = first.astype(np.float64)
    slack = 0.0 if dtype.is_integer else float(np.finfo(np.float64 if dtype is tf.float64 else np.float32).eps
                                               if dtype not in (tf.float16, tf.bfloat16) else 2.0 ** -7)
    span = max(abs(float(low)), abs(float(high)), 1.0) if np.isfinite([low, high]).all() else 0.0
    assert np.all((got >= low - slack * span) & (got <= high + slack * span)), \
        f"{what}: values {got.min()}..{got.max()} leave the support [{low}, {high}]"
    if first.size >= SAMPLE:
        _check_distribution(got, sample.astype(dtype.np_dtype).astype(np.float64), dtype, what)


def _check_distribution(got: np.ndarray, want: np.ndarray, dtype: Any, what: str) -> None:
    scale = want.std()
    # With SAMPLE draws each, a mean or standard deviation differs by chance by about 0.01 of the spread.
    assert abs(got.mean() - want.mean()) < 0.05 * scale, f"{what}: mean {got.mean()}, numpy's sample {want.mean()}"
    assert abs(got.std() - scale) < 0.05 * scale, f"{what}: standard deviation {got.std()}, numpy's sample {scale}"
    grid = np.union1d(got, want)
    distance = np.max(np.abs(np.searchsorted(np.sort(got), grid, side="right") / got.size
                             - np.searchsorted(np.sort(want), grid, side="right") / want.size))
    assert distance < KS_LIMIT, f"{what}: Kolmogorov-Smirnov distance {distance:.4f} to numpy's sample " \
                                f"(limit {KS_LIMIT:.4f})"
    if dtype.is_integer:
        assert set(np.unique(got)) == set(np.unique(want)), \
            f"{what}: values {np.unique(got)}, numpy's {np.unique(want)}"


def gradient_case(info: OpInfo) -> tuple | None:
    """The float64 case a gradient check uses: the last one with no empty input, under the first attrs.

    Example:
        >>> from tensorflux.testing.opinfo import OP_INFOS
        >>> neg = next(i for i in OP_INFOS if i.op == "Neg")
        >>> gradient_case(neg)[1:]
        ((2, 3), {})
    """
    if not info.differentiable or tf.float64 not in info.dtypes:
        return None
    full = [s for s in info.shapes if all(np.prod(x) > 0 for x in info.input_shapes(s))]
    return (tf.float64, full[-1], info.attrs[0]) if full else None


def gradient_error(info: OpInfo, shapes: Any, attrs: dict, device: tuple | None = None) -> float:
    """The largest difference between the theoretical and numerical Jacobians of the case's first output,
    with respect to its float64 inputs.

    Example:
        >>> from tensorflux.testing.opinfo import OP_INFOS
        >>> exp = next(i for i in OP_INFOS if i.op == "Exp")
        >>> gradient_error(exp, (2, 3), {}) < 1e-6
        True
    """
    from tensorflux.test import compute_gradient_error

    inputs = case_inputs(info, tf.float64, shapes, attrs)
    graph = tf.Graph()
    with graph.as_default():
        xs = [tf.constant(v) for v in inputs]
        with tf.device(device[0]) if device else contextlib.nullcontext():
            y = info.fn(*xs, **attrs)
        y = _flat(y)[0]
        if device:
            why = unclaimed(graph, *device)
            if why:
                raise Unclaimed(why)
        pairs = [(x, v) for i, (x, v) in enumerate(zip(xs, inputs)) if info.input_dtype(i, tf.float64) is tf.float64]
        with tf.Session(graph=graph):
            return compute_gradient_error([x for x, _ in pairs], [list(v.shape) for _, v in pairs], y,
                                          y.shape.as_list(), x_init_value=[v for _, v in pairs])


__all__ = ["DATA_DEPENDENT_SHAPES", "NotApplicable", "OPTIONAL_STAGES", "Unclaimed", "assert_close", "build",
           "case_inputs", "check_case", "claims", "device_tolerance", "gradient_case", "gradient_error", "unclaimed"]
