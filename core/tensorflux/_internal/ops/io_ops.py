"""The checkpoint ops of a Saver's graph, as TensorFlow names and defines them: ``SaveV2`` writes tensors to a V2
checkpoint (a tensor bundle) at a prefix, ``RestoreV2`` reads them back.

Their kernels (``checkpoint/kernels.py``) run on the host: the prefix and the names are strings, and the files
are written through the ``tf_bundle`` checkpoint format, atomically. Both are stateful and not differentiable.
"""

from __future__ import annotations

from typing import Any

from ..shapes import TensorShape
from .common import define, not_differentiable


def _restored_shapes(op: Any) -> list:
    # Known only once the file is read; the Assign that consumes each output checks it then.
    return [TensorShape(None) for _ in op.attrs["dtypes"]]


define("SaveV2", ["prefix: string", "tensor_names: string", "shape_and_slices: string", "*tensors: dtypes"], [],
       {"dtypes": "list(type)"}, stateful=True,
       doc="Write ``tensors`` under ``tensor_names`` to the V2 checkpoint ``prefix`` (its ``.index`` and data "
           "file). Every ``shape_and_slices`` entry must be empty: whole tensors only.")
define("RestoreV2", ["prefix: string", "tensor_names: string", "shape_and_slices: string"], ["*tensors: dtypes"],
       {"dtypes": "list(type)"}, shape=_restored_shapes, stateful=True,
       doc="Read the tensors ``tensor_names`` from the V2 checkpoint ``prefix``; each must have its dtype in "
           "``dtypes``. Every ``shape_and_slices`` entry must be empty: whole tensors only.")
not_differentiable("SaveV2", "RestoreV2")
