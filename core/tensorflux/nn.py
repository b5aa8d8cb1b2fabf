"""``tf.nn``: activations, softmax, losses, convolution, pooling, dropout, normalization and top-k.

Example:
    >>> import tensorflux as tf
    >>> tf.Session().run(tf.nn.relu([-1.0, 2.0]))
    array([0., 2.], dtype=float32)
"""

from . import rnn_cell as rnn_cell
from ._internal.linalg_ops import l2_normalize as l2_normalize
from ._internal.ops.batch_norm_ops import fused_batch_norm as fused_batch_norm
from ._internal.ops.conv3d_ops import (
    avg_pool3d as avg_pool3d,
    conv3d as conv3d,
    conv3d_backprop_filter as conv3d_backprop_filter,
    conv3d_backprop_filter_v2 as conv3d_backprop_filter_v2,
    conv3d_transpose as conv3d_transpose,
    max_pool3d as max_pool3d,
)
from ._internal.ops.conv_ops import avg_pool as avg_pool, conv2d as conv2d, max_pool as max_pool
from ._internal.ops.conv_variants import (
    avg_pool1d as avg_pool1d,
    conv1d as conv1d,
    conv2d_transpose as conv2d_transpose,
    max_pool1d as max_pool1d,
)
from ._internal.ops.depthwise_ops import (
    depthwise_conv2d as depthwise_conv2d,
    depthwise_conv2d_native as depthwise_conv2d_native,
    separable_conv2d as separable_conv2d,
)
from ._internal.ops.image_ops import depth_to_space as depth_to_space, space_to_depth as space_to_depth
from ._internal.ops.lrn_ops import local_response_normalization as local_response_normalization, lrn as lrn
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
from ._internal.ops.special_math_ops import selu as selu, softsign as softsign, swish as swish
from ._internal.rnn import (
    bidirectional_dynamic_rnn as bidirectional_dynamic_rnn,
    dynamic_rnn as dynamic_rnn,
    raw_rnn as raw_rnn,
    static_bidirectional_rnn as static_bidirectional_rnn,
    static_rnn as static_rnn,
)


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)
