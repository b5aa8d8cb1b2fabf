"""The vectorized fixed-point helpers against the Python-integer reference, both roundings, edge values included."""

import numpy as np
import pytest

from tensorflux_mobile.fixed_point import (
    Requantizer,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away,
)

from . import scalar_reference as ref


def test_quantize_multiplier_matches_the_reference_over_many_magnitudes():
    rng = np.random.default_rng(0)
    reals = np.concatenate([10.0 ** rng.uniform(-12, 3, 500), [0.0, 0.5, 1.0, 1 - 2 ** -40, 2 ** -33, 2.0 ** 31]])
    for r in reals:
        assert quantize_multiplier(float(r)) == ref.quantize_multiplier(float(r)), r


@pytest.mark.parametrize("rounding, scalar", [("single", ref.mbqm), ("double", ref.mbqm_double)])
def test_multiply_by_quantized_multiplier_is_bit_exact(rounding, scalar):
    rng = np.random.default_rng(1)
    xs = np.concatenate([rng.integers(-2 ** 24, 2 ** 24, 2000), [0, 1, -1, 2 ** 30, -(2 ** 30), 2 ** 31 - 1, -(2 ** 31)]])
    for real in (1e-6, 0.0078125, 0.25, 0.3, 0.999, 1.7, 40.0):
        m, shift = quantize_multiplier(real)
        got = multiply_by_quantized_multiplier(xs, m, shift, rounding=rounding)
        want = [scalar(int(x), m, shift) for x in xs]
        assert got.tolist() == want, real


def test_ties_round_away_from_zero_and_the_two_roundings_differ_only_on_ties():
    m, shift = quantize_multiplier(0.25)
    assert multiply_by_quantized_multiplier(np.array([2, -2, 6, -6]), m, shift, rounding="double").tolist() == [1, -1, 2, -2]
    assert multiply_by_quantized_multiplier(np.array([2, -2, 6, -6]), m, shift, rounding="single").tolist() == [1, 0, 2, -1]
    assert round_half_away(np.array([0.5, -0.5, 2.5, -2.5, 0.49999997], np.float32)).tolist() == [1, -1, 3, -3, 0]


@pytest.mark.parametrize("reals, offset, bound, folded", [
    # A convolution's usual spread: shifts a few apart, offsets (bias and zero-point correction) near 2**22.
    ([1e-4, 3e-4, 1e-3, 2e-3, 4e-3, 9e-3], [-(2 ** 22), 2 ** 22, -5, 0, 70000, 3], 2 ** 22, True),
    # Shifts 21 apart and offsets of 2**30: int64 cannot hold the folded constants, each step runs on its own.
    ([3e-7, 2e-6, 4e-5, 0.001, 0.3, 0.9], [-(2 ** 30), 2 ** 30, -5, 0, 70000, -(2 ** 20)], 2 ** 31 - 1, False),
    ([3e-7, 2e-6, 4e-5, 0.001, 0.3, 0.9], [-(2 ** 30), 2 ** 30, -5, 0, 70000, -(2 ** 20)], None, False)])
def test_requantizer_folded_or_not_matches_the_reference(reals, offset, bound, folded):
    rng = np.random.default_rng(2)
    pairs = [quantize_multiplier(r) for r in reals]
    mult, shift, offset = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), np.array(offset)
    limit = bound or 2 ** 31 - 1
    acc = np.concatenate([rng.integers(-limit, limit, (300, 6)), np.full((1, 6), limit), np.full((1, 6), -limit)])
    acc = np.clip(acc, -(2 ** 31) - offset, 2 ** 31 - 1 - offset)  # TF Lite's accumulator (acc + offset) is int32
    for zp_out, lo, hi in ((-128, -128, 127), (127, 0, 127), (5, -100, 90)):
        rq = Requantizer(mult, shift, zp_out, lo, hi, offset, acc_bound=bound)
        assert rq.folded == folded
        want = [[ref.clamp(ref.mbqm(int(a) + int(o), int(m), int(s)) + zp_out, lo, hi)
                 for a, o, m, s in zip(row, offset, mult, shift)] for row in acc]
        assert rq(acc).tolist() == want
        assert rq(acc.astype(np.float64)).tolist() == want
