"""A 16-bit PCM WAV encoder for audio summaries, so they need no audio library."""

from __future__ import annotations

import struct

import numpy as np

_PCM = 1  # the WAVE format tag of uncompressed integer samples


def float_to_s16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit integers: ``x * 32768`` rounded half away from zero, then clipped.

    Values beyond [-1, 1] clip to the int16 range; NaN becomes 0 (silence).

    Example:
        >>> float_to_s16(np.array([-1.5, -1.0, 0.25, 1.0], np.float32)).tolist()
        [-32768, -32768, 8192, 32767]
    """
    scaled = np.asarray(samples, np.float32).astype(np.float64) * 32768.0  # exact: a power of two
    rounded = np.where(scaled >= 0, np.floor(scaled + 0.5), np.ceil(scaled - 0.5))
    rounded = np.nan_to_num(rounded, nan=0.0)
    return np.clip(rounded, -32768, 32767).astype("<i2")


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """A WAV file of ``[frames, channels]`` float samples in [-1, 1] at ``sample_rate`` Hz, 16-bit little-endian PCM.

    Example:
        >>> wav = encode_wav(np.zeros([4, 2], np.float32), 8000)
        >>> wav[:4], wav[8:16], len(wav)
        (b'RIFF', b'WAVEfmt ', 60)
    """
    samples = np.asarray(samples)
    if samples.ndim != 2:
        raise ValueError(f"encode_wav: expected samples of shape [frames, channels], got shape {list(samples.shape)}")
    frames, channels = samples.shape
    if channels < 1 or channels > 0xFFFF:
        raise ValueError(f"encode_wav: a WAV file holds 1 to 65535 channels, got {channels}")
    block = 2 * channels
    if not 1 <= sample_rate * block <= 0xFFFFFFFF:
        raise ValueError(f"encode_wav: sample_rate must be at least 1 and its byte rate below 2**32, got {sample_rate} "
                         f"Hz with {channels} channels")
    data = float_to_s16(samples).tobytes()  # frames interleave the channels, as WAV stores them
    fmt = struct.pack("<HHIIHH", _PCM, channels, sample_rate, sample_rate * block, block, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body
