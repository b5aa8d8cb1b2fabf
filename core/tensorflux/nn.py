"""``tf.nn``: activations, softmax, losses, convolution, pooling, dropout, normalization and top-k.

Example:
    >>> import tensorflux as tf
    >>> tf.Session().run(tf.nn.relu([-1.0, 2.0]))
    array([0., 2.], dtype=float32)
"""

from ._internal.linalg_ops import l2_normalize as l2_normalize
from ._internal.ops.conv_ops import avg_pool as avg_pool, conv2d as conv2d, max_pool as max_pool
from ._internal.ops.nn_impl import (
    batch_normalization as batch_normalization,
    dropout as dropout,
    embedding_lookup as embedding_lookup,
    moments as moments,
    sigmoid_cross_entropy_with_logits as sigmoid_cross_entropy_with_logits,
)
from ._internal.ops.nn_ops import (
    bias_add as bias_add,
    elu as elu,
    in_top_k as in_top_k,
    l2_loss as l2_loss,
    leaky_relu as leaky_relu,
    log_softmax as log_softmax,
    relu as relu,
    relu6 as relu6,
    sigmoid as sigmoid,
    softmax as softmax,
    softmax_cross_entropy_with_logits as softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2 as softmax_cross_entropy_with_logits_v2,
    softplus as softplus,
    sparse_softmax_cross_entropy_with_logits as sparse_softmax_cross_entropy_with_logits,
    tanh as tanh,
    top_k as top_k,
)


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)
