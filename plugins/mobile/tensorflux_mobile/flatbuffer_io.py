"""Model <-> ``.tflite`` bytes: TF Lite's flatbuffer (identifier ``TFL3``, schema version 3).

The table layouts come from the ``tflite`` package: the classes flatc generated from TF Lite's published
``schema.fbs``. Only the builtin operators this plugin knows are written or read; another raises an error
naming it.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.model import Model
    >>> from tensorflux_mobile.flatbuffer_io import read_model, write_model
    >>> m = Model()
    >>> x, y = m.add_tensor("x", (1, 2), np.float32), m.add_tensor("y", (1, 2), np.float32)
    >>> _ = m.add_op("RELU", [x], [y])
    >>> m.inputs, m.outputs = [x], [y]
    >>> data = write_model(m)
    >>> data[4:8], [op.code for op in read_model(data).ops]
    (b'TFL3', ['RELU'])
"""

from __future__ import annotations

from typing import Any, Callable

import flatbuffers
import numpy as np
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from .model import Model, Op, Tensor

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
OPCODES = {name: code for code, name in BUILTIN_OPCODE2NAME.items()}
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127

_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.int32): 2, np.dtype(np.uint8): 3,
          np.dtype(np.int64): 4, np.dtype(np.bool_): 6, np.dtype(np.int16): 7, np.dtype(np.int8): 9,
          np.dtype(np.float64): 10}
_DTYPES = {code: dtype for dtype, code in _TYPES.items()}
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}
_ACTIVATION_NAMES = {v: k for k, v in ACTIVATIONS.items()}
PADDINGS = {"SAME": 0, "VALID": 1}
_PADDING_NAMES = {v: k for k, v in PADDINGS.items()}


# -- options: per operator, the options table and its fields (our key, the schema's field, how to encode) -----
def _act(value: Any) -> int:
    return ACTIVATIONS[value]


def _pad(value: Any) -> int:
    return PADDINGS[value]


_ENCODE: dict[str, Callable] = {"activation": _act, "padding": _pad}
_DECODE: dict[str, Callable] = {"activation": _ACTIVATION_NAMES.__getitem__, "padding": _PADDING_NAMES.__getitem__}

# code -> (options table, [(our key, schema field, default)])
_OPTIONS: dict[str, tuple[str, list]] = {
    "CONV_2D": ("Conv2DOptions", [("padding", "Padding", "SAME"), ("stride_w", "StrideW", 1), ("stride_h", "StrideH", 1),
                                  ("activation", "FusedActivationFunction", "NONE"),
                                  ("dilation_w", "DilationWFactor", 1), ("dilation_h", "DilationHFactor", 1)]),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", [
        ("padding", "Padding", "SAME"), ("stride_w", "StrideW", 1), ("stride_h", "StrideH", 1),
        ("depth_multiplier", "DepthMultiplier", 1), ("activation", "FusedActivationFunction", "NONE"),
        ("dilation_w", "DilationWFactor", 1), ("dilation_h", "DilationHFactor", 1)]),
    "FULLY_CONNECTED": ("FullyConnectedOptions", [("activation", "FusedActivationFunction", "NONE"),
                                                  ("keep_num_dims", "KeepNumDims", False),
                                                  ("asymmetric_quantize_inputs", "AsymmetricQuantizeInputs", False)]),
    "MAX_POOL_2D": ("Pool2DOptions", [("padding", "Padding", "SAME"), ("stride_w", "StrideW", 1),
                                      ("stride_h", "StrideH", 1), ("filter_w", "FilterWidth", 1),
                                      ("filter_h", "FilterHeight", 1), ("activation", "FusedActivationFunction", "NONE")]),
    "RESHAPE": ("ReshapeOptions", []),
    "SOFTMAX": ("SoftmaxOptions", [("beta", "Beta", 1.0)]),
    "ADD": ("AddOptions", [("activation", "FusedActivationFunction", "NONE")]),
    "SUB": ("SubOptions", [("activation", "FusedActivationFunction", "NONE")]),
    "MUL": ("MulOptions", [("activation", "FusedActivationFunction", "NONE")]),
    "CONCATENATION": ("ConcatenationOptions", [("axis", "Axis", 0), ("activation", "FusedActivationFunction", "NONE")]),
    "MEAN": ("ReducerOptions", [("keep_dims", "KeepDims", False)]),
    "PAD": ("PadOptions", []),
    "SQUEEZE": ("SqueezeOptions", []),
    "QUANTIZE": ("QuantizeOptions", []),
    "DEQUANTIZE": ("DequantizeOptions", []),
    "RELU": (None, []),
    "RELU6": (None, []),
    "LOGISTIC": (None, []),
}
_OPTIONS["AVERAGE_POOL_2D"] = _OPTIONS["MAX_POOL_2D"]
SUPPORTED_OPS = tuple(sorted(_OPTIONS))


def _options_enum(table: str) -> int:
    return getattr(tflite.BuiltinOptions, table)


# -- writing --------------------------------------------------------------------------------------------------
def _vector(builder: flatbuffers.Builder, values: Any, dtype: Any) -> int:
    return builder.CreateNumpyVector(np.ascontiguousarray(np.asarray(values, dtype=dtype)).reshape(-1))


def _data_vector(builder: flatbuffers.Builder, data: np.ndarray) -> int:
    # Buffers are 16-byte aligned, as TF's converter writes them, so readers may map them in place.
    payload = np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<"), copy=False).tobytes()
    builder.StartVector(1, len(payload), 16)
    builder.head = builder.head - len(payload)
    builder.Bytes[builder.head:builder.head + len(payload)] = payload
    return builder.EndVector()


def _write_options(builder: flatbuffers.Builder, op: Op) -> tuple[int, int]:
    table, fields = _OPTIONS[op.code]
    if table is None:
        return 0, 0
    new_shape = None
    if op.code == "RESHAPE" and op.options.get("new_shape") is not None:
        new_shape = _vector(builder, op.options["new_shape"], np.int32)
    getattr(tflite, f"{table}Start")(builder)
    for key, schema_field, default in fields:
        value = op.options.get(key, default)
        getattr(tflite, f"{table}Add{schema_field}")(builder, _ENCODE.get(key, lambda v: v)(value))
    if new_shape is not None:
        tflite.ReshapeOptionsAddNewShape(builder, new_shape)
    return _options_enum(table), getattr(tflite, f"{table}End")(builder)


def _write_quantization(builder: flatbuffers.Builder, t: Tensor) -> int:
    scale = _vector(builder, t.scale, np.float32)
    zero_point = _vector(builder, t.zero_point, np.int64)
    tflite.QuantizationParametersStart(builder)
    tflite.QuantizationParametersAddScale(builder, scale)
    tflite.QuantizationParametersAddZeroPoint(builder, zero_point)
    tflite.QuantizationParametersAddQuantizedDimension(builder, t.quantized_dimension)
    return tflite.QuantizationParametersEnd(builder)


def _write_tensor(builder: flatbuffers.Builder, t: Tensor, buffer: int) -> int:
    if t.dtype not in _TYPES:
        raise ValueError(f"tensor '{t.name}': TF Lite has no type for dtype {t.dtype}; expected one of "
                         f"{sorted(str(d) for d in _TYPES)}")
    name = builder.CreateString(t.name)
    dynamic = any(d < 0 for d in t.shape)
    shape = _vector(builder, [max(d, 1) for d in t.shape], np.int32)
    signature = _vector(builder, t.shape, np.int32) if dynamic else None
    quant = _write_quantization(builder, t) if t.quantized else None
    tflite.TensorStart(builder)
    tflite.TensorAddShape(builder, shape)
    tflite.TensorAddType(builder, _TYPES[t.dtype])
    tflite.TensorAddBuffer(builder, buffer)
    tflite.TensorAddName(builder, name)
    if quant is not None:
        tflite.TensorAddQuantization(builder, quant)
    if signature is not None:
        tflite.TensorAddShapeSignature(builder, signature)
    return tflite.TensorEnd(builder)


def _write_op(builder: flatbuffers.Builder, op: Op, opcode_index: int) -> int:
    inputs = _vector(builder, op.inputs, np.int32)
    outputs = _vector(builder, op.outputs, np.int32)
    options_type, options = _write_options(builder, op)
    tflite.OperatorStart(builder)
    tflite.OperatorAddOpcodeIndex(builder, opcode_index)
    tflite.OperatorAddInputs(builder, inputs)
    tflite.OperatorAddOutputs(builder, outputs)
    if options_type:
        tflite.OperatorAddBuiltinOptionsType(builder, options_type)
        tflite.OperatorAddBuiltinOptions(builder, options)
    return tflite.OperatorEnd(builder)


def _offsets_vector(builder: flatbuffers.Builder, offsets: list) -> int:
    builder.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        builder.PrependUOffsetTRelative(off)
    return builder.EndVector()


def write_model(model: Model) -> bytes:
    """Serialize ``model`` into ``.tflite`` bytes.

    Buffer 0 is the empty sentinel every non-constant tensor points at; each constant gets its own buffer.

    Example:
        >>> from tensorflux_mobile.model import Model
        >>> from tensorflux_mobile.flatbuffer_io import write_model
        >>> write_model(Model())[4:8]
        b'TFL3'
    """
    for op in model.ops:
        if op.code not in _OPTIONS:
            raise ValueError(f"cannot write operator {op.code}: this writer knows {', '.join(SUPPORTED_OPS)}")
    size = sum(t.data.nbytes for t in model.tensors if t.data is not None)
    builder = flatbuffers.Builder(size + 65536)
    codes = sorted({(op.code, op.version) for op in model.ops}, key=lambda cv: (OPCODES[cv[0]], cv[1]))
    code_index = {cv: i for i, cv in enumerate(codes)}

    # Buffers first: the big payloads sit at the end of the file, after every table.
    buffer_of, buffer_offsets = {}, []
    tflite.BufferStart(builder)
    buffer_offsets.append(tflite.BufferEnd(builder))
    for i, t in enumerate(model.tensors):
        if t.data is None:
            continue
        data = _data_vector(builder, t.data)
        tflite.BufferStart(builder)
        tflite.BufferAddData(builder, data)
        buffer_of[i] = len(buffer_offsets)
        buffer_offsets.append(tflite.BufferEnd(builder))

    tensors = [_write_tensor(builder, t, buffer_of.get(i, 0)) for i, t in enumerate(model.tensors)]
    ops = [_write_op(builder, op, code_index[(op.code, op.version)]) for op in model.ops]
    tensors_vec, ops_vec = _offsets_vector(builder, tensors), _offsets_vector(builder, ops)
    inputs, outputs = _vector(builder, model.inputs, np.int32), _vector(builder, model.outputs, np.int32)
    name = builder.CreateString("main")
    tflite.SubGraphStart(builder)
    tflite.SubGraphAddTensors(builder, tensors_vec)
    tflite.SubGraphAddInputs(builder, inputs)
    tflite.SubGraphAddOutputs(builder, outputs)
    tflite.SubGraphAddOperators(builder, ops_vec)
    tflite.SubGraphAddName(builder, name)
    subgraph = tflite.SubGraphEnd(builder)

    opcode_offsets = []
    for code, version in codes:
        value = OPCODES[code]
        tflite.OperatorCodeStart(builder)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(builder, min(value, _PLACEHOLDER_FOR_GREATER_OP_CODES))
        tflite.OperatorCodeAddBuiltinCode(builder, value)
        tflite.OperatorCodeAddVersion(builder, version)
        opcode_offsets.append(tflite.OperatorCodeEnd(builder))
    opcodes_vec = _offsets_vector(builder, opcode_offsets)
    subgraphs_vec = _offsets_vector(builder, [subgraph])
    buffers_vec = _offsets_vector(builder, buffer_offsets)
    description = builder.CreateString(model.description)
    tflite.ModelStart(builder)
    tflite.ModelAddVersion(builder, SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(builder, opcodes_vec)
    tflite.ModelAddSubgraphs(builder, subgraphs_vec)
    tflite.ModelAddDescription(builder, description)
    tflite.ModelAddBuffers(builder, buffers_vec)
    builder.Finish(tflite.ModelEnd(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


# -- reading --------------------------------------------------------------------------------------------------
def _read_options(op_fb: Any, code: str) -> dict:
    table, fields = _OPTIONS[code]
    raw = op_fb.BuiltinOptions()
    if table is None:
        return {}
    if raw is None:
        return {key: default for key, _, default in fields}
    opts = getattr(tflite, table)()
    opts.Init(raw.Bytes, raw.Pos)
    out = {key: _DECODE.get(key, lambda v: v)(getattr(opts, schema_field)()) for key, schema_field, _ in fields}
    if code == "RESHAPE" and opts.NewShapeLength():
        out["new_shape"] = [int(v) for v in opts.NewShapeAsNumpy()]
    return out


def _read_tensor(t_fb: Any, buffers: list, what: str) -> Tensor:
    type_code = t_fb.Type()
    if type_code not in _DTYPES:
        raise ValueError(f"{what}: tensor '{t_fb.Name().decode()}' has TF Lite type {type_code}, which this "
                         f"interpreter does not run (it runs {sorted(_DTYPES)})")
    dtype = _DTYPES[type_code]
    shape = tuple(int(d) for d in t_fb.ShapeAsNumpy()) if t_fb.ShapeLength() else ()
    if t_fb.ShapeSignatureLength():
        shape = tuple(int(d) for d in t_fb.ShapeSignatureAsNumpy())
    t = Tensor(t_fb.Name().decode("utf-8", "replace"), shape, dtype)
    raw = buffers[t_fb.Buffer()] if t_fb.Buffer() < len(buffers) else None
    if raw is not None and len(raw):
        count = int(np.prod(shape)) if shape else 1
        if len(raw) != count * dtype.itemsize:
            raise ValueError(f"{what}: tensor '{t.name}' of shape {list(shape)} and type {dtype} needs "
                             f"{count * dtype.itemsize} bytes; its buffer holds {len(raw)}")
        t.data = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False).reshape(shape)
    q = t_fb.Quantization()
    if q is not None and q.ScaleLength():
        zp = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(q.ScaleLength(), np.int64)
        t.set_quantization(q.ScaleAsNumpy(), zp, q.QuantizedDimension())
    return t


def read_model(data: bytes, what: str = "model") -> Model:
    """Parse ``.tflite`` bytes (the main subgraph) into a :class:`Model`; ``what`` names the source in errors.

    Example:
        >>> from tensorflux_mobile.model import Model
        >>> from tensorflux_mobile.flatbuffer_io import read_model, write_model
        >>> read_model(write_model(Model())).ops
        []
    """
    data = bytes(data)
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise ValueError(f"{what} is not a TF Lite flatbuffer: expected the identifier {FILE_IDENTIFIER!r} at "
                         f"bytes 4..8, got {data[4:8]!r}")
    m = tflite.Model.GetRootAs(data, 0)
    if m.Version() != SCHEMA_VERSION:
        raise ValueError(f"{what}: schema version {m.Version()}; this reader reads version {SCHEMA_VERSION}")
    if m.SubgraphsLength() < 1:
        raise ValueError(f"{what} has no subgraph")
    buffers = []
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.Offset() > 1:  # a large model keeps its buffers after the flatbuffer, at absolute offsets
            buffers.append(data[b.Offset():b.Offset() + b.Size()])
        else:
            buffers.append(b.DataAsNumpy().tobytes() if b.DataLength() else b"")
    codes = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        value = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        codes.append((BUILTIN_OPCODE2NAME.get(value, f"custom:{oc.CustomCode()!r}"), oc.Version()))
    sg = m.Subgraphs(0)
    model = Model(description=(m.Description() or b"").decode("utf-8", "replace"))
    model.tensors = [_read_tensor(sg.Tensors(i), buffers, what) for i in range(sg.TensorsLength())]
    for i in range(sg.OperatorsLength()):
        op_fb = sg.Operators(i)
        code, version = codes[op_fb.OpcodeIndex()]
        if code not in _OPTIONS:
            raise ValueError(f"{what}: operator {i} is {code}, which this interpreter does not run; it runs "
                             f"{', '.join(SUPPORTED_OPS)}")
        inputs = [int(v) for v in op_fb.InputsAsNumpy()] if op_fb.InputsLength() else []
        outputs = [int(v) for v in op_fb.OutputsAsNumpy()] if op_fb.OutputsLength() else []
        model.ops.append(Op(code, inputs, outputs, _read_options(op_fb, code), version))
    model.inputs = [int(v) for v in sg.InputsAsNumpy()] if sg.InputsLength() else []
    model.outputs = [int(v) for v in sg.OutputsAsNumpy()] if sg.OutputsLength() else []
    return model
