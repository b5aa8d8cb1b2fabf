"""Op-info entries of the MPI collectives, which a single process runs as a world of one.

In a world of one, ``MpiAllreduce`` (sum or average over one rank) and ``MpiBroadcast`` return their
inputs; the cases are skipped, saying why, when the suite runs under an MPI launcher with several ranks.
"""

from __future__ import annotations

from typing import Any

import tensorflux as tf

from .base import FLOATING, INDEX, NotApplicable, OpInfo

COLLECTIVE_T = FLOATING[2:] + INDEX  # the dtypes MPI reduces natively


def _world_of_one() -> None:
    tf.distribute.init()
    if tf.distribute.size() != 1:
        raise NotApplicable(f"the collective cases expect a world of one process; this one has "
                            f"{tf.distribute.size()} ranks")


def _allreduce(*xs: Any, average: bool) -> list:
    _world_of_one()
    return tf.distribute.allreduce(list(xs), average=average)


def _broadcast(*xs: Any, root_rank: int) -> list:
    _world_of_one()
    return tf.distribute.broadcast(list(xs), root_rank=root_rank)


COLLECTIVE = [
    OpInfo("MpiAllreduce", _allreduce, lambda *xs, average: list(xs), dtypes=COLLECTIVE_T,
           shapes=[((2, 3),), ((4,), (2, 2)), ((), (0,))], attrs=[{"average": True}, {"average": False}],
           differentiable=False),
    OpInfo("MpiBroadcast", _broadcast, lambda *xs, root_rank: list(xs), dtypes=COLLECTIVE_T,
           shapes=[((2, 3),), ((4,), (2, 2))], attrs=[{"root_rank": 0}], differentiable=False),
]

INFOS = COLLECTIVE
