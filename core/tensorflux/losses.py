"""``tf.losses``: weighted losses with TF 1.15's reductions, and the loss collections.

Example:
    >>> import tensorflux as tf
    >>> loss = tf.losses.softmax_cross_entropy(tf.one_hot([1], 3), tf.zeros([1, 3]))
    >>> round(float(tf.Session().run(tf.losses.get_total_loss())), 4)
    1.0986
"""

from ._internal.losses import (
    Reduction as Reduction,
    absolute_difference as absolute_difference,
    add_loss as add_loss,
    compute_weighted_loss as compute_weighted_loss,
    cosine_distance as cosine_distance,
    get_losses as get_losses,
    get_regularization_loss as get_regularization_loss,
    get_regularization_losses as get_regularization_losses,
    get_total_loss as get_total_loss,
    hinge_loss as hinge_loss,
    huber_loss as huber_loss,
    log_loss as log_loss,
    mean_pairwise_squared_error as mean_pairwise_squared_error,
    mean_squared_error as mean_squared_error,
    sigmoid_cross_entropy as sigmoid_cross_entropy,
    softmax_cross_entropy as softmax_cross_entropy,
    sparse_softmax_cross_entropy as sparse_softmax_cross_entropy,
)


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)
