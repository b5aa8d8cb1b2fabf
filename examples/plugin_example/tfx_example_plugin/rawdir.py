"""The 'rawdir' checkpoint format: a JSON index (names, dtypes, shapes, offsets, sha256) and one raw file.

JSON and raw bytes only: loading never executes anything from the files.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

import tensorflux as tf
from tensorflux.extend import atomic_write

INDEX, DATA = ".rawidx", ".rawdata"


def _atomic_write(path: str, payload: bytes) -> None:
    with atomic_write(path) as f:
        f.write(payload)


class RawDirFormat:
    """Checkpoint format object registered under the name 'rawdir'."""

    def files(self, prefix: str) -> list[str]:
        return [prefix + INDEX, prefix + DATA]

    def detect(self, prefix: str) -> bool:
        return os.path.exists(prefix + INDEX)

    def write(self, prefix: str, tensors: dict) -> None:
        index, chunks, offset = {}, [], 0
        for name, value in tensors.items():
            arr = np.ascontiguousarray(value)
            dtype = tf.as_dtype(arr.dtype)
            if dtype is tf.string:
                raise TypeError(f"rawdir format cannot store string variable '{name}'")
            raw = arr.tobytes()
            index[name] = {"dtype": dtype.name, "shape": list(arr.shape), "offset": offset, "nbytes": len(raw),
                           "sha256": hashlib.sha256(raw).hexdigest()}
            chunks.append(raw)
            offset += len(raw)
        _atomic_write(prefix + DATA, b"".join(chunks))
        _atomic_write(prefix + INDEX, json.dumps({"format": "rawdir", "version": 1, "tensors": index}).encode())

    def read(self, prefix: str) -> dict:
        try:
            with open(prefix + INDEX, "rb") as f:
                index = json.loads(f.read())["tensors"]
            with open(prefix + DATA, "rb") as f:
                data = f.read()
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"rawdir checkpoint '{prefix}' is unreadable: {exc}") from None
        out = {}
        for name, entry in index.items():
            raw = data[entry["offset"]:entry["offset"] + entry["nbytes"]]
            if len(raw) != entry["nbytes"] or hashlib.sha256(raw).hexdigest() != entry["sha256"]:
                raise ValueError(f"rawdir checkpoint '{prefix + DATA}': variable '{name}' is corrupt or truncated")
            out[name] = np.frombuffer(raw, dtype=tf.as_dtype(entry["dtype"]).np_dtype).reshape(entry["shape"]).copy()
        return out
