"""The two ops of ``tf.data``: ``MakeIterator`` starts an iterator over a dataset in the running session, and
``IteratorGetNext`` yields its next element (one output per component). Both are stateful host work; their kernels
live in ``data/kernels.py`` and reach every device through the host adapter."""

from __future__ import annotations

from typing import Any

from .common import define, not_differentiable


def _get_next_shapes(op: Any) -> list:
    return list(op.attrs["output_shapes"])


define("MakeIterator", ["*captured: Tcaptured"], [],
       {"Tcaptured": ("list(type)", []), "dataset": "string", "iterator": "string"}, stateful=True,
       doc="Start (or restart) iterator ``iterator`` over dataset ``dataset``, given the tensors it captures.")
define("IteratorGetNext", [], ["*components: output_types"],
       {"output_types": "list(type)", "output_shapes": ("list(shape)", []), "iterator": "string",
        "one_shot_dataset": ("string", "")},
       shape=_get_next_shapes, stateful=True,
       doc="The next element of iterator ``iterator``; OutOfRangeError at the end of its dataset. A one-shot "
           "iterator starts over ``one_shot_dataset`` at its first element.")
not_differentiable("MakeIterator", "IteratorGetNext")
