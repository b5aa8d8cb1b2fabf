"""Collective kernels: MPI Allreduce and Bcast on host buffers, through ``tensorflux.distribute``.

The MPI communicator is core's (``tensorflux.distribute.init``), so the kernels only move numpy arrays.
"""

from __future__ import annotations

import numpy as np

from tensorflux import distribute


def allreduce(*tensors, average, donated=()):
    # A dead input (usually a gradient) is reduced in place, sparing a fresh buffer's page faults.
    in_place = len(tensors) == 1 and 0 in donated
    return tuple(distribute.allreduce_arrays(tensors, average, in_place))


def allreduce_start(after, *tensors, average, donated=()):
    # `after` (position 0) only orders the buckets; a dead single gradient is reduced in place.
    in_place = len(tensors) == 1 and 1 in donated
    return np.array(distribute.allreduce_arrays_start(tensors, average, in_place), np.int64)


def allreduce_finish(handle):
    return tuple(distribute.allreduce_arrays_finish(int(handle)))


def broadcast(*tensors, root_rank):
    return tuple(distribute.broadcast_arrays(list(tensors), root_rank=root_rank))


KERNELS = {"MpiAllreduce": allreduce, "MpiAllreduceStart": allreduce_start, "MpiAllreduceFinish": allreduce_finish,
           "MpiBroadcast": broadcast}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
