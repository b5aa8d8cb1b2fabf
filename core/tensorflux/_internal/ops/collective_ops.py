"""Collective ops across MPI ranks: ``MpiAllreduce`` (fused, one Allreduce per op) and ``MpiBroadcast``.

Both are stateful: every rank must run the same collectives in the same order, so the optimizer passes
must neither fold, deduplicate nor drop them.
"""

from __future__ import annotations

from .. import dtypes as dt
from .common import define, not_differentiable

# The dtypes MPI reduces natively (no float16/bfloat16 MPI datatype is portable across implementations).
_COLLECTIVE_T = (dt.float32, dt.float64, dt.int32, dt.int64)


def _same_shapes(op):
    return [t.shape for t in op.inputs]


define("MpiAllreduce", ["*tensors: T"], ["*output: T"],
       {"N": "int", "T": ("type", None, _COLLECTIVE_T), "average": ("bool", True)},
       shape=_same_shapes, stateful=True,
       doc="Sum (or average) each input across MPI ranks; all inputs travel in one fused buffer.")
define("MpiBroadcast", ["*tensors: T"], ["*output: T"],
       {"N": "int", "T": ("type", None, _COLLECTIVE_T), "root_rank": ("int", 0)},
       shape=_same_shapes, stateful=True, doc="Every rank receives root_rank's values of the inputs.")
not_differentiable("MpiAllreduce", "MpiBroadcast")
