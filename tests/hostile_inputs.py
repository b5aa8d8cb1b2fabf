"""Crafted files for the hardening tests, the parsers as fuzz targets, and a peak-memory probe.

Shared by the regression tests (tests/core/...), the hypothesis fuzz tests (tests/fuzz) and the longer
coverage-guided run (``make fuzz``, tests/fuzz/run.py), so each parser is driven the same way everywhere.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

import tensorflux as tf
from tensorflux.proto import checkpoint_index_pb2, graph_pb2, tensor_pb2

REPO = Path(__file__).resolve().parents[1]
# What a parser may raise for any input: the library's own errors. CorruptDataError is a DataLossError.
LIBRARY_ERRORS = (tf.errors.OpError,)
# Rejecting a crafted file must stay under this peak RSS (the default limit allows 256 MiB of expansion,
# which a rejected file never reaches).
PEAK_RSS_LIMIT_MB = 300


# -- crafted files ------------------------------------------------------------------------------------
def const_bomb(count: int, dtype: int = 1, value_dtype: int | None = None) -> graph_pb2.GraphDef:
    """A GraphDef whose Const 'c' claims ``count`` elements but holds one float_val (TF repeats it)."""
    gdef = graph_pb2.GraphDef()
    node = gdef.node.add(name="c", op="Const")
    node.attr["dtype"].type = dtype
    value = tensor_pb2.TensorProto(dtype=dtype if value_dtype is None else value_dtype)
    value.tensor_shape.dim.add(size=count)
    value.float_val.append(1.0)
    node.attr["value"].tensor.CopyFrom(value)
    return gdef


def native_checkpoint(prefix: str, dtype: int, dims: list[int], payload: bytes, data_file: str | None = None) -> None:
    """A native checkpoint with one variable 's' whose index is well formed (checksums right) but may lie."""
    data_file = os.path.basename(prefix) + ".data-0" if data_file is None else data_file
    if data_file not in ("", ".", ".."):
        Path(os.path.join(os.path.dirname(prefix), data_file)).write_bytes(payload)
    body = checkpoint_index_pb2.CheckpointIndexBody(data_file=data_file, data_size=len(payload))
    entry = body.tensor.add(name="s", dtype=dtype, offset=0, size=len(payload), sha256=hashlib.sha256(payload).digest())
    for d in dims:
        entry.shape.dim.add(size=d)
    raw = body.SerializeToString()
    index = checkpoint_index_pb2.CheckpointIndex(format_version=1, body=raw, body_sha256=hashlib.sha256(raw).digest())
    Path(prefix + ".index").write_bytes(b"TFXINDEX" + index.SerializeToString())


def tf_bundle_checkpoint(prefix: str, dtype: int, dims: list[int], payload: bytes, num_shards: int = 1,
                         **entry: int) -> None:
    """A TF tensor bundle with one variable 's' whose index is well formed (checksums right) but may lie.

    ``entry`` overrides fields of its BundleEntryProto (offset, size, shard_id, crc32c); by default they
    describe ``payload`` truthfully.
    """
    from tensorflux._internal import crc32c
    from tensorflux._internal.checkpoint.formats import leveldb_table
    from tensorflux.proto import tensor_bundle_pb2

    Path(prefix + f".data-00000-of-{num_shards:05d}").write_bytes(payload)
    header = tensor_bundle_pb2.BundleHeaderProto(num_shards=num_shards)
    header.version.producer = 1
    fields = dict(dtype=dtype, offset=0, size=len(payload), crc32c=crc32c.mask(crc32c.value(payload)))
    record = tensor_bundle_pb2.BundleEntryProto(**{**fields, **entry})
    for d in dims:
        record.shape.dim.add(size=d)
    table = leveldb_table.build_table([(b"", header.SerializeToString()), (b"s", record.SerializeToString())])
    Path(prefix + ".index").write_bytes(table)


@functools.lru_cache(maxsize=1)
def _tf_bundle_sample() -> tuple[bytes, bytes]:
    """The index and data file of a small valid bundle (every kind of entry), written by the tf_bundle format."""
    from tensorflux._internal.checkpoint.formats.tf_bundle import TfBundleFormat

    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(7, np.int64),
               "b": np.array([True, False]), "h": np.ones(2, tf.bfloat16.np_dtype),
               "s": np.array([b"ab", b"c"], dtype=object)}
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "model")
        TfBundleFormat().write(prefix, tensors)
        return Path(prefix + ".index").read_bytes(), Path(prefix + ".data-00000-of-00001").read_bytes()


def npz_deflate_bomb(path: str, elements: int) -> None:
    """An npz whose one deflated member 'w.npy' inflates to ``elements`` float32 zeros, written in chunks."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (elements,)})
    chunk = bytes(1 << 22)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("w.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            left = elements * 4
            while left:
                n = min(left, len(chunk))
                member.write(chunk[:n])
                left -= n


def idx_gz(path: str, magic: int, dims: list[int], body: bytes) -> None:
    """An IDX file (big-endian magic and uint32 dims, then ``body``), gzip'd."""
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(f">{1 + len(dims)}I", magic, *dims) + body)


# -- the parsers, each as bytes -> result ----------------------------------------------------------------
def _in_tmp(write: Callable[[str], None], read: Callable[[str], object]) -> object:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x")
        write(path)
        return read(path)


def parse_graph_def(data: bytes) -> object:
    """Bytes as a binary GraphDef, imported into a fresh graph."""
    with tf.Graph().as_default():
        return tf.import_graph_def(data, name="")


def parse_graph_def_text(data: bytes) -> object:
    """Bytes as a GraphDef file (text or binary), imported into a fresh graph."""
    from tensorflux._internal.serialization.files import read_proto

    def read(path: str) -> object:
        with tf.Graph().as_default():
            return tf.import_graph_def(read_proto(path, graph_pb2.GraphDef), name="")

    return _in_tmp(lambda p: Path(p).write_bytes(data), read)


def parse_meta_graph(data: bytes) -> object:
    """Bytes as a .meta file (text or binary), imported into a fresh graph."""
    def read(path: str) -> object:
        with tf.Graph().as_default():
            return tf.train.import_meta_graph(path)

    return _in_tmp(lambda p: Path(p).write_bytes(data), read)


def parse_native_index(data: bytes) -> object:
    """Bytes as a native checkpoint's index (after the magic), with a small valid data file beside it."""
    def write(prefix: str) -> None:
        Path(prefix + ".index").write_bytes(b"TFXINDEX" + data)
        Path(prefix + ".data-0").write_bytes(bytes(64))

    def read(prefix: str) -> object:
        reader = tf.train.NewCheckpointReader(prefix)
        return reader.get_variable_to_shape_map(), reader.get_tensor("s") if reader.has_tensor("s") else None

    return _in_tmp(write, read)


def parse_native_checkpoint(data: bytes) -> object:
    """Bytes as a native checkpoint's index body (checksum made right), over a 64-byte data file."""
    def write(prefix: str) -> None:
        index = checkpoint_index_pb2.CheckpointIndex(format_version=1, body=data,
                                                     body_sha256=hashlib.sha256(data).digest())
        Path(prefix + ".index").write_bytes(b"TFXINDEX" + index.SerializeToString())
        Path(prefix + ".data-0").write_bytes(bytes(range(64)))

    from tensorflux._internal.checkpoint.formats.native import NativeFormat

    return _in_tmp(write, lambda p: (NativeFormat().variables(p), NativeFormat().read(p)))


def parse_tf_bundle_index(data: bytes) -> object:
    """Bytes as a TF tensor bundle's ``.index`` table, beside the data file of the valid sample bundle."""
    sample_data = _tf_bundle_sample()[1]

    def write(prefix: str) -> None:
        Path(prefix + ".index").write_bytes(data)
        Path(prefix + ".data-00000-of-00001").write_bytes(sample_data)

    def read(prefix: str) -> object:
        reader = tf.train.NewCheckpointReader(prefix)
        shapes = reader.get_variable_to_shape_map()
        return shapes, [reader.get_tensor(name) for name in shapes]

    return _in_tmp(write, read)


def parse_tf_bundle_entry(data: bytes) -> object:
    """Bytes as the BundleEntryProto of tensor 's' in a well-formed index (checksums right), beside the sample data."""
    from tensorflux._internal.checkpoint.formats import leveldb_table

    header = _tf_bundle_sample_header()

    def write(prefix: str) -> None:
        Path(prefix + ".index").write_bytes(leveldb_table.build_table([(b"", header), (b"s", data)]))
        Path(prefix + ".data-00000-of-00001").write_bytes(_tf_bundle_sample()[1])

    from tensorflux._internal.checkpoint.formats.tf_bundle import TfBundleFormat

    return _in_tmp(write, lambda p: (TfBundleFormat().variables(p), TfBundleFormat().read(p)))


def _tf_bundle_sample_header() -> bytes:
    from tensorflux._internal.checkpoint.formats import leveldb_table

    return leveldb_table.read_table(_tf_bundle_sample()[0], "sample")[0][1]


def parse_npz(data: bytes) -> object:
    """Bytes as an npz checkpoint."""
    from tensorflux._internal.checkpoint.formats.npz import NpzFormat

    return _in_tmp(lambda p: Path(p + ".npz").write_bytes(data), lambda p: NpzFormat().read(p))


def parse_checkpoint_state(data: bytes) -> object:
    """Bytes as a folder's ``checkpoint`` state file; then latest_checkpoint and load_checkpoint on the folder."""
    def read(path: str) -> object:
        folder = os.path.dirname(path)
        state = tf.train.get_checkpoint_state(folder)
        latest = tf.train.latest_checkpoint(folder)
        return state, latest

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _in_tmp(lambda p: Path(os.path.join(os.path.dirname(p), "checkpoint")).write_bytes(data), read)


def parse_idx(data: bytes) -> object:
    """Bytes as a gzip'd IDX images file, then as a labels file."""
    from tensorflux.datasets import mnist

    def read(path: str) -> object:
        return mnist.extract_images(path), mnist.extract_labels(path)

    return _in_tmp(lambda p: Path(p).write_bytes(gzip.compress(data, mtime=0)), read)


def parse_idx_raw(data: bytes) -> object:
    """Bytes as an IDX ``.gz`` file as is (gzip framing fuzzed too)."""
    from tensorflux.datasets import mnist

    return _in_tmp(lambda p: Path(p).write_bytes(data), mnist.extract_labels)


PARSERS: dict[str, Callable[[bytes], object]] = {
    "graph_def": parse_graph_def,
    "graph_def_file": parse_graph_def_text,
    "meta_graph": parse_meta_graph,
    "native_index": parse_native_index,
    "native_checkpoint": parse_native_checkpoint,
    "npz": parse_npz,
    "tf_bundle_index": parse_tf_bundle_index,
    "tf_bundle_entry": parse_tf_bundle_entry,
    "checkpoint_state": parse_checkpoint_state,
    "idx": parse_idx,
    "idx_gz": parse_idx_raw,
}


def seeds() -> dict[str, list[bytes]]:
    """Valid inputs for each parser: the starting points for bit flips and truncations."""
    from tensorflux._internal.checkpoint.formats import leveldb_table
    from tensorflux._internal.checkpoint.formats.native import NativeFormat
    from tensorflux._internal.checkpoint.formats.npz import NpzFormat

    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        w = tf.Variable(np.ones((2, 3), np.float32), name="w")
        y = tf.matmul(x, w, name="y")
        tf.add_to_collection("outputs", y)
        tf.constant(["a", "bc"], name="s")
        tf.constant(3, shape=[4], name="fill")
        # Control flow: the seeds carry a function library (If and While bodies as FunctionDefs).
        tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, tf.cond(i > 0, lambda: a * 2.0, lambda: a)),
                      (0, tf.reduce_sum(y)), name="loop")
        gdef = g.as_graph_def()
        meta = tf.train.export_meta_graph(graph=g)
    out = {
        "graph_def": [gdef.SerializeToString()],
        "graph_def_file": [str(gdef).encode(), gdef.SerializeToString()],
        "meta_graph": [meta.SerializeToString(), str(meta).encode()],
        "checkpoint_state": [b'model_checkpoint_path: "model-2"\nall_model_checkpoint_paths: "model-1"\n'
                             b'all_model_checkpoint_paths: "model-2"\n'],
        "idx": [struct.pack(">IIII", 2051, 2, 2, 2) + bytes(8), struct.pack(">II", 2049, 3) + bytes([1, 2, 3])],
        "idx_gz": [gzip.compress(struct.pack(">II", 2049, 3) + bytes([1, 2, 3]), mtime=0)],
    }
    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(7, np.int64),
               "b": np.array([True, False]), "h": np.ones(2, tf.bfloat16.np_dtype)}
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "model")
        NativeFormat().write(prefix, dict(tensors, s=np.array([b"ab", b"c"], dtype=object)))
        index = Path(prefix + ".index").read_bytes()[len(b"TFXINDEX"):]
        body = checkpoint_index_pb2.CheckpointIndex.FromString(index).body
        NpzFormat().write(prefix, tensors)
        npz = Path(prefix + ".npz").read_bytes()
        compressed = io.BytesIO()
        np.savez_compressed(compressed, a=np.zeros(100, np.float32))
    out["native_index"] = [index]
    out["native_checkpoint"] = [body]
    out["npz"] = [npz, compressed.getvalue()]
    out["tf_bundle_index"] = [_tf_bundle_sample()[0]]
    out["tf_bundle_entry"] = [value for key, value in leveldb_table.read_table(_tf_bundle_sample()[0], "sample") if key]
    return out


def crafted_graph_protos() -> list[bytes]:
    """Well-formed GraphDefs that claim huge sizes, or lie about dtypes: each must be refused cheaply."""
    out = [const_bomb(n).SerializeToString() for n in (6 * 10**8, 10**12, 2**62)]
    out.append(const_bomb(4, dtype=3, value_dtype=1).SerializeToString())
    deep = const_bomb(2)
    for _ in range(3):
        deep.node[0].attr["value"].tensor.tensor_shape.dim.add(size=2**31)
    out.append(deep.SerializeToString())
    return out


# -- peak memory -----------------------------------------------------------------------------------------
def peak_rss_mb(code: str, env: dict | None = None, timeout: float = 120) -> tuple[float, dict]:
    """Run ``code`` in a fresh interpreter (Linux); return its peak RSS in MB and the JSON it printed last.

    ``code`` ends by printing one JSON object (e.g. the error type it caught).
    """
    # VmHWM, not getrusage's ru_maxrss: on Linux, ru_maxrss survives exec, so a child of a big pytest process
    # would report its parent's peak.
    script = (f"{code}\nimport re as _re, sys as _s\n"
              "_s.stderr.write('RSS ' + _re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                          cwd=str(REPO), env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-3000:]
    rss_kb = int(proc.stderr.rsplit("RSS ", 1)[1])
    return rss_kb / 1024, json.loads(proc.stdout.strip().splitlines()[-1])


REJECT = """
import json, tensorflux as tf, tests.hostile_inputs as hostile
try:
    {call}
    print(json.dumps({{"error": None}}))
except Exception as exc:
    print(json.dumps({{"error": type(exc).__name__, "library": isinstance(exc, tf.errors.OpError),
                      "message": str(exc)}}))
"""
