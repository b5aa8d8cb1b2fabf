"""``convert``: a trained tensorflux graph -> ``.tflite`` bytes, float or quantized.

Example:
    >>> import numpy as np
    >>> import tensorflux as tf
    >>> import tensorflux_mobile
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     x = tf.placeholder(tf.float32, [None, 4], name="x")
    ...     w = tf.Variable(tf.ones([4, 2]), name="w")
    ...     y = tf.nn.softmax(tf.matmul(x, w), name="y")
    ...     sess = tf.Session()
    ...     sess.run(tf.global_variables_initializer())
    >>> data = tensorflux_mobile.convert(sess, [x], [y])
    >>> data[4:8]
    b'TFL3'
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .flatbuffer_io import write_model
from .interpreter import Interpreter
from .lowering import ConversionError, lower_graph
from .model import Model
from .quantizer import quantize_dynamic, quantize_float16, quantize_int8

QUANTIZE_MODES = (None, "float16", "dynamic", "int8")
MAX_CALIBRATION_SAMPLES = 500


def _resolve(graph: Any, items: Any, what: str) -> list:
    if not isinstance(items, (list, tuple)):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, str):
            name = item if ":" in item else f"{item}:0"
            try:
                item = graph.get_tensor_by_name(name)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"convert: {what} '{name}' is not a tensor of the session's graph") from exc
        elif getattr(item, "graph", graph) is not graph:
            raise ValueError(f"convert: {what} '{item.name}' belongs to another graph than the session's")
        out.append(item)
    if not out:
        raise ValueError(f"convert: no {what}s given")
    return out


def _frozen(session: Any, inputs: list, outputs: list, feed_dict: dict) -> tuple[Any, list, list, dict]:
    """Freeze with core's graph_util when it exists: a constant-only graph, training nodes removed.

    Returns a session over the frozen graph and the inputs, outputs and feeds remapped into it. Without
    graph_util the original session serves: the lowering reads variables through it just the same.
    """
    import tensorflux as tf

    try:
        graph_util = tf.graph_util
        graph_util.convert_variables_to_constants  # noqa: B018 - probe: an older core has no graph_util
    except (AttributeError, NotImplementedError):
        return session, inputs, outputs, feed_dict
    keep = [t.op.name for t in outputs]
    gdef = graph_util.convert_variables_to_constants(session, session.graph.as_graph_def(), keep)
    protected = keep + [t.op.name for t in inputs] + [getattr(k, "op", None) and k.op.name or str(k).split(":")[0]
                                                     for k in feed_dict]
    gdef = graph_util.remove_training_nodes(gdef, protected_nodes=protected)
    fold = getattr(graph_util, "fold_batch_norms", None)
    if fold is not None:
        gdef = fold(gdef)
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(gdef, name="")
    frozen = tf.Session(graph=graph)
    remap = lambda t: graph.get_tensor_by_name(t.name)  # noqa: E731
    names = {op.name for op in graph.get_operations()}
    feeds = {graph.get_tensor_by_name(getattr(k, "name", k)): v for k, v in feed_dict.items()
             if getattr(k, "name", k).split(":")[0] in names}  # a feed the outputs never read was pruned
    return frozen, [remap(t) for t in inputs], [remap(t) for t in outputs], feeds


def calibration_batches(representative_data: Any, count: int) -> list[np.ndarray]:
    """Up to MAX_CALIBRATION_SAMPLES rows per input, stacked: one float32 array per model input.

    ``representative_data`` is an array (rows are samples; one input), an iterable of samples, or a
    callable returning one (TF's ``representative_dataset``); a sample is an array, a list of arrays
    (one per input) or a dict keyed by input position. Samples may carry a leading batch dimension.
    """
    if representative_data is None:
        raise ValueError("convert: quantize='int8' needs representative_data (a few hundred input samples) to "
                         "calibrate the activation ranges")
    data = representative_data() if callable(representative_data) else representative_data
    if isinstance(data, np.ndarray):
        data = [data[:MAX_CALIBRATION_SAMPLES]]  # one sample: the whole batch
    rows: list[list] = [[] for _ in range(count)]
    seen = 0
    for sample in data:
        parts = list(sample.values()) if isinstance(sample, dict) else (
            list(sample) if isinstance(sample, (list, tuple)) else [sample])
        if len(parts) != count:
            raise ValueError(f"convert: a representative sample has {len(parts)} arrays; the model has {count} inputs")
        for k, p in enumerate(parts):
            rows[k].append(np.asarray(p, np.float32))
        seen += len(rows[0][-1]) if rows[0][-1].ndim else 1
        if seen >= MAX_CALIBRATION_SAMPLES:
            break
    if not rows[0]:
        raise ValueError("convert: representative_data yielded no samples")
    return [np.concatenate([r if r.ndim else r[None] for r in rs])[:MAX_CALIBRATION_SAMPLES] for rs in rows]


def calibrate(model: Model, batches: list[np.ndarray]) -> dict:
    """(min, max) of every non-constant tensor of float ``model`` over the calibration batches."""
    it = Interpreter(model_content=write_model(model))
    for i, batch in zip(model.inputs, batches):
        sig = model.tensors[i].shape
        if batch.shape[1:] != tuple(max(d, 1) for d in sig[1:]):
            batch = batch.reshape((-1,) + tuple(sig[1:]))
        it.resize_tensor_input(i, batch.shape)
    it.allocate_tensors()
    for i, batch in zip(model.inputs, batches):
        it.set_tensor(i, batch.reshape(it.get_input_details()[model.inputs.index(i)]["shape"]))
    it.invoke()
    return {i: (float(it.get_tensor(i).min()), float(it.get_tensor(i).max()))
            for i, t in enumerate(model.tensors) if not t.is_constant and t.dtype == np.float32}


def convert_model(session: Any, inputs: Any, outputs: Any, quantize: str | None = None,
                  representative_data: Any = None, feed_dict: dict | None = None) -> Model:
    """As :func:`convert`, but returns the in-memory :class:`~tensorflux_mobile.model.Model`."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"convert: quantize={quantize!r}; expected one of {list(QUANTIZE_MODES)}")
    inputs = _resolve(session.graph, inputs, "input")
    outputs = _resolve(session.graph, outputs, "output")
    feeds = dict(feed_dict or {})
    session, inputs, outputs, feeds = _frozen(session, inputs, outputs, feeds)
    model = lower_graph(session, inputs, outputs, feeds)
    if quantize == "float16":
        return quantize_float16(model)
    if quantize == "dynamic":
        return quantize_dynamic(model)
    if quantize == "int8":
        return quantize_int8(model, calibrate(model, calibration_batches(representative_data, len(model.inputs))))
    return model


def convert(session: Any, inputs: Any, outputs: Any, quantize: str | None = None,
            representative_data: Iterable | np.ndarray | None = None, feed_dict: dict | None = None) -> bytes:
    """The ``.tflite`` bytes of the graph computing ``outputs`` from ``inputs``, with ``session``'s variables.

    ``inputs`` and ``outputs`` are tensors of ``session.graph`` (or their names). ``quantize``: None (float32),
    'float16', 'dynamic' (int8 weights, float activations) or 'int8' (integer-only inside; calibrated on at most
    500 samples of ``representative_data``). ``feed_dict`` binds other placeholders to constants, e.g. a
    dropout keep probability to 1.0.

    Example:
        >>> import tensorflux as tf
        >>> import tensorflux_mobile
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, [None, 2], name="x")
        ...     y = tf.nn.relu(x, name="y")
        ...     data = tensorflux_mobile.convert(tf.Session(), [x], [y])
        >>> data[4:8]
        b'TFL3'
    """
    return write_model(convert_model(session, inputs, outputs, quantize, representative_data, feed_dict))


__all__ = ["ConversionError", "QUANTIZE_MODES", "convert", "convert_model", "calibrate", "calibration_batches"]
