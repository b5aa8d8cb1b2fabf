"""``tf.flags`` (also ``tf.app.flags``): command-line flags, absl-style, on argparse.

Example:
    >>> import tensorflux as tf
    >>> tf.flags is tf.app.flags
    True
"""

from ._internal.app_flags import (
    FLAGS as FLAGS,
    DEFINE_bool as DEFINE_bool,
    DEFINE_boolean as DEFINE_boolean,
    DEFINE_enum as DEFINE_enum,
    DEFINE_float as DEFINE_float,
    DEFINE_integer as DEFINE_integer,
    DEFINE_list as DEFINE_list,
    DEFINE_string as DEFINE_string,
    DuplicateFlagError as DuplicateFlagError,
    Error as Error,
    Flag as Flag,
    FlagValues as FlagValues,
    IllegalFlagValueError as IllegalFlagValueError,
    UnrecognizedFlagError as UnrecognizedFlagError,
    mark_flag_as_required as mark_flag_as_required,
)
