"""tensorflux-mobile: export graphs to TensorFlow Lite files (float, float16, dynamic-range, int8) and run them.

Example:
    >>> import tensorflux_mobile
    >>> callable(tensorflux_mobile.Interpreter), callable(tensorflux_mobile.convert)
    (True, True)
"""

from .interpreter import Interpreter as Interpreter


def convert(*args, **kwargs):
    """See :func:`tensorflux_mobile.converter.convert` (imported on first use: it imports the tensorflux core)."""
    from .converter import convert as _convert

    return _convert(*args, **kwargs)


convert.__doc__ = "The .tflite bytes of a graph; see tensorflux_mobile.converter.convert for the arguments."


def get_device(index: int = 0):
    """The registered ``/mobile:<index>`` device (a ``MobileDevice``); LookupError when the plugin is not loaded.

    Example:
        >>> import tensorflux_mobile
        >>> tensorflux_mobile.get_device().name
        '/mobile:0'
    """
    from tensorflux.extend import list_devices

    for found in list_devices():
        if found.device_type == "mobile" and found.index == index:
            return found
    raise LookupError(f"no /mobile:{index} device is registered; is the mobile plugin disabled (TENSORFLUX_PLUGINS)?")
