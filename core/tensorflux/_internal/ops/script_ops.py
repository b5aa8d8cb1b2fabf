"""Ops that run Python on the host: ``PyFunc`` (``tf.py_func``), and the printing ops behind ``tf.print``
(``StringFormat`` then ``PrintV2``) and ``tf.Print`` (``Print``), and the run-time checks ``Assert`` and
``CheckNumerics``.

Their kernels live in ``script_kernels.py`` and reach every device through the host adapter. All are stateful
(a Python function may have side effects; a print must print every run), so no pass folds or drops them, and
none is differentiable, as in TF.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as dt
from ..op_builder import apply_op
from ..shapes import TensorShape
from .common import define, gradient, not_differentiable, same_shape, scalar_shape


def _unknown_shapes(op: Any) -> list:
    # A Python function may return any shape; callers pin it with set_shape as in TF.
    return [TensorShape(None) for _ in op.attrs["Tout"]]


define("PyFunc", ["*input: Tin"], ["*output: Tout"],
       {"token": "string", "Tin": ("list(type)", []), "Tout": ("list(type)", [])},
       shape=_unknown_shapes, stateful=True,
       doc="Call the Python function registered under ``token`` on the host values of the inputs.")
define("PyFuncStateless", ["*input: Tin"], ["*output: Tout"],
       {"token": "string", "Tin": ("list(type)", []), "Tout": ("list(type)", [])},
       shape=_unknown_shapes, stateful=True,
       doc="``PyFunc`` declared free of side effects (``stateful=False``); still never folded here, since the "
           "function lives only in this process.")
define("StringFormat", ["*inputs: T"], ["output: string"],
       {"T": ("list(type)", []), "template": ("string", "%s"), "placeholder": ("string", "%s"),
        "summarize": ("int", 3)},
       shape=scalar_shape, stateful=False,
       doc="Format the inputs into ``template``, each replacing one ``placeholder``; ``summarize`` entries per "
           "dimension are shown at each end.")
define("PrintV2", ["input: string"], [], {"output_stream": ("string", "stderr"), "end": ("string", "\n")},
       stateful=True, doc="Write the scalar string ``input`` followed by ``end`` to ``output_stream``.")
define("Print", ["input: T", "*data: U"], ["output: T"],
       {"T": "type", "U": ("list(type)", []), "message": ("string", ""), "first_n": ("int", -1),
        "summarize": ("int", 3)},
       shape=same_shape, stateful=True,
       doc="Pass ``input`` through, printing ``message`` and the first ``summarize`` values of each of ``data`` "
           "to stderr (only the first ``first_n`` runs when it is positive).")
define("Assert", ["condition: bool", "*data: T"], [], {"T": ("list(type)", []), "summarize": ("int", 3)},
       stateful=True,
       doc="Fail the run with an InvalidArgumentError listing the first ``summarize`` values of each of ``data`` "
           "when the scalar ``condition`` is false.")
define("CheckNumerics", ["tensor: T"], ["output: T"], {"T": ("type", None, dt.FLOATING), "message": "string"},
       shape=same_shape, stateful=True,
       doc="Pass ``tensor`` through; fail the run, naming ``message``, when it holds a NaN or an infinity.")
not_differentiable("PyFunc", "PyFuncStateless", "StringFormat", "PrintV2", "Assert")


@gradient("CheckNumerics")
def _check_numerics_grad(op: Any, grad: Any) -> list:
    # As TF: the gradient is checked too, so a NaN born in the backward pass is caught where it flows.
    message = f"Not a number (NaN) or infinity (Inf) values detected in gradient. {op.attrs['message']}"
    return [apply_op("CheckNumerics", grad, message=message, name="CheckNumerics")[0]]



@gradient("Print")
def _print_grad(op: Any, grad: Any) -> list:
    # tf.Print is an identity on its first input; the printed data get no gradient (as TF's _PrintGrad).
    return [grad] + [None] * (len(op.inputs) - 1)
