"""Summary kernels: serialized Summary protos built by core's shared encoders (``tensorflux.extend``).

Errors need not name the op here: the executor re-raises a kernel's exception naming it.
"""

from __future__ import annotations

from tensorflux.extend import audio_summary, histogram_summary, image_summary, merge_summary, scalar_summary, tensor_summary


def image(tag, tensor, *, max_images, bad_color):
    return image_summary(tag, tensor, max_images, bad_color)


def audio(tag, tensor, sample_rate, *, max_outputs):
    return audio_summary(tag, tensor, sample_rate, max_outputs)


def tensor(tag, value, serialized_summary_metadata, *, T):  # noqa: N803 - TF's attr name
    return tensor_summary(tag, value, serialized_summary_metadata, T)


KERNELS = {
    "ScalarSummary": scalar_summary, "HistogramSummary": histogram_summary, "ImageSummary": image,
    "AudioSummaryV2": audio, "TensorSummaryV2": tensor, "MergeSummary": merge_summary,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
