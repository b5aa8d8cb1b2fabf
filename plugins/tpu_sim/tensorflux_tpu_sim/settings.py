"""The plugin's settings: which chip the cost model simulates and the matrix units' precision.

The only module that reads the environment. Each setting is looked up, first to last, in the session's
``ConfigProto(device_options={"tpu_sim": {...}})``, the device's own attribute (``configure`` sets it), the
environment variable, and the default:

| setting | variable | values | default |
|---|---|---|---|
| ``chip`` | ``TENSORFLUX_TPU_CHIP`` | ``v1``, ``v2``, ``v3``, ``v4``, or a ``ChipSpec`` (``chips.custom_chip``) | ``v3`` |
| ``precision`` | ``TENSORFLUX_TPU_PRECISION`` | ``DEFAULT``, ``HIGH``, ``HIGHEST`` | ``DEFAULT`` |
"""

from __future__ import annotations

import os
from typing import Any

PRECISIONS = ("DEFAULT", "HIGH", "HIGHEST")
DEFAULT_CHIP = "v3"
OPTIONS = ("chip", "precision")


def check_precision(value: Any, where: str) -> str:
    """``value`` as one of PRECISIONS (case-insensitive); anything else is a ValueError naming ``where``.

    Example:
        >>> check_precision("highest", "configure(precision=...)")
        'HIGHEST'
    """
    name = str(value).strip().upper()
    if name not in PRECISIONS:
        raise ValueError(f"{where}: precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return name


def env_precision() -> str:
    """``TENSORFLUX_TPU_PRECISION``, checked; DEFAULT when unset.

    Example:
        >>> os.environ.pop("TENSORFLUX_TPU_PRECISION", None) and None
        >>> env_precision()
        'DEFAULT'
    """
    raw = os.environ.get("TENSORFLUX_TPU_PRECISION", "").strip()
    return check_precision(raw, "TENSORFLUX_TPU_PRECISION") if raw else "DEFAULT"


def env_chip() -> str:
    """``TENSORFLUX_TPU_CHIP`` (a preset name, checked when the chip is looked up); v3 when unset.

    Example:
        >>> os.environ.pop("TENSORFLUX_TPU_CHIP", None) and None
        >>> env_chip()
        'v3'
    """
    return os.environ.get("TENSORFLUX_TPU_CHIP", "").strip().lower() or DEFAULT_CHIP


def check_options(options: dict, where: str) -> dict:
    """A session's ``device_options["tpu_sim"]``, checked: only ``chip`` and ``precision``, precision valid.

    Example:
        >>> check_options({"precision": "high"}, "device_options['tpu_sim']")
        {'precision': 'HIGH'}
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; tpu_sim knows {', '.join(OPTIONS)}")
    checked = dict(options)
    if "precision" in checked:
        checked["precision"] = check_precision(checked["precision"], f"{where}['precision']")
    return checked
