"""``tf.metrics``: streaming metrics returning ``(value, update_op)``, their counters in local variables.

Example:
    >>> import tensorflux as tf
    >>> acc, update = tf.metrics.accuracy(labels=[1, 0], predictions=[1, 1])
    >>> with tf.Session() as sess:
    ...     sess.run(tf.local_variables_initializer())
    ...     float(sess.run(update))
    0.5
"""

from ._internal.metrics import (
    accuracy as accuracy,
    false_negatives as false_negatives,
    false_positives as false_positives,
    mean as mean,
    mean_absolute_error as mean_absolute_error,
    mean_iou as mean_iou,
    mean_squared_error as mean_squared_error,
    precision as precision,
    recall as recall,
    root_mean_squared_error as root_mean_squared_error,
    true_negatives as true_negatives,
    true_positives as true_positives,
)
from ._internal.metrics_at_k import (
    precision_at_k as precision_at_k,
    precision_at_top_k as precision_at_top_k,
    recall_at_k as recall_at_k,
    recall_at_top_k as recall_at_top_k,
    sparse_precision_at_k as sparse_precision_at_k,
)
from ._internal.metrics_auc import auc as auc


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)
