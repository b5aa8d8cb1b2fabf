"""The ``OpInfo`` dataclass, per-dtype tolerances, input generators and the evaluation of numpy references.

Every case of the op-info table is ``(info, dtype, shapes, attrs)``: ``info.fn`` builds the op from one
placeholder per input (shapes from ``shapes``, dtypes from ``dtype`` unless ``input_dtypes`` says
otherwise) and keyword ``attrs``; ``info.reference`` computes the same from numpy arrays. How the result
is compared depends on ``kind``:

- ``value``: the fetched outputs against the reference's, within ``TOLERANCE`` of the output dtype;
- ``random``: no inputs; the reference draws a numpy sample of the same distribution and returns
  ``(sample, low, high)``; shape, dtype, seeded repeatability, support and distribution are checked;
- ``state``: the first inputs are the initial values of the variables ``fn`` creates (in creation
  order); the op runs twice and the reference returns ``(output, *new variable values)`` per run;
- ``summary``: the fetched serialized ``Summary`` is parsed (``summary_ops.parse_summary``) and
  compared with the reference's ``[(tag, field, values), ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import ml_dtypes
import numpy as np

import tensorflux as tf
from tensorflux.extend import FLOATING, INTEGER, NUMERIC

# (rtol, atol) per output dtype. Integers, bools and strings are exact. float16 keeps ~3 decimal digits and
# bfloat16 ~2, so their tolerances allow one rounding of the result (reductions and products accumulate in a
# wider type, as TensorFlow's kernels do).
TOLERANCE = {
    "float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12),
}
SIGNED = tuple(d for d in NUMERIC if not d.is_unsigned)
BOOL = (tf.bool,)
STRING = (tf.string,)
ALL = NUMERIC + BOOL + STRING
INDEX = (tf.int32, tf.int64)
LOW_PRECISION = (tf.float16, tf.bfloat16)
KINDS = ("value", "random", "state", "summary")

# Shape cases: each entry lists one shape per input (broadcasting, scalars and empty tensors included).
UNARY_SHAPES = [(), (0,), (5,), (2, 3), (2, 0, 3)]
BINARY_SHAPES = [((), ()), ((4,), ()), ((), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((2, 1, 4), (3, 1)),
                 ((0, 3), (3,)), ((0, 3), (1, 3)), ((2, 0), ())]

# Value domains of ``make_input``; a domain is chosen per input so references stay well defined.
DOMAINS = ("any", "positive", "nonzero", "small", "unit", "coarse", "halves", "gt-1", "dividend", "divisor",
           "base", "exponent", "prod", "wide", "distinct", "simplex", "cast", "cast-unsigned", "classes", "one-two",
           "on", "off", "signed-unit", "above-one", "specials", "order")


class NotApplicable(Exception):
    """A case that cannot run in this setting (say, a collective in a world of several ranks); the suites skip
    it with this exception's message as the reason."""


@dataclass
class OpInfo:
    """One op as the conformance suite and core's op tests see it: how to build it and its numpy reference.

    ``shapes`` lists the input shapes of each case (a shape for one input, a tuple of shapes for
    several); ``attrs`` lists keyword arguments passed to both ``fn`` and ``reference``, crossed with
    ``shapes``. ``input_dtypes`` gives an input a fixed dtype (None: the case's dtype). ``dtype_kwarg``
    passes the case's dtype to ``fn`` and ``reference`` as ``dtype=``, for ops without an input of it.
    ``variant`` tells apart entries of one op (``Sum[axis]``, ``MatMul[TN]``). ``no_inputs`` marks ops built
    from attrs alone (random ops, ``Range``).

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> info = OpInfo("Neg", tf.negative, np.negative, dtypes=SIGNED)
        >>> info.arity, info.label
        (1, 'Neg')
        >>> OpInfo("AddV2", tf.add, np.add, shapes=[((2,), ())]).arity
        2
    """

    op: str
    fn: Callable
    reference: Callable
    dtypes: tuple = NUMERIC
    shapes: list = field(default_factory=lambda: list(UNARY_SHAPES))
    domain: str | tuple = "any"
    differentiable: bool = True
    large_values: bool = False
    attrs: list = field(default_factory=lambda: [{}])
    input_dtypes: tuple = ()
    kind: str = "value"
    variant: str = ""
    dtype_kwarg: bool = False
    no_inputs: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"OpInfo {self.label}: kind must be one of {KINDS}, got {self.kind!r}")
        for d in (self.domain,) if isinstance(self.domain, str) else self.domain:
            if d not in DOMAINS:
                raise ValueError(f"OpInfo {self.label}: unknown input domain {d!r} (known: {DOMAINS})")
        if not self.shapes or not self.attrs:
            raise ValueError(f"OpInfo {self.label}: needs at least one shape case and one attrs case")

    @property
    def label(self) -> str:
        """The op name, with the variant in brackets when there is one."""
        return f"{self.op}[{self.variant}]" if self.variant else self.op

    @property
    def arity(self) -> int:
        """How many placeholder inputs the first case has (variadic ops may have more or fewer in others)."""
        return len(self.input_shapes(self.shapes[0]))

    def input_shapes(self, shapes: Any) -> tuple:
        """One case's ``shapes`` entry as a tuple with one shape per input.

        Example:
            >>> import numpy as np, tensorflux as tf
            >>> info = OpInfo("AddN", tf.add_n, np.add)
            >>> info.input_shapes((2, 3)), info.input_shapes(((2, 3), (2, 3))), info.input_shapes(())
            (((2, 3),), ((2, 3), (2, 3)), ((),))
        """
        if self.no_inputs:
            return ()
        if isinstance(shapes, tuple) and shapes and all(isinstance(s, tuple) for s in shapes):
            return shapes
        return (shapes,)

    def input_dtype(self, index: int, dtype: Any) -> Any:
        """The dtype of input ``index`` in a case of ``dtype``.

        Example:
            >>> import numpy as np, tensorflux as tf
            >>> OpInfo("SelectV2", tf.where, np.where, input_dtypes=(tf.bool,)).input_dtype(0, tf.int8).name
            'bool'
        """
        fixed = self.input_dtypes[index] if index < len(self.input_dtypes) else None
        return dtype if fixed is None else fixed

    def input_domain(self, index: int) -> str:
        """The value domain of input ``index``.

        Example:
            >>> import numpy as np, tensorflux as tf
            >>> OpInfo("Pow", tf.pow, np.power, domain=("base", "exponent")).input_domain(1)
            'exponent'
        """
        return self.domain if isinstance(self.domain, str) else self.domain[index]

    def cases(self) -> list[tuple]:
        """Every ``(dtype, shapes, attrs)`` of this entry.

        Example:
            >>> import numpy as np, tensorflux as tf
            >>> len(OpInfo("Neg", tf.negative, np.negative, dtypes=(tf.int32,), shapes=[(2,), (3,)]).cases())
            2
        """
        return [(dtype, shapes, attrs) for dtype in self.dtypes for shapes in self.shapes for attrs in self.attrs]


def case_id(info: OpInfo, dtype: Any, shapes: Any, attrs: dict) -> str:
    """A readable test id of one case: ``Sum[axis]-float32-2x3-axis=0``.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> info = OpInfo("Neg", tf.negative, np.negative)
        >>> case_id(info, tf.int8, (2, 3), {})
        'Neg-int8-(2, 3)'
    """
    parts = [info.label, dtype.name]
    in_shapes = info.input_shapes(shapes)
    if in_shapes:
        parts.append("x".join(map(str, in_shapes)))
    parts += [f"{k}={_short(v)}" for k, v in attrs.items()]
    return "-".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, tf.DType):
        return value.name
    if isinstance(value, np.ndarray):
        return str(value.tolist())
    return str(value).replace(" ", "")


def _floats(rng: np.random.Generator, domain: str, shape: tuple, scale: float) -> np.ndarray:
    # Grids (halves, quarters, integers) are exact in every float dtype, so a reference does not depend
    # on how the input was rounded; the "any" domain is continuous to reach every code path of a kernel.
    if domain == "any":
        return rng.standard_normal(shape) * scale
    if domain == "wide":
        return rng.standard_normal(shape) * 4 * scale
    if domain == "positive":
        return np.abs(rng.standard_normal(shape)) + 0.5
    if domain == "nonzero":
        values = rng.standard_normal(shape) * scale
        return np.where(np.abs(values) < 0.25, 0.5, values)
    if domain == "small":
        return np.abs(rng.standard_normal(shape)) * 0.5 + 0.5
    if domain == "unit":
        return rng.uniform(0.1, 0.9, shape)
    if domain == "one-two":
        return rng.uniform(1, 2, shape)
    if domain == "coarse":
        return rng.integers(-2, 3, shape).astype(np.float64)
    if domain == "halves":
        return rng.integers(-8, 9, shape) / 2.0
    if domain == "gt-1":
        return np.round(rng.uniform(-0.75, 4, shape) * 8) / 8
    if domain == "dividend":
        return rng.integers(-16, 17, shape) / 2.0
    if domain == "divisor":
        return rng.choice([-3.0, -2.0, -1.5, -0.5, 0.5, 1.5, 2.0, 3.0], shape)
    if domain == "base":
        return np.round(rng.uniform(0.5, 2.5, shape) * 8) / 8
    if domain == "exponent":
        return np.round(rng.uniform(-2, 2, shape) * 4) / 4
    if domain == "prod":
        return rng.choice([-1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0], shape)
    if domain in ("cast", "cast-unsigned"):
        low = 0 if domain == "cast-unsigned" else -100
        values = np.round(rng.uniform(low, 100, shape) * 4) / 4
        values.flat[:2] = [0.0, 1.0][: values.size]
        return values
    if domain == "classes":
        return rng.integers(0, 4, shape).astype(np.float64)
    if domain == "signed-unit":  # inside (-1, 1): asin, atanh; tan away from its poles
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "above-one":  # acosh's domain, away from its branch point
        return rng.uniform(1.1, 3.0, shape)
    if domain == "specials":  # NaN and both infinities among finite values (is_nan, is_inf, is_finite)
        return rng.choice([np.nan, np.inf, -np.inf, 0.0, -1.5, 2.0], shape)
    if domain == "order":  # polygamma's order: small non-negative integers
        return rng.integers(0, 4, shape).astype(np.float64)
    raise AssertionError(domain)


def _ints(rng: np.random.Generator, domain: str, shape: tuple, unsigned: bool) -> np.ndarray:
    if domain == "divisor":
        return rng.choice(np.array([1, 2, 3, 7] if unsigned else [-7, -3, -2, -1, 1, 2, 3, 7]), shape)
    if domain in ("positive", "nonzero", "small", "gt-1", "unit"):
        low, high = (1, 7) if domain != "small" else (0, 4)
    elif domain == "coarse":
        low, high = (0, 4) if unsigned else (-2, 3)
    elif domain == "dividend":
        low, high = (0, 100) if unsigned else (-50, 51)
    elif domain == "base":
        low, high = (0, 4) if unsigned else (-3, 4)
    elif domain == "exponent":
        low, high = 0, 4
    elif domain == "prod":
        low, high = (0, 3) if unsigned else (-2, 3)
    elif domain in ("cast", "cast-unsigned"):
        low, high = (0, 100) if unsigned or domain == "cast-unsigned" else (-100, 100)
    elif domain == "classes":
        low, high = 0, 4
    elif domain == "wide":  # products of these overflow int8, which then wraps as numpy does
        low, high = (0, 41) if unsigned else (-20, 21)
    else:  # any, halves
        low, high = (0, 13) if unsigned else (-6, 7)
    values = rng.integers(low, high, shape)
    if domain in ("positive", "nonzero", "gt-1", "unit"):
        values = np.where(values == 0, 1, values)
    return values


def _distinct(dtype: Any, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Values that differ element to element (as far as the dtype allows), exact in ``dtype``."""
    n = int(np.prod(shape, dtype=np.int64))
    base = rng.permutation(n)
    if dtype is tf.bool:
        return (base % 3 == 0).reshape(shape)
    if dtype.is_floating:
        return ((base - n // 2) * 0.5).reshape(shape)
    if dtype.is_unsigned:
        return (base % 250).reshape(shape)
    return (base % 120 - 60).reshape(shape)


def make_input(shape: tuple, dtype: Any, domain: str, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Random values of ``dtype`` and ``shape`` in the input ``domain`` (see ``DOMAINS``).

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> x = make_input((2, 3), tf.int8, "positive", np.random.default_rng(0))
        >>> x.dtype, bool((x > 0).all())
        (dtype('int8'), True)
    """
    shape = tuple(shape)
    if dtype is tf.string:
        words = np.array([f"s{i}".encode() for i in rng.permutation(max(int(np.prod(shape)), 1))], dtype=object)
        return words[: int(np.prod(shape))].reshape(shape) if shape else np.array(words[0], dtype=object)
    if domain == "distinct":
        return np.asarray(_distinct(dtype, shape, rng)).astype(dtype.np_dtype)
    if domain in ("on", "off"):  # one_hot's fill values: distinct, and True/False for bool
        value = (domain == "on") if dtype is tf.bool else (5 if domain == "on" else 2)
        return np.full(shape, value, dtype.np_dtype)
    if dtype is tf.bool:
        return np.asarray(rng.random(shape) < 0.5)
    if domain == "simplex":  # rows of probabilities (the labels of a cross entropy)
        p = rng.random(shape) + 0.05
        return (p / p.sum(axis=-1, keepdims=True)).astype(dtype.np_dtype)
    if dtype.is_integer:
        return np.asarray(_ints(rng, domain, shape, dtype.is_unsigned)).astype(dtype.np_dtype)
    return np.asarray(_floats(rng, domain, shape, scale)).astype(dtype.np_dtype)


def widen(value: Any) -> Any:
    """float16/bfloat16 arrays as float64 (so a reference rounds only its result); anything else unchanged.

    Example:
        >>> import numpy as np
        >>> widen(np.ones(2, np.float16)).dtype, widen(np.ones(2, np.int8)).dtype
        (dtype('float64'), dtype('int8'))
    """
    if isinstance(value, np.ndarray) and value.dtype in (np.float16, ml_dtypes.bfloat16):
        return value.astype(np.float64)
    return value


def reference_result(info: OpInfo, inputs: list, attrs: dict | None = None, dtype: Any = None) -> Any:
    """The numpy reference of one case, computed at float64 for low-precision floats.

    Returns an array, or a list/tuple of them for ops with several outputs (and the kinds other than
    ``value``, see the module docstring).

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> info = OpInfo("Neg", tf.negative, np.negative)
        >>> reference_result(info, [np.array([1, 2], np.float16)]).tolist()
        [-1.0, -2.0]
    """
    kwargs = dict(attrs or {})
    if info.dtype_kwarg:
        kwargs["dtype"] = dtype
    with np.errstate(all="ignore"):
        return _as_arrays(info.reference(*[widen(x) for x in inputs], **kwargs))


def _as_arrays(result: Any) -> Any:
    if isinstance(result, (list, tuple)):
        return type(result)(_as_arrays(r) for r in result)
    if isinstance(result, (str, bytes)):
        return result
    return np.asarray(result)


__all__ = ["ALL", "BINARY_SHAPES", "BOOL", "DOMAINS", "FLOATING", "INDEX", "INTEGER", "KINDS", "LOW_PRECISION",
           "NUMERIC", "NotApplicable", "OpInfo", "SIGNED", "STRING", "TOLERANCE", "UNARY_SHAPES", "case_id",
           "make_input", "reference_result", "widen"]
