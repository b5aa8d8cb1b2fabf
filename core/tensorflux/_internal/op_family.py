"""The one way to define ops: a family collects OpDefs, their shape functions and gradients, side by side.

Core's op families (``ops/*.py``) and third-party op plugins write ops the same way: ``family.define(...)`` for
the schema and shape function, ``@family.gradient(...)`` beside it for the derivative, a Python wrapper that calls
``apply_op``, and ``family.register(registrar)`` in the plugin's ``tensorflux_register_ops`` hook. The
registrar files each op into the op registry and its gradient into the one gradient store.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from .registry import OpDef


class OpFamily:
    """The ops one module (or plugin) defines, in definition order.

    Example:
        >>> family = OpFamily()
        >>> swish = family.define("DocSwish", ["x: T"], ["y: T"], {"T": "type"}, shape=lambda op: [op.inputs[0].shape])
        >>> @family.gradient("DocSwish")
        ... def _swish_grad(op, dy):
        ...     return [dy]
        >>> [d.name for d in family.op_defs], swish.grad is _swish_grad
        (['DocSwish'], True)
    """

    def __init__(self) -> None:
        self.op_defs: list[OpDef] = []
        self._by_name: dict[str, OpDef] = {}

    def define(self, name: str, inputs: list, outputs: list, attrs: dict | None = None,
               shape: Callable | None = None, stateful: bool = False, differentiable: bool = True,
               doc: str = "", grad: Callable | None = None) -> OpDef:
        """Define op ``name``: its inputs (``"x: T"``, ``"*xs: T"``, ``"ref: ref T"``), outputs, typed attributes
        (``{"T": "type"}`` or ``(kind, default, allowed)``) and shape function; the gradient may follow with
        :meth:`gradient`."""
        if name in self._by_name:
            raise ValueError(f"Op '{name}' is defined twice in this family (first at {self._by_name[name].source})")
        caller = sys._getframe(1)  # the defining module, so a duplicate registration names its line
        op_def = OpDef(name=name, inputs=inputs, outputs=outputs, attrs=attrs or {}, shape_fn=shape,
                       stateful=stateful, differentiable=differentiable, doc=doc, grad=grad,
                       source=f"{caller.f_code.co_filename}:{caller.f_lineno}")
        self.op_defs.append(op_def)
        self._by_name[name] = op_def
        return op_def

    def gradient(self, *op_names: str) -> Callable:
        """Decorator: ``fn(op, *output_grads) -> one gradient (or None) per input`` is the gradient of these ops."""

        def attach(fn: Callable) -> Callable:
            for name in op_names:
                op_def = self[name]
                if op_def.grad is not None or not op_def.differentiable:
                    raise ValueError(f"Op '{name}' already has a gradient or is declared not differentiable "
                                     f"(defined at {op_def.source})")
                op_def.grad = fn
            return fn

        return attach

    def not_differentiable(self, *op_names: str) -> None:
        """Declare that these ops have no gradient: their inputs receive None."""
        for name in op_names:
            if self[name].grad is not None:
                raise ValueError(f"Op '{name}' has a gradient; it cannot also be declared not differentiable")
            self[name].differentiable = False

    def register(self, registrar: Any) -> None:
        """File every op of the family with ``registrar`` (in a plugin's ``tensorflux_register_ops`` hook)."""
        for op_def in self.op_defs:
            registrar.op(op_def)

    def __getitem__(self, name: str) -> OpDef:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"Op '{name}' is not defined in this family; defined: {sorted(self._by_name)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name
