"""Chrome traces of traced runs (TF's ``tensorflow.python.client.timeline``).

Example:
    >>> from tensorflux.timeline import Timeline
    >>> callable(Timeline.generate_chrome_trace_format)
    True
"""

from ._internal.timeline import Timeline as Timeline
