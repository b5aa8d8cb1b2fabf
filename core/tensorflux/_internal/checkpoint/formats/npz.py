"""The ``npz`` checkpoint format: one numpy ``.npz`` archive per checkpoint, loaded with ``allow_pickle=False``.

Each variable is one ``.npy`` member named after it. bfloat16, which numpy's format cannot name,
is stored as its 16-bit patterns and listed in the reserved member ``__tensorflux_dtypes__``.
String variables are refused (they would need pickled object arrays); use the native format.
Zip's per-member CRC-32 is verified on load.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from ... import dtypes as _dtypes
from ...errors import DataLossError
from ...fileio import atomic_write
from . import CheckpointFormat

SUFFIX = ".npz"
DTYPES_MEMBER = "__tensorflux_dtypes__"


class NpzFormat(CheckpointFormat):
    """Numpy's ``.npz`` archive (see the module docstring).

    Example:
        >>> import numpy as np, os, tempfile
        >>> from tensorflux._internal.checkpoint.formats.npz import NpzFormat
        >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
        >>> NpzFormat().write(prefix, {"layer/w": np.arange(3)})
        >>> NpzFormat().read(prefix)["layer/w"]
        array([0, 1, 2])
    """

    name = "npz"

    def files(self, prefix: str) -> list[str]:
        return [prefix + SUFFIX]

    def detect(self, prefix: str) -> bool:
        try:
            with open(prefix + SUFFIX, "rb") as f:
                return f.read(4) == b"PK\x03\x04"
        except OSError:
            return False

    def write(self, prefix: str, tensors: dict[str, np.ndarray]) -> None:
        if DTYPES_MEMBER in tensors:
            raise ValueError(f"npz checkpoint: the variable name '{DTYPES_MEMBER}' is reserved by the npz format")
        os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
        special = []
        with atomic_write(prefix + SUFFIX) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            for name in sorted(tensors):
                arr = np.asarray(tensors[name])
                if arr.dtype.kind in "OSU":
                    raise TypeError(f"npz checkpoint '{prefix}{SUFFIX}': variable '{name}' holds strings, which the "
                                    "npz format cannot store without pickle; use format='native'")
                if arr.dtype == _dtypes.bfloat16.np_dtype:
                    special.append((name, "bfloat16"))
                    arr = arr.view(np.uint16)
                _write_member(zf, name, arr)
            if special:
                _write_member(zf, DTYPES_MEMBER, np.array(special, dtype=str))

    def read(self, prefix: str) -> dict[str, np.ndarray]:
        path = prefix + SUFFIX
        try:
            with np.load(path, allow_pickle=False) as archive:
                out = {name: archive[name] for name in archive.files}
        except FileNotFoundError:
            raise DataLossError(f"npz checkpoint '{path}' does not exist") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise DataLossError(f"npz checkpoint '{path}' is corrupt or truncated: {exc}") from None
        for name, dtype_name in out.pop(DTYPES_MEMBER, np.empty((0, 2), dtype=str)).tolist():
            if name not in out or dtype_name != "bfloat16" or out[name].dtype != np.uint16:
                raise DataLossError(f"npz checkpoint '{path}': bad dtype record for variable '{name}': {dtype_name}")
            out[name] = out[name].view(_dtypes.bfloat16.np_dtype)
        return out

    def variables(self, prefix: str) -> dict[str, tuple]:
        """``{name: (DType, shape list)}``."""
        return {name: (_dtypes.as_dtype(arr.dtype), list(arr.shape)) for name, arr in self.read(prefix).items()}


def _write_member(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with zf.open(name + ".npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.asarray(arr, order="C"), allow_pickle=False)
