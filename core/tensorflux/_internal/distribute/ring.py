"""Ring allreduce over MPI point-to-point: the algorithm of Baidu's TensorFlow allreduce, which Horovod grew from.

The buffer is cut into one chunk per rank. In n-1 reduce-scatter steps each rank passes a chunk to its right
neighbour and adds the chunk arriving from its left one, so that each rank ends up owning one chunk summed
over all ranks; n-1 allgather steps then pass the owned chunks round. Every rank sends and receives
2(n-1)/n of the buffer, whatever n is.

Why not MPI_Allreduce for large buffers: for two ranks Open MPI picks the same halving-and-doubling exchange,
but it first copies the send buffer into the receive buffer and reduces through a temporary of its own, so
a large buffer streams through memory more times than the ring's, which reads the input where it lies and
adds straight into the output. In `benchmarks/allreduce.py` (2 ranks, one host) the op summed at
1.15-1.62x mpi4py's speed through the ring at 8 MB, 1.16-1.40x at 16 MB and 1.35-1.37x at 64 MB,
against 0.93-0.99x through MPI_Allreduce. At 1-4 MB, where the copy is cheap and the ring's Python steps
are not, MPI_Allreduce was faster (0.88-0.93x against 0.77-0.92x). Hence the default threshold of 8 MB
(``TENSORFLUX_ALLREDUCE_RING_BYTES``).

Each chunk is summed by one rank and copied to the others, so every rank holds the same bits, as data-parallel
replicas must.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The tags of the two phases, on a communicator of the ring's own (see comm.init), so no message of the
# user's can be taken for one of the ring's.
_REDUCE_TAG, _GATHER_TAG = 1, 2

# Step plans by (count, rank, size): a plan is pure arithmetic on ints, kept so that a repeated bucket pays
# for none of it (a 1 MB ring step takes tens of microseconds, and the Python around it counts).
_PLANS: dict = {}
_MAX_PLANS = 256


def chunk_width(count: int, size: int) -> int:
    """The most elements of any rank's chunk: the length of the scratch buffer ``ring_allreduce`` needs.

    Example:
        >>> chunk_width(10, 4)
        3
    """
    return -(-count // size)


def ring_allreduce(comm: Any, rank: int, size: int, src: np.ndarray, out: np.ndarray, scratch: np.ndarray,
                   average: bool) -> None:
    """Write the sum over ranks of each rank's 1-d ``src`` into ``out`` (averaged when ``average``:
    floats times 1/size, integers floor-divided by size). ``src`` may be ``out`` itself; ``scratch`` holds at least
    ``chunk_width(src.size, size)`` elements of the dtype. Every rank of ``comm`` must call it with the same
    count and dtype.

    Example (a world of one, where the sum is the input):
        >>> import numpy as np
        >>> from mpi4py import MPI
        >>> x, out = np.arange(4.0), np.empty(4)
        >>> ring_allreduce(MPI.COMM_SELF, 0, 1, x, out, np.empty(4), average=False)
        >>> out.tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    if size == 1:
        if out is not src:
            np.copyto(out, src)
        return
    plan = _plan(src.size, rank, size)
    sendrecv = comm.Sendrecv
    right, left = (rank + 1) % size, (rank - 1) % size
    sending = src
    owned = out[:0]
    for send_lo, send_hi, recv_lo, recv_hi in plan[0]:
        incoming = scratch[:recv_hi - recv_lo]
        sendrecv(sending[send_lo:send_hi], right, _REDUCE_TAG, incoming, left, _REDUCE_TAG)
        owned = out[recv_lo:recv_hi]
        np.add(src[recv_lo:recv_hi], incoming, out=owned)
        sending = out  # from the second step on, a rank passes on the partial sums it has added to
    if average:
        # Once, on the chunk this rank owns and has just written (still in its cache). Floats are multiplied
        # by 1/size, as MPI_Allreduce's prescale does: a division costs 5x a product, a quarter of a 1 MB ring.
        if owned.dtype.kind in "fc":
            np.multiply(owned, owned.dtype.type(1.0 / size), out=owned)
        else:
            np.floor_divide(owned, size, out=owned)
    for send_lo, send_hi, recv_lo, recv_hi in plan[1]:
        sendrecv(out[send_lo:send_hi], right, _GATHER_TAG, out[recv_lo:recv_hi], left, _GATHER_TAG)


def _plan(count: int, rank: int, size: int) -> tuple:
    """The (send lo, send hi, receive lo, receive hi) element bounds of each reduce-scatter and allgather step."""
    key = (count, rank, size)
    plan = _PLANS.get(key)
    if plan is None:
        bounds = [count * c // size for c in range(size + 1)]

        def chunk(c: int) -> tuple:
            c %= size
            return bounds[c], bounds[c + 1]

        # Step s of the reduce-scatter: chunk rank-s goes right, chunk rank-s-1 comes from the left, so after
        # size-1 steps this rank has added every contribution to chunk rank+1, which it then owns.
        reduce = tuple((*chunk(rank - s), *chunk(rank - s - 1)) for s in range(size - 1))
        # Step s of the allgather: the chunk finished last goes right, the left neighbour's comes in.
        gather = tuple((*chunk(rank + 1 - s), *chunk(rank - s)) for s in range(size - 1))
        plan = (reduce, gather)
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = plan
    return plan
