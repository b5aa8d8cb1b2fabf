"""The host kernels of the ops that run Python (``PyFunc``) or print (``StringFormat``, ``PrintV2``, ``Print``),
and the run-time checks (``Assert``, ``CheckNumerics``).

The cpu plugin registers them as they are; every other device gets them through the host adapter
(``reference/host.py``), so the function or the print always runs on the host, in this process.
"""

from __future__ import annotations

from typing import Callable

from .check_ops import check_kernels
from .logging_ops import print_kernel, print_v2_kernel, string_format_kernel
from .py_func import py_func_kernel


def script_kernels() -> dict[str, Callable]:
    """``{op_name: host kernel}`` for PyFunc, PyFuncStateless, StringFormat, PrintV2, Print and the checks.

    Example:
        >>> sorted(script_kernels())
        ['Assert', 'CheckNumerics', 'Print', 'PrintV2', 'PyFunc', 'PyFuncStateless', 'StringFormat']
    """
    return {"PyFunc": py_func_kernel, "PyFuncStateless": py_func_kernel, "StringFormat": string_format_kernel,
            "PrintV2": print_v2_kernel, "Print": print_kernel, **check_kernels()}
