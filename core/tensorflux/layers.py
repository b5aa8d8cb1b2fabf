"""``tf.layers``: TF 1.x's layers (dense, conv2d, pooling, dropout, batch normalization, flatten) and classes.

Example:
    >>> import tensorflux as tf
    >>> x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    >>> h = tf.layers.max_pooling2d(tf.layers.conv2d(x, 32, 5, padding="same", activation=tf.nn.relu), 2, 2)
    >>> tf.layers.dense(tf.layers.flatten(h), 10).shape
    TensorShape([None, 10])
"""

from ._internal.layers.base import Layer as Layer
from ._internal.layers.convolutional import (
    Conv2D as Conv2D,
    conv2d as conv2d,
)
from ._internal.layers.core import (
    Dense as Dense,
    Dropout as Dropout,
    Flatten as Flatten,
    dense as dense,
    dropout as dropout,
    flatten as flatten,
)
from ._internal.layers.normalization import (
    BatchNormalization as BatchNormalization,
    batch_normalization as batch_normalization,
)
from ._internal.layers.pooling import (
    AveragePooling2D as AveragePooling2D,
    MaxPooling2D as MaxPooling2D,
    average_pooling2d as average_pooling2d,
    max_pooling2d as max_pooling2d,
)


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)
