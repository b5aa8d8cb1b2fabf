"""tensorflux-tpu-sim: a simulated TPU device for tensorflux (``tf.device('/tpu_sim:0')``, or ``'/tpu:0'``).

Matrix products take bfloat16 operands and accumulate in float32, as the MXU does (``numerics.py``); runs of
ops placed on the device are compiled per input-shape signature (``compiler.py``); each step's simulated time
comes from a systolic-array cycle model of the chosen chip (``cost.py``, ``systolic.py``, ``chips.py``).
docs/tpu-sim.md is the guide.

Example:
    >>> import tensorflux as tf
    >>> import tensorflux_tpu_sim as tpu
    >>> x = tf.placeholder(tf.float32, [None, 3])
    >>> with tf.device("/tpu:0"):
    ...     y = tf.nn.relu(tf.matmul(x, tf.ones([3, 2])))
    >>> tf.Session().run(y, {x: [[1.0, 2.0, 3.0]]}).tolist()
    [[6.0, 6.0]]
    >>> tpu.last_step_report().ops[0].kind
    'mxu'
"""

from __future__ import annotations

from typing import Any

__all__ = ["configure", "get_device", "last_step_report", "reset_stats", "stats"]


def get_device(index: int = 0) -> Any:
    """The registered ``/tpu_sim:<index>`` device (a ``TpuSimDevice``); LookupError when the plugin is not loaded.

    Example:
        >>> import tensorflux_tpu_sim as tpu
        >>> tpu.get_device().name
        '/tpu_sim:0'
    """
    from tensorflux.extend import list_devices

    for found in list_devices():
        if found.device_type == "tpu_sim" and found.index == index:
            return found
    raise LookupError(f"no /tpu_sim:{index} device is registered; is the tpu_sim plugin disabled "
                      "(TENSORFLUX_PLUGINS)?")


def configure(chip: Any = None, precision: str | None = None, index: int = 0) -> None:
    """Set the chip the cost model simulates (``"v1"`` .. ``"v4"``, or a ``chips.custom_chip(...)``) and the
    matrix units' precision (``"DEFAULT"``, ``"HIGH"``, ``"HIGHEST"``) of the device, for programs compiled
    afterwards. These override ``TENSORFLUX_TPU_CHIP`` and ``TENSORFLUX_TPU_PRECISION``; a session's
    ``ConfigProto(device_options={"tpu_sim": {...}})`` overrides them. None leaves a setting as it is.

    Example:
        >>> import tensorflux_tpu_sim as tpu
        >>> tpu.configure(chip="v4", precision="highest")
        >>> tpu.get_device().resolve({})[0], tpu.get_device().resolve({})[1].name
        ('HIGHEST', 'v4')
        >>> tpu.get_device().chip = tpu.get_device().precision = None  # back to the environment's settings
    """
    from . import chips, settings

    target = get_device(index)
    if chip is not None:
        target.chip = chips.chip(chip) if isinstance(chip, str) else chip
    if precision is not None:
        target.precision = settings.check_precision(precision, "tensorflux_tpu_sim.configure(precision=...)")


def stats(index: int = 0) -> dict:
    """The device's compile statistics: ``compiles``, ``cache_hits``, ``padding_waste`` (share of compiled MXU
    work padding matrix dimensions to (8, 128)) and ``layout_padding`` (share of HBM bytes that are tile padding).

    Example:
        >>> import tensorflux_tpu_sim as tpu
        >>> sorted(tpu.stats())
        ['cache_hits', 'compiles', 'layout_padding', 'padding_waste']
    """
    return get_device(index).stats()


def reset_stats(index: int = 0) -> None:
    """Count compiles, cache hits and padding afresh."""
    get_device(index).reset_stats()


def last_step_report(index: int = 0) -> Any:
    """The ``StepReport`` of the last complete step run on the device (None before any); ``print`` it.

    Example:
        >>> import tensorflux_tpu_sim as tpu
        >>> report = tpu.last_step_report()
        >>> report is None or report.total_seconds >= 0
        True
    """
    return get_device(index).last_report
