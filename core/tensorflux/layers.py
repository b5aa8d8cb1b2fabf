"""``tf.layers``: TF 1.x's layers (dense, conv2d, pooling, dropout, batch normalization, flatten) and classes.

Example:
    >>> import tensorflux as tf
    >>> x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    >>> h = tf.layers.max_pooling2d(tf.layers.conv2d(x, 32, 5, padding="same", activation=tf.nn.relu), 2, 2)
    >>> tf.layers.dense(tf.layers.flatten(h), 10).shape
    TensorShape([None, 10])
"""

from ._internal.layers.base import Layer as Layer
from ._internal.layers.conv3d import (
    AveragePooling3D as AveragePooling3D,
    Conv3D as Conv3D,
    Conv3DTranspose as Conv3DTranspose,
    MaxPooling3D as MaxPooling3D,
    average_pooling3d as average_pooling3d,
    conv3d as conv3d,
    conv3d_transpose as conv3d_transpose,
    max_pooling3d as max_pooling3d,
)
from ._internal.layers.conv_variants import (
    Conv1D as Conv1D,
    Conv2DTranspose as Conv2DTranspose,
    conv1d as conv1d,
    conv2d_transpose as conv2d_transpose,
)
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
    AveragePooling1D as AveragePooling1D,
    AveragePooling2D as AveragePooling2D,
    MaxPooling1D as MaxPooling1D,
    MaxPooling2D as MaxPooling2D,
    average_pooling1d as average_pooling1d,
    average_pooling2d as average_pooling2d,
    max_pooling1d as max_pooling1d,
    max_pooling2d as max_pooling2d,
)


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)
