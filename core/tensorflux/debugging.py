"""``tf.debugging``: run-time assertions and numeric checks, under the names TF 1.13+ gives them.

Example:
    >>> import tensorflux as tf
    >>> tf.debugging.assert_equal(tf.constant(1), tf.constant(1)).type
    'Assert'
"""

from ._internal.check_ops import (
    Assert as Assert,
    assert_equal as assert_equal,
    assert_greater as assert_greater,
    assert_greater_equal as assert_greater_equal,
    assert_less as assert_less,
    assert_less_equal as assert_less_equal,
    assert_negative as assert_negative,
    assert_non_negative as assert_non_negative,
    assert_non_positive as assert_non_positive,
    assert_none_equal as assert_none_equal,
    assert_positive as assert_positive,
    assert_rank as assert_rank,
    assert_type as assert_type,
    check_numerics as check_numerics,
)
