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
