"""tf.summary.audio: 16-bit PCM WAV clips in Summary.Audio, read back with Python's wave module, TensorBoard's
event loader, and compared with TensorFlow's own AudioSummaryV2 where TensorFlow is installed."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.summary.wav import encode_wav, float_to_s16
from tensorflux.proto import summary_pb2

RNG = np.random.default_rng(5)
# Two clips of 50 stereo frames, some samples beyond [-1, 1] to show the clipping.
STEREO = RNG.uniform(-1.2, 1.2, (2, 50, 2)).astype(np.float32)


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()


def _run(summary_op, feed=None):
    with tf.Session() as sess:
        return summary_pb2.Summary.FromString(sess.run(summary_op, feed))


def _read_wav(data: bytes):
    with wave.open(io.BytesIO(data)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
        return w.getframerate(), w.getsampwidth(), frames


def test_samples_round_to_16_bit_and_clip():
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 1.5 / 32768, -1.5 / 32768, np.nan], np.float32)
    # x * 2**15, rounded half away from zero, clipped to [-32768, 32767]; NaN is silence.
    assert float_to_s16(samples).tolist() == [0, 16384, -16384, 32767, -32768, 32767, -32768, 2, -2, 0]


def test_wav_file_reads_back_with_the_wave_module():
    clip = np.stack([np.linspace(-1, 1, 9), np.zeros(9)], axis=1).astype(np.float32)
    rate, width, frames = _read_wav(encode_wav(clip, 22050))
    assert (rate, width, frames.shape) == (22050, 2, (9, 2))
    np.testing.assert_array_equal(frames[:, 0], [-32768, -24576, -16384, -8192, 0, 8192, 16384, 24576, 32767])
    assert not frames[:, 1].any()


def test_audio_summary_fields_tags_and_samples():
    s = _run(tf.summary.audio("speech", tf.constant(STEREO), 8000.0, max_outputs=3))
    assert [v.tag for v in s.value] == ["speech/audio/0", "speech/audio/1"]  # max_outputs > batch: the batch
    for clip, v in zip(STEREO, s.value):
        assert (v.audio.sample_rate, v.audio.num_channels, v.audio.length_frames) == (8000.0, 2, 50)
        assert v.audio.content_type == "audio/wav"
        rate, _, frames = _read_wav(v.audio.encoded_audio_string)
        assert rate == 8000
        np.testing.assert_array_equal(frames, np.clip(np.round(clip.astype(np.float64) * 32768), -32768, 32767))


def test_one_output_mono_clip_and_a_fed_sample_rate():
    rate = tf.placeholder(tf.float32, [])
    s = _run(tf.summary.audio("beep", tf.constant(STEREO[:, :, 0]), rate, max_outputs=1, family="sounds"),
             {rate: 44100.4})
    [v] = s.value
    assert v.tag == "sounds/sounds/beep/audio"
    assert v.audio.num_channels == 1 and v.audio.sample_rate == pytest.approx(44100.4)
    assert _read_wav(v.audio.encoded_audio_string)[0] == 44100  # the header holds whole samples per second


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="2-D \\[batch, frames\\] or 3-D"):
        tf.summary.audio("a", tf.zeros([4]), 100.0)
    rate = tf.placeholder(tf.float32, [])
    op = tf.summary.audio("b", tf.zeros([1, 4]), rate)
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="sample_rate must be at least 1"):
        sess.run(op, {rate: 0.0})


def test_tensorboard_loads_the_audio(tmp_path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                             reason="tensorboard is not installed; pip install tensorboard")
    op = tf.summary.audio("speech", tf.constant(STEREO), 16000.0, max_outputs=2)
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(sess.run(op), global_step=7)
    acc = ea.EventAccumulator(str(tmp_path), size_guidance={ea.AUDIO: 0})
    acc.Reload()
    assert sorted(acc.Tags()["audio"]) == ["speech/audio/0", "speech/audio/1"]
    [event] = acc.Audio("speech/audio/1")
    assert (event.step, event.sample_rate, event.length_frames, event.content_type) == (7, 16000.0, 50, "audio/wav")
    frames = _read_wav(event.encoded_audio_string)[2]
    np.testing.assert_array_equal(frames, float_to_s16(STEREO[1]))


def test_same_bytes_as_tensorflow(tfr):
    def build(lib):
        with lib.name_scope("train"):
            mono = lib.summary.audio("mono", lib.constant(STEREO[:, :, 1]), 11025.0, max_outputs=1)
        stereo = lib.summary.audio("stereo", lib.constant(STEREO), lib.constant(8000.5), max_outputs=5)
        return [mono, stereo], [mono.op.name, stereo.op.name]

    with tf.Graph().as_default():
        ours, our_names = build(tf)
        with tf.Session() as sess:
            our_bytes = sess.run(ours)
    with tfr.Graph().as_default():
        theirs, their_names = build(tfr)
        with tfr.Session() as sess:
            their_bytes = sess.run(theirs)
    assert our_names == their_names
    for mine, ref in zip(our_bytes, their_bytes):
        # Parsed, not raw bytes: the two protobuf libraries may order fields differently.
        assert summary_pb2.Summary.FromString(mine) == summary_pb2.Summary.FromString(ref)
