"""Collective ops across MPI ranks: ``MpiAllreduce`` (fused, one Allreduce per op), its split form
``MpiAllreduceStart``/``MpiAllreduceFinish`` (the reduction runs on a background thread in between, so it
overlaps the ops scheduled there) and ``MpiBroadcast``.

All are stateful: every rank must run the same collectives in the same order, so the optimizer passes
must neither fold, deduplicate nor drop them.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..shapes import TensorShape
from .common import define, not_differentiable

# The dtypes MPI reduces natively (no float16/bfloat16 MPI datatype is portable across implementations).
_COLLECTIVE_T = (dt.float32, dt.float64, dt.int32, dt.int64)


def _same_shapes(op):
    return [t.shape for t in op.inputs]


define("MpiAllreduce", ["*tensors: T"], ["*output: T"],
       {"N": "int", "T": ("type", None, _COLLECTIVE_T), "average": ("bool", True)},
       shape=_same_shapes, stateful=True,
       doc="Sum (or average) each input across MPI ranks; all inputs travel in one fused buffer.")
define("MpiAllreduceStart", ["after: int64", "*tensors: T"], ["handle: int64"],
       {"N": "int", "T": ("type", None, _COLLECTIVE_T), "average": ("bool", True)},
       shape=lambda op: [TensorShape([])], stateful=True,
       doc="Pack the inputs and queue their sum (or average) across ranks on the background thread; returns the "
           "handle MpiAllreduceFinish waits on. ``after`` (the previous Start's handle, or 0) fixes the order in "
           "which the ranks queue their buckets, and comes first so that a plan reaches the previous bucket first.")


def _finished_shapes(op: Any) -> list:
    return list(op.attrs["output_shapes"])


define("MpiAllreduceFinish", ["handle: int64"], ["*output: T"],
       {"T": ("list(type)", []), "output_shapes": ("list(shape)", [])}, shape=_finished_shapes, stateful=True,
       doc="Wait for the allreduce MpiAllreduceStart queued under ``handle``; its outputs.")
define("MpiBroadcast", ["*tensors: T"], ["*output: T"],
       {"N": "int", "T": ("type", None, _COLLECTIVE_T), "root_rank": ("int", 0)},
       shape=_same_shapes, stateful=True, doc="Every rank receives root_rank's values of the inputs.")
not_differentiable("MpiAllreduce", "MpiAllreduceStart", "MpiAllreduceFinish", "MpiBroadcast")
