"""The functional control-flow ops: ``If`` (``tf.cond``), ``While`` (``tf.while_loop``) and ``Scan`` (``tf.map_fn``).

Each holds its branch or loop functions as tokens naming small traced graphs (``function_graph.Branch``), and the
outer tensors those functions capture as explicit inputs, as TF 2's functional ``If``/``While`` do (not TF 1's
``Switch``/``Merge`` dataflow). Their kernels live in ``control_flow_kernels.py`` and reach every device through
the host adapter; their gradients are written beside the tracing, in ``control_flow.py``.
"""

from __future__ import annotations

from typing import Any

from . import variant_ops  # noqa: F401 - TF's TensorList and Optional ops, for control flow imported from TF
from .common import define


def _declared_shapes(op: Any) -> list:
    return list(op.attrs["output_shapes"])


define("If", ["cond: Tcond", "*input: Tin"], ["*output: Tout"],
       {"Tcond": "type", "Tin": ("list(type)", []), "Tout": ("list(type)", []), "then_branch": "string",
        "else_branch": "string", "output_shapes": ("list(shape)", [])},
       shape=_declared_shapes,
       doc="Run the function ``then_branch`` on ``input`` when the scalar ``cond`` is true, else ``else_branch``.")
define("While", ["*input: T"], ["*output: T"],
       {"T": ("list(type)", []), "cond": "string", "body": "string", "num_loop_vars": "int",
        "output_shapes": ("list(shape)", [])},
       shape=_declared_shapes,
       doc="Apply ``body`` to the first ``num_loop_vars`` inputs while ``cond`` of them is true; the remaining "
           "inputs are tensors both functions capture, passed unchanged.")
define("WhileGrad", ["*input: T", "*dy: Tdy"], ["*output: Tgrad"],
       {"T": ("list(type)", []), "Tdy": ("list(type)", []), "Tgrad": ("list(type)", []), "cond": "string",
        "body": "string", "body_grad": "string", "num_loop_vars": "int", "num_grad_loop_vars": "int",
        "output_shapes": ("list(shape)", [])},
       shape=_declared_shapes,
       doc="The gradient of a ``While`` op with the same ``input``, ``cond`` and ``body``: runs the loop again, "
           "keeping each iteration's loop variables, then applies ``body_grad`` to them in reverse order. "
           "``dy`` holds the gradients of the differentiable loop variables' outputs, then of the differentiable "
           "captured inputs' outputs; ``output`` the gradients of the same inputs, in the same order.")
define("Scan", ["*input: T"], ["*output: Tout"],
       {"T": ("list(type)", []), "Tout": ("list(type)", []), "body": "string", "num_carry": "int",
        "num_sliced": "int", "reverse": ("bool", False), "output_shapes": ("list(shape)", [])},
       shape=_declared_shapes,
       doc="Apply ``body`` to the ``num_carry`` carried inputs and one slice (along the first dimension) of each of "
           "the next ``num_sliced`` inputs per step, last slice first if ``reverse``; the remaining inputs are "
           "tensors ``body`` captures. Outputs the last carry, then what ``body`` emits per step, stacked in the "
           "slices' order (``tf.map_fn``, ``tf.scan``, ``tf.foldl``).")
