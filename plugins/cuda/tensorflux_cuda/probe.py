"""Finding CUDA GPUs without paying for cupy when there can be none.

Importing cupy takes about a second, and discovery runs in every process that uses tensorflux, GPU or not.
So the probe first asks the cheap question (can the CUDA driver library be loaded at all?) and imports
cupy only when it can; with a driver, cupy's runtime then counts the GPUs. Each step that fails says why,
and that reason is what ``python -m tensorflux devices`` prints for the plugin.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import sys

# The driver library the CUDA runtime loads: it comes with the NVIDIA driver, never with a wheel.
DRIVER_LIBRARY = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"


def driver_problem() -> str:
    """'' when the CUDA driver library loads, else why not (a machine without an NVIDIA driver).

    Example:
        >>> isinstance(driver_problem(), str)
        True
    """
    try:
        ctypes.CDLL(DRIVER_LIBRARY)
    except OSError as exc:
        return f"no CUDA driver: {DRIVER_LIBRARY} cannot be loaded ({exc}); cupy was not imported"
    return ""


def cupy_device_count() -> tuple[int, str]:
    """How many GPUs cupy's CUDA runtime sees, and why none ('' when some). Imports cupy.

    Example:
        >>> count, why = cupy_device_count()
        >>> (count > 0) != bool(why)
        True
    """
    try:
        import cupy
    except Exception as exc:  # noqa: BLE001 - a broken cupy install must not break tensorflux
        return 0, f"cupy cannot be imported ({type(exc).__name__}: {exc}); reinstall tensorflux-cuda"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # noqa: BLE001 - CUDARuntimeError: no driver, an old driver, no device
        code = str(exc).split(":")[0] or type(exc).__name__
        what = "no CUDA GPU" if "NoDevice" in code else "no usable CUDA driver"
        return 0, f"cupy {cupy.__version__} found {what} ({code}: {str(exc).partition(': ')[2] or exc})"
    if count == 0:
        return 0, f"cupy {cupy.__version__} found no CUDA GPU"
    return count, ""


@functools.lru_cache(maxsize=1)
def find_gpus() -> tuple[int, str]:
    """(number of CUDA GPUs, why there are none: '' when there are some), asked once per process.

    Example:
        >>> count, why = find_gpus()
        >>> count >= 0 and (count > 0) != bool(why)
        True
    """
    if importlib.util.find_spec("cupy") is None:
        return 0, "cupy is not installed; `pip install tensorflux-cuda` brings cupy-cuda12x"
    problem = driver_problem()
    if problem:
        return 0, problem
    return cupy_device_count()


def package_versions() -> dict:
    """The installed versions of the plugin's libraries, by distribution name.

    Example:
        >>> "array-api-compat" in package_versions()
        True
    """
    from importlib import metadata

    found = {}
    for name in ("cupy-cuda12x", "cupy-cuda13x", "array-api-compat"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def runtime_versions(count: int) -> dict:
    """The CUDA runtime and driver versions cupy reports, and the GPU count (runs only where there is a GPU).

    Example:
        >>> runtime_versions(1)["GPUs"]  # doctest: +SKIP
        '1'
    """
    import cupy

    return {"CUDA runtime": str(cupy.cuda.runtime.runtimeGetVersion()),
            "CUDA driver": str(cupy.cuda.runtime.driverGetVersion()), "GPUs": str(count)}
