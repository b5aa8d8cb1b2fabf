"""Host work by nature (summaries, MPI collectives, py_func and printing, checkpoint files) as kernels for any device,
through the host adapter."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..checkpoint.kernels import checkpoint_kernels
from ..control_flow_kernels import control_flow_kernels
from ..data.kernels import dataset_kernels
from ..distribute import background, comm
from ..host_adapter import host_kernel as host_kernel
from ..script_kernels import script_kernels
from ..summary.encode import (
    audio_summary,
    histogram_summary,
    image_summary,
    merge_summary,
    scalar_summary,
    tensor_summary,
)


def _image(tag: Any, tensor: Any, *, max_images: int, bad_color: Any) -> np.ndarray:
    return image_summary(tag, tensor, max_images, bad_color)


def _audio(tag: Any, tensor: Any, sample_rate: Any, *, max_outputs: int) -> np.ndarray:
    return audio_summary(tag, tensor, sample_rate, max_outputs)


def _tensor(tag: Any, value: Any, serialized_summary_metadata: Any, *, T: Any) -> np.ndarray:  # noqa: N803 - TF's attr name
    return tensor_summary(tag, value, serialized_summary_metadata, T)


def _allreduce(*tensors: Any, average: bool) -> tuple:
    return tuple(comm.allreduce_arrays(list(tensors), average=average))


def _allreduce_start(after: Any, *tensors: Any, average: bool) -> np.ndarray:
    return np.array(background.start(list(tensors), average), np.int64)


def _allreduce_finish(handle: Any) -> tuple:
    return tuple(background.finish(int(handle)))


def _broadcast(*tensors: Any, root_rank: int) -> tuple:
    return tuple(comm.broadcast_arrays(list(tensors), root=root_rank))


def _host_work() -> dict[str, Callable]:
    return {
        "ScalarSummary": scalar_summary, "HistogramSummary": histogram_summary, "ImageSummary": _image,
        "AudioSummaryV2": _audio, "TensorSummaryV2": _tensor, "MergeSummary": merge_summary, "MpiAllreduce": _allreduce,
        "MpiAllreduceStart": _allreduce_start, "MpiAllreduceFinish": _allreduce_finish, "MpiBroadcast": _broadcast,
        **dataset_kernels(), **script_kernels(), **control_flow_kernels(), **checkpoint_kernels(),
    }


def host_work_ops() -> frozenset[str]:
    """The ops that are host work by nature: every device runs them on the host, through the host adapter.

    A device plugin that wraps kernels for its own arrays leaves these as they are.

    Example:
        >>> from tensorflux.extend import host_work_ops
        >>> {"ScalarSummary", "PyFunc", "While", "SaveV2"} <= host_work_ops()
        True
    """
    return frozenset(_host_work())


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the ops that are host work by nature (summaries, MPI), through the host adapter.

    Example:
        >>> import numpy as np
        >>> sorted(kernels(np))[:2]
        ['Assert', 'AudioSummaryV2']
    """
    return {op: host_kernel(fn) for op, fn in _host_work().items()}
