"""The functional control-flow ops: ``If`` (``tf.cond``) and ``While`` (``tf.while_loop``).

Each holds its branch or loop functions as tokens naming small traced graphs (``function_graph.Branch``), and the
outer tensors those functions capture as explicit inputs, as TF 2's functional ``If``/``While`` do (not TF 1's
``Switch``/``Merge`` dataflow). Their kernels live in ``control_flow_kernels.py`` and reach every device through
the host adapter; the gradient of ``If`` is written beside the tracing, in ``control_flow.py``.
"""

from __future__ import annotations

from typing import Any

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
