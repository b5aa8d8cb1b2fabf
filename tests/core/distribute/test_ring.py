"""The ring allreduce (core/tensorflux/_internal/distribute/ring.py) across real MPI ranks, against MPI's own
Allreduce, and the setting that chooses it."""

from __future__ import annotations

import sys

import pytest
from test_distribute import _launch, _results, _skip_reason, _worker

from tensorflux._internal import config

RING_VAR = "TENSORFLUX_ALLREDUCE_RING_BYTES"


# Open MPI's transports: shared memory between ranks on one host, and TCP, which carries the messages
# between hosts (forced here on one host, with the shared-memory transport left out).
TRANSPORTS = {"shared-memory": {}, "tcp": {"OMPI_MCA_pml": "ob1", "OMPI_MCA_btl": "tcp,self"}}


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
@pytest.mark.parametrize(("ranks", "transport"), [(2, "shared-memory"), (4, "shared-memory"), (2, "tcp")])
def test_the_ring_sums_and_averages_as_mpi_allreduce_does_and_every_rank_holds_the_same_bits(ranks, transport):
    results = _results(_launch(ranks, *_worker("ring"), env={RING_VAR: "0", **TRANSPORTS[transport]}), ranks)
    assert all(r["ring_bytes"] == 0 for r in results), "the worker must have sent every buffer through the ring"
    for r in results:
        assert r["wrong"] == [], f"rank {r['rank']}:\n" + "\n".join(r["wrong"])
    # Each chunk is summed by one rank and copied to the rest: replicas must not drift apart by rounding.
    assert all(r["digests"] == results[0]["digests"] for r in results)


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
def test_ranks_that_disagree_on_the_ring_threshold_fail_at_init_naming_the_setting():
    # Ranks that chose different collectives for one buffer would wait for each other for ever.
    worker = _worker("ring")
    per_rank = [["-n", "1", "env", f"{RING_VAR}={value}", sys.executable, *worker] for value in ("0", "1G")]
    proc = _launch(2, cmd=[*per_rank[0], ":", *per_rank[1]])
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert f"{RING_VAR} must be the same on every rank" in output, output
    assert "got values from 0 to 1073741824" in output, output


def test_the_threshold_reads_byte_counts_and_names_itself_when_malformed(monkeypatch):
    monkeypatch.delenv(RING_VAR, raising=False)
    assert config.allreduce_ring_bytes() == 8 * 2**20
    monkeypatch.setenv(RING_VAR, "512K")
    assert config.allreduce_ring_bytes() == 512 * 2**10
    monkeypatch.setenv(RING_VAR, "0")
    assert config.allreduce_ring_bytes() == 0
    monkeypatch.setenv(RING_VAR, "lots")
    with pytest.raises(ValueError, match=f"{RING_VAR} must be a byte count such as 8388608 or 8M, got 'LOTS'"):
        config.allreduce_ring_bytes()
