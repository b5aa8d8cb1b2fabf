"""Collective kernels: MPI Allreduce and Bcast on host buffers, through ``tensorflux.distribute``.

The MPI communicator is core's (``tensorflux.distribute.init``), so the kernels only move numpy arrays.
"""

from __future__ import annotations

from tensorflux import distribute


def allreduce(*tensors, average, donated=()):
    # A dead input (usually a gradient) is reduced in place, sparing a fresh buffer's page faults.
    in_place = len(tensors) == 1 and 0 in donated
    return tuple(distribute.allreduce_arrays(tensors, average, in_place))


def broadcast(*tensors, root_rank):
    return tuple(distribute.broadcast_arrays(list(tensors), root_rank=root_rank))


KERNELS = {"MpiAllreduce": allreduce, "MpiBroadcast": broadcast}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
