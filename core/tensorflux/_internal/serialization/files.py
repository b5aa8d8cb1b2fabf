"""Reading and writing protobuf files in binary or text format; ``tf.train.write_graph``."""

from __future__ import annotations

import os
from typing import Any

from google.protobuf import message as _message, text_format

from ..errors import DataLossError
from ..fileio import write_bytes_atomic
from ..untrusted import parsing


def write_proto(path: str, proto: Any, as_text: bool) -> str:
    """Write ``proto`` to ``path`` atomically, as text format or binary; returns ``path``."""
    data = text_format.MessageToString(proto).encode("utf-8") if as_text else proto.SerializeToString()
    write_bytes_atomic(path, data)
    return path


def parse_proto(data: bytes, message_cls: type, what: str) -> Any:
    """Parse ``data`` as text format when it looks like text, else as binary; errors name ``what``.

    Parsing is pure data decoding: nothing in the file is executed. Whatever the bytes are, the only error is
    DataLossError (a RecursionError from text nested too deeply included), or ResourceExhaustedError.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.proto import graph_pb2
        >>> from tensorflux._internal.serialization.files import parse_proto
        >>> len(parse_proto(b'node { name: "a" op: "NoOp" }', graph_pb2.GraphDef, "file 'g.pbtxt'").node)
        1
        >>> try:
        ...     parse_proto(b"\\xff\\xff", graph_pb2.GraphDef, "file 'g.pb'")
        ... except tf.errors.DataLossError as e:
        ...     print(str(e)[:38])
        file 'g.pb' is not a valid binary Grap
    """
    with parsing(what):
        return _parse(data, message_cls, what)


def _parse(data: bytes, message_cls: type, what: str) -> Any:
    msg = message_cls()
    text = _as_text(data)
    if text is not None:
        try:
            text_format.Parse(text, msg)
            return msg
        except (text_format.ParseError, RecursionError) as text_error:
            reason = "nested too deeply" if isinstance(text_error, RecursionError) else text_error
            msg = message_cls()
            try:
                msg.ParseFromString(data)
                return msg
            except _message.DecodeError:
                raise DataLossError(f"{what} is not a valid {message_cls.__name__} in text format: {reason}") from None
    try:
        msg.ParseFromString(data)
    except _message.DecodeError as exc:
        raise DataLossError(f"{what} is not a valid binary {message_cls.__name__}: {exc}") from None
    return msg


def read_proto(path: str, message_cls: type) -> Any:
    """Read a binary or text-format ``message_cls`` from ``path``; errors name the file.

    Example:
        >>> import os, tempfile
        >>> from tensorflux.proto import graph_pb2
        >>> from tensorflux._internal.serialization.files import read_proto
        >>> path = os.path.join(tempfile.mkdtemp(), "g.pbtxt")
        >>> _ = open(path, "w").write('node { name: "a" op: "NoOp" }')
        >>> read_proto(path, graph_pb2.GraphDef).node[0].name
        'a'
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{message_cls.__name__} file '{path}' does not exist") from None
    except (OSError, ValueError) as exc:
        raise DataLossError(f"{message_cls.__name__} file '{path}' cannot be read: {exc}") from None
    return parse_proto(data, message_cls, f"file '{path}'")


def _as_text(data: bytes) -> str | None:
    """``data`` decoded, if it plausibly is protobuf text format (starts with a field name or comment)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    stripped = text.lstrip()
    if not stripped:
        return text
    return text if (stripped[0].isalpha() or stripped[0] == "#") else None


def write_graph(graph_or_graph_def: Any, logdir: str, name: str, as_text: bool = True) -> str:
    """Write a graph (or GraphDef) to ``logdir/name`` as text (``.pbtxt``) or binary; returns the path.

    The folder is created if needed, and the file is replaced atomically.

    Example:
        >>> import tempfile, tensorflux as tf
        >>> _ = tf.constant(1.0, name="c")
        >>> path = tf.train.write_graph(tf.get_default_graph(), tempfile.mkdtemp(), "graph.pbtxt")
        >>> open(path).read().splitlines()[:3]
        ['node {', '  name: "c"', '  op: "Const"']
    """
    if hasattr(graph_or_graph_def, "as_graph_def"):
        graph_def = graph_or_graph_def.as_graph_def()
    elif hasattr(graph_or_graph_def, "SerializeToString"):
        graph_def = graph_or_graph_def
    else:
        raise TypeError(f"write_graph: expected a Graph or GraphDef, got {type(graph_or_graph_def).__name__}")
    os.makedirs(logdir or ".", exist_ok=True)
    return write_proto(os.path.join(logdir, name), graph_def, as_text)
