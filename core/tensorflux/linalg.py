"""``tf.linalg``: matrix products, norms, decompositions and the diagonal and band functions, as TF 1.x names them.

Example:
    >>> import tensorflux as tf
    >>> tf.Session().run(tf.linalg.band_part([[1, 2], [3, 4]], 0, 0))
    array([[1, 0],
           [0, 4]], dtype=int32)
"""

from ._internal.linalg_ops import einsum as einsum, l2_normalize as l2_normalize, norm as norm
from ._internal.ops.math_ops import matmul as matmul
from ._internal.ops.matrix_ops import (
    diag as tensor_diag,
    diag_part as tensor_diag_part,
    eye as eye,
    matrix_band_part as band_part,
    matrix_diag as diag,
    matrix_diag_part as diag_part,
    matrix_set_diag as set_diag,
)
from ._internal.ops.svd_ops import svd as svd

__all__ = ["band_part", "diag", "diag_part", "einsum", "eye", "l2_normalize", "matmul", "norm", "set_diag", "svd",
           "tensor_diag", "tensor_diag_part"]
