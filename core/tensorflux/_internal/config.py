"""Environment variables read by tensorflux, all in one place (documented in docs/environment.md)."""

from __future__ import annotations

import os


def plugin_filter() -> tuple[set[str] | None, set[str]]:
    """TENSORFLUX_PLUGINS: comma-separated names to allow; names prefixed '-' are denied.

    Returns (allowed or None for all, denied).
    """
    raw = os.environ.get("TENSORFLUX_PLUGINS", "").strip()
    allow: set[str] = set()
    deny: set[str] = set()
    for item in filter(None, (p.strip() for p in raw.split(","))):
        if item.startswith("-"):
            deny.add(item[1:])
        else:
            allow.add(item)
    return (allow or None), deny


def preferred_device_type() -> str:
    """TENSORFLUX_DEVICE: the device type placement prefers when several have a kernel ('' for none)."""
    return os.environ.get("TENSORFLUX_DEVICE", "").strip().lower()


def data_dir() -> str | None:
    """TENSORFLUX_DATA_DIR: root directory for data sets (``$TENSORFLUX_DATA_DIR/mnist``); None when unset."""
    value = os.environ.get("TENSORFLUX_DATA_DIR", "").strip()
    return value or None


def disabled_passes() -> set[str]:
    """TENSORFLUX_DISABLE_PASSES: comma-separated graph passes to switch off (``cse``, ``constant_folding``,
    ``fusion``, or ``all``); read when a plan is compiled."""
    raw = os.environ.get("TENSORFLUX_DISABLE_PASSES", "")
    return {p.strip().lower() for p in raw.split(",") if p.strip()}


DEFAULT_MAX_EXPANDED_BYTES = 256 * 2**20


def max_expanded_bytes() -> int:
    """TENSORFLUX_MAX_EXPANDED_BYTES: the most bytes one file or graph may make a reader allocate beyond the bytes
    it holds (a constant filled from a shorter value list, a compressed npz member, a gzip'd IDX file).

    Read each time a reader checks a claimed size, so tests and users can raise it at run time. Accepts an integer
    with an optional K, M or G suffix (powers of 1024); default 256M.

    Example:
        >>> import os
        >>> from tensorflux._internal import config
        >>> os.environ["TENSORFLUX_MAX_EXPANDED_BYTES"] = "1G"
        >>> config.max_expanded_bytes()
        1073741824
        >>> del os.environ["TENSORFLUX_MAX_EXPANDED_BYTES"]
    """
    return _byte_count("TENSORFLUX_MAX_EXPANDED_BYTES", DEFAULT_MAX_EXPANDED_BYTES, "268435456 or 256M")


DEFAULT_ALLREDUCE_RING_BYTES = 8 * 2**20


def allreduce_ring_bytes() -> int:
    """TENSORFLUX_ALLREDUCE_RING_BYTES: the smallest fused buffer tf.distribute reduces with its ring over MPI
    point-to-point rather than with MPI_Allreduce (default 8M); read once, by ``tf.distribute.init``.

    Example:
        >>> import os
        >>> from tensorflux._internal import config
        >>> os.environ["TENSORFLUX_ALLREDUCE_RING_BYTES"] = "4M"
        >>> config.allreduce_ring_bytes()
        4194304
        >>> del os.environ["TENSORFLUX_ALLREDUCE_RING_BYTES"]
    """
    return _byte_count("TENSORFLUX_ALLREDUCE_RING_BYTES", DEFAULT_ALLREDUCE_RING_BYTES, "8388608 or 8M")


def _byte_count(name: str, default: int, example: str) -> int:
    """Environment variable ``name`` as a byte count: an integer with an optional K, M or G suffix (powers of 1024)."""
    raw = os.environ.get(name, "").strip().upper()
    if not raw:
        return default
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(raw[-1], 1)
    digits = raw[:-1] if scale > 1 else raw
    if not digits.isdigit():
        raise ValueError(f"{name} must be a byte count such as {example}, got {raw!r}")
    return int(digits) * scale
