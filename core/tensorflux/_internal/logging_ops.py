"""``tf.print`` (``StringFormat`` then ``PrintV2``) and ``tf.Print`` (an identity that prints), with TF's text.

Tensors print as TF 1.15 prints them: numbers space-separated in brackets, booleans as 1/0, strings quoted,
floats in the fewest digits that read back to the same value (6 or 9 for float32, 15 or 17 for float64),
and ``summarize`` entries kept at each end of every dimension (``tf.Print``: the first ``summarize`` of all).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

from .graph import Operation, Tensor
from .op_builder import apply_op
from .ops import script_ops  # noqa: F401 - defines StringFormat, PrintV2 and Print

_STREAMS = {"stderr", "stdout", "log(info)", "log(warning)", "log(error)"}
_LOG = logging.getLogger("tensorflux")


def format_element(value: Any) -> str:
    """One tensor element as TF prints it.

    Example:
        >>> format_element(np.float32(1 / 3)), format_element(np.float64(2.0)), format_element(np.bool_(True))
        ('0.333333343', '2', '1')
    """
    if isinstance(value, (bytes, str)):
        return '"' + (value.decode("utf-8", "replace") if isinstance(value, bytes) else value) + '"'
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (np.floating, float)):
        digits = (6, 9) if isinstance(value, (np.float32, np.float16)) else (15, 17)
        short = f"{value:.{digits[0]}g}"
        if type(value)(short) == value or value != value:
            return _tf_special(short)
        return _tf_special(f"{value:.{digits[1]}g}")
    return str(value)


def _tf_special(text: str) -> str:
    return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(text, text)


def format_tensor(array: Any, summarize: int = 3) -> str:
    """``array`` as ``tf.print`` shows it: nested brackets, ``summarize`` entries at each end (-1: all).

    Example:
        >>> print(format_tensor(np.arange(10)))
        [0 1 2 ... 7 8 9]
        >>> print(format_tensor(np.arange(4).reshape(2, 2)))
        [[0 1]
         [2 3]]
    """
    array = np.asarray(array)
    if array.ndim == 0:
        return format_element(array[()])
    if array.size == 0:
        return "[]"
    return _format_dims(array, summarize, 0)


def _format_dims(array: np.ndarray, summarize: int, depth: int) -> str:
    n = array.shape[0]
    cut = 0 <= summarize and 2 * summarize < n
    head = range(summarize) if cut else range(n)
    tail = range(n - summarize, n) if cut else range(0)
    if array.ndim == 1:
        parts = [format_element(array[i]) for i in head] + (["..."] if cut else []) + [format_element(array[i]) for i in tail]
        return "[" + " ".join(parts) + "]"
    gap = "\n" * (array.ndim - 1) + " " * (depth + 1)
    parts = [_format_dims(array[i], summarize, depth + 1) for i in head] + (["..."] if cut else []) + [
        _format_dims(array[i], summarize, depth + 1) for i in tail]
    return "[" + gap.join(parts) + "]"


def format_flat(array: Any, summarize: int) -> str:
    """``tf.Print``'s view of one tensor: its first ``summarize`` elements in order, ``...`` if there are more.

    Example:
        >>> format_flat(np.arange(10).reshape(2, 5), 4)
        '0 1 2 3...'
    """
    flat = np.asarray(array).reshape(-1)
    limit = flat.size if summarize < 0 else min(summarize, flat.size)
    text = " ".join(format_element(flat[i]) for i in range(limit))
    return text + ("..." if limit < flat.size else "")


def write(text: str, output_stream: str) -> None:
    """Write ``text`` to a PrintV2 stream: stderr, stdout, log(info|warning|error) or ``file://path``."""
    if output_stream.startswith("file://"):
        with open(output_stream[len("file://"):], "a", encoding="utf-8") as out:
            out.write(text)
        return
    if output_stream.startswith("log("):
        level = {"log(info)": logging.INFO, "log(warning)": logging.WARNING}.get(output_stream, logging.ERROR)
        _LOG.log(level, "%s", text.rstrip("\n"))
        return
    stream = sys.stdout if output_stream == "stdout" else sys.stderr
    stream.write(text)
    stream.flush()


# -- kernels (host numpy; script_kernels.py lists them) -------------------------------------------------------
def string_format_kernel(*inputs: Any, template: str, placeholder: str, summarize: int) -> np.ndarray:
    """``StringFormat``: each ``placeholder`` of ``template`` replaced by the next input's text.

    Example:
        >>> string_format_kernel(np.arange(3), template="x={}", placeholder="{}", summarize=3)[()]
        'x=[0 1 2]'
    """
    pieces = template.split(placeholder)
    if len(pieces) != len(inputs) + 1:
        raise ValueError(f"StringFormat: template {template!r} has {len(pieces) - 1} placeholders "
                         f"{placeholder!r}, but {len(inputs)} inputs were given")
    text = pieces[0] + "".join(format_tensor(x, summarize) + piece for x, piece in zip(inputs, pieces[1:]))
    return np.array(text, dtype=object)


def print_v2_kernel(text: Any, *, output_stream: str, end: str) -> tuple:
    """``PrintV2``: write the scalar string ``text`` and ``end`` to ``output_stream``."""
    value = np.asarray(text, dtype=object)[()]
    write((value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)) + end, output_stream)
    return ()


class _PrintCount:
    """How many times one ``Print`` op has printed in one session (for ``first_n``)."""

    def __init__(self) -> None:
        self.count = 0


def print_kernel(value: Any, *data: Any, message: str, first_n: int, summarize: int, ctx: Any = None) -> Any:
    """``Print``: return ``value``; print ``message`` and each of ``data`` (the first ``first_n`` runs if > 0)."""
    if first_n >= 0 and ctx is not None:
        counter = ctx.state.resources.setdefault(("Print", ctx.op_name), _PrintCount())
        if counter.count >= first_n:
            return value
        counter.count += 1
    write(message + "".join(f"[{format_flat(x, summarize)}]" for x in data) + "\n", "stderr")
    return value


# -- the Python API ---------------------------------------------------------------------------------------------
def _stream_name(output_stream: Any) -> str:
    if output_stream is sys.stderr or output_stream is sys.__stderr__:
        return "stderr"
    if output_stream is sys.stdout or output_stream is sys.__stdout__:
        return "stdout"
    levels = {"info": "log(info)", "warning": "log(warning)", "warn": "log(warning)", "error": "log(error)"}
    if callable(output_stream) and getattr(output_stream, "__name__", "") in levels:
        return levels[output_stream.__name__]  # tf.logging.info and friends, as TF accepts them
    if isinstance(output_stream, str) and (output_stream in _STREAMS or output_stream.startswith("file://")):
        return output_stream
    raise ValueError(f"tf.print: output_stream must be sys.stdout, sys.stderr, tf.logging.info/warning/error or "
                     f"'file://<path>', got {output_stream!r}")


def _template_part(value: Any, tensors: list, placeholder: str, top: bool) -> str:
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        tensors.append(value)
        return placeholder
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_template_part(v, tensors, placeholder, False)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_template_part(v, tensors, placeholder, False) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return str(value) if top else repr(value)


def print_v2(*inputs: Any, output_stream: Any = sys.stderr, summarize: int = 3, sep: str = " ", end: str = "\n",
             name: str | None = None) -> Operation:
    """``tf.print``: an op that prints its inputs (tensors formatted, anything else as ``str``) when it runs.

    Run it, or make others depend on it with ``tf.control_dependencies``. ``summarize`` entries are shown at
    each end of every dimension (None or -1: all).

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> op = tf.print("x:", tf.constant([1, 2]), output_stream=sys.stdout)
        >>> tf.Session().run(op)
        x: [1 2]
    """
    stream = _stream_name(output_stream)
    summarize = -1 if summarize is None else int(summarize)
    texts = [v for v in inputs if isinstance(v, str)]
    placeholder = "{}"
    while any(placeholder in t for t in texts + [sep]):
        placeholder = "{" + placeholder + "}"  # a placeholder no literal text holds
    tensors: list = []
    template = sep.join(_template_part(v, tensors, placeholder, True) for v in inputs)
    formatted = apply_op("StringFormat", tensors, template=template, placeholder=placeholder, summarize=summarize,
                         name=None if name is None else f"{name}_format")[0]
    apply_op("PrintV2", formatted, output_stream=stream, end=end, name=name)
    return formatted.graph.get_operations()[-1]


def Print(input_: Any, data: list, message: str | None = None, first_n: int | None = None,  # noqa: N802 - TF name
          summarize: int | None = None, name: str | None = None) -> Tensor:
    """``tf.Print``: ``input_`` unchanged, printing ``message`` and the values of ``data`` to stderr when it runs.

    ``summarize`` (default 3) values of each tensor in ``data`` are printed; with ``first_n`` only the first
    that many runs print (per session).

    Example:
        >>> import tensorflux as tf
        >>> tf.reset_default_graph()
        >>> x = tf.constant([1, 2])
        >>> tf.Print(x, [x], "x is ").op.type
        'Print'
    """
    return apply_op("Print", input_, list(data), message=message or "", first_n=-1 if first_n is None else first_n,
                    summarize=3 if summarize is None else summarize, name=name)[0]
