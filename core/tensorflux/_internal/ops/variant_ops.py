"""TF's ops on ``variant`` values, TensorLists and Optionals, with TF's names, arguments and attributes, for
graphs imported from TF.

TF 2 builds ``tf.map_fn`` (and a while loop's gradient) on TensorLists: handles to a list of tensors, passed by
value through a ``While``; a cond's gradient receives the intermediates of the branch that ran as Optionals. Our
own ``tf.map_fn`` is one ``Scan`` op and our gradients need neither; these ops exist so that a GraphDef TF wrote
runs here. A value is a host object (``variant_kernels.py``); gradients do not flow through them (``variant`` is
not a differentiable dtype), so TF's map_fn runs forward only here.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..op_builder import constant_value
from ..shapes import TensorShape
from .common import define, not_differentiable, scalar_shape

_SHAPE_TYPES = (dt.int32, dt.int64)


def _element_shape(op: Any, index: int) -> TensorShape:
    # The element shape input, as TF passes it: -1 for an unknown dimension, a scalar -1 for an unknown rank.
    value = constant_value(op.inputs[index])
    if value is None or value.ndim == 0:
        return TensorShape(None)
    return TensorShape([None if d < 0 else int(d) for d in value.tolist()])


def _stacked_shape(op: Any) -> TensorShape:
    element = _element_shape(op, 1)
    n = op.attrs["num_elements"]
    return TensorShape(None) if element.rank is None else TensorShape([n if n >= 0 else None] + element.as_list())


_LIST = {"element_dtype": "type", "shape_type": ("type", dt.int32, _SHAPE_TYPES)}
define("TensorListReserve", ["element_shape: shape_type", "num_elements: int32"], ["handle: variant"], _LIST,
       shape=scalar_shape, doc="A list of ``num_elements`` unset elements.")
define("EmptyTensorList", ["element_shape: shape_type", "max_num_elements: int32"], ["handle: variant"], _LIST,
       shape=scalar_shape, doc="An empty list.")
define("TensorListFromTensor", ["tensor: element_dtype", "element_shape: shape_type"], ["output_handle: variant"],
       _LIST, shape=scalar_shape, doc="A list of the slices of ``tensor`` along its first dimension.")
define("TensorListLength", ["input_handle: variant"], ["length: int32"], shape=scalar_shape,
       doc="The number of elements of the list.")
define("TensorListGetItem", ["input_handle: variant", "index: int32", "element_shape: Tshape"],
       ["item: element_dtype"], {"element_dtype": "type", "Tshape": ("type", dt.int32, _SHAPE_TYPES)},
       shape=lambda op: _element_shape(op, 2), doc="Element ``index`` of the list (zeros where it is unset).")
define("TensorListSetItem", ["input_handle: variant", "index: int32", "item: element_dtype"],
       ["output_handle: variant"], {"element_dtype": "type", "resize_if_index_out_of_bounds": ("bool", False)},
       shape=scalar_shape, doc="The list with element ``index`` replaced by ``item``.")
define("TensorListStack", ["input_handle: variant", "element_shape: int32"], ["tensor: element_dtype"],
       {"element_dtype": "type", "num_elements": ("int", -1)}, shape=_stacked_shape,
       doc="The elements stacked along a new first dimension.")
define("TensorListPushBack", ["input_handle: variant", "tensor: element_dtype"], ["output_handle: variant"],
       {"element_dtype": "type"}, shape=scalar_shape, doc="The list with ``tensor`` appended.")
define("TensorListPopBack", ["input_handle: variant", "element_shape: int32"],
       ["output_handle: variant", "tensor: element_dtype"], {"element_dtype": "type"},
       shape=lambda op: [TensorShape([]), _element_shape(op, 1)], doc="The list less its last element, and that element.")
define("TensorListElementShape", ["input_handle: variant"], ["element_shape: shape_type"],
       {"shape_type": ("type", dt.int32, _SHAPE_TYPES)}, shape=lambda op: TensorShape([None]),
       doc="The shape of the list's elements (-1 for an unknown dimension).")

define("OptionalFromValue", ["*components: Toutput_types"], ["optional: variant"], {"Toutput_types": "list(type)"},
       shape=scalar_shape, doc="An Optional holding ``components``.")
define("OptionalNone", [], ["optional: variant"], shape=scalar_shape, doc="An Optional holding nothing.")
define("OptionalHasValue", ["optional: variant"], ["has_value: bool"], shape=scalar_shape,
       doc="Whether the Optional holds a value.")
define("OptionalGetValue", ["optional: variant"], ["*components: output_types"],
       {"output_types": "list(type)", "output_shapes": ("list(shape)", [])},
       shape=lambda op: list(op.attrs["output_shapes"]) or [TensorShape(None)] * len(op.attrs["output_types"]),
       doc="The components an Optional holds; an error if it holds nothing.")

VARIANT_OPS = ("OptionalFromValue", "OptionalNone", "OptionalHasValue", "OptionalGetValue", "TensorListReserve",
               "EmptyTensorList", "TensorListFromTensor", "TensorListLength",
                   "TensorListGetItem", "TensorListSetItem", "TensorListStack", "TensorListPushBack",
                   "TensorListPopBack", "TensorListElementShape")
not_differentiable(*VARIANT_OPS)
