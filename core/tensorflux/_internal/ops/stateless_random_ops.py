"""TF's stateless random ops of its V2 family, for graphs TF wrote: tf-keras initializers (``tf.layers.dense``'s
default ``glorot_uniform``) draw through them, so a meta graph TF 2 wrote holds them in its initializers.

``StatelessRandomGetKeyCounter`` scrambles a seed into a Philox key and counter (``uint64``) and
``StatelessRandomUniformV2``, ``StatelessRandomNormalV2``, ``StatelessTruncatedNormalV2``,
``StatelessRandomUniformIntV2`` and ``StatelessRandomUniformFullIntV2`` draw from them; all give TF's exact values
(``philox.py``). TF's CPU kernels draw with Philox only, and so does Tensorflux: ThreeFry (algorithm 2) is refused.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..op_builder import constant_value
from ..shapes import TensorShape
from .common import define, not_differentiable

_IDX = (dt.int32, dt.int64)


def _drawn_shape(op: Any) -> TensorShape:
    value = constant_value(op.inputs[0])
    if value is not None:
        return TensorShape([int(d) for d in value.reshape(-1).tolist()])
    n = op.inputs[0].shape.num_elements() if op.inputs[0].shape.rank == 1 else None
    return TensorShape(None if n is None else [None] * n)


define("StatelessRandomGetKeyCounter", ["seed: Tseed"], ["key: uint64", "counter: uint64"],
       {"Tseed": ("type", dt.int64, _IDX)}, shape=lambda op: [TensorShape([1]), TensorShape([2])],
       doc="The Philox key and counter TF derives from a seed of two numbers.")
define("StatelessRandomUniformV2", ["shape: Tshape", "key: uint64", "counter: uint64", "alg: int32"], ["output: dtype"],
       {"dtype": ("type", dt.float32, (dt.float16, dt.bfloat16, dt.float32, dt.float64)),
        "Tshape": ("type", dt.int32, _IDX)},
       shape=_drawn_shape, doc="Uniform values in [0, 1) drawn from the key and counter, as TF draws them.")
for _name, _what in (("StatelessRandomNormalV2", "Standard normal values"),
                     ("StatelessTruncatedNormalV2", "Standard normal values within two standard deviations")):
    define(_name, ["shape: Tshape", "key: uint64", "counter: uint64", "alg: int32"], ["output: dtype"],
           {"dtype": ("type", dt.float32, (dt.float16, dt.bfloat16, dt.float32, dt.float64)),
            "Tshape": ("type", dt.int32, _IDX)},
           shape=_drawn_shape, doc=f"{_what} drawn from the key and counter, as TF draws them.")
_INTEGERS = (dt.int32, dt.int64, dt.uint32, dt.uint64)
define("StatelessRandomUniformIntV2",
       ["shape: Tshape", "key: uint64", "counter: uint64", "alg: int32", "minval: dtype", "maxval: dtype"],
       ["output: dtype"], {"dtype": ("type", None, _IDX), "Tshape": ("type", dt.int32, _IDX)},
       shape=_drawn_shape, doc="Integers in [minval, maxval) drawn from the key and counter, as TF draws them.")
define("StatelessRandomUniformFullIntV2", ["shape: Tshape", "key: uint64", "counter: uint64", "alg: int32"],
       ["output: dtype"], {"dtype": ("type", dt.uint64, _INTEGERS), "Tshape": ("type", dt.int32, _IDX)},
       shape=_drawn_shape, doc="Integers over the dtype's whole range drawn from the key and counter, as TF draws them.")
not_differentiable("StatelessRandomGetKeyCounter", "StatelessRandomUniformV2", "StatelessRandomNormalV2",
                   "StatelessTruncatedNormalV2", "StatelessRandomUniformIntV2", "StatelessRandomUniformFullIntV2")
