"""A slow, element-at-a-time reference for the int8 kernels, in Python integers, written from TF Lite's spec.

Nothing here imports the plugin's kernels: every accumulator, multiplier and rounding is recomputed with
Python ints (unbounded, so no overflow hides) and loops over output elements.
"""

from __future__ import annotations

import math


def quantize_multiplier(real: float) -> tuple[int, int]:
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(math.floor(q * 2 ** 31 + 0.5))
    if q_fixed == 2 ** 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return 2 ** 31 - 1, 30
    return q_fixed, shift


def mbqm(x: int, m: int, shift: int) -> int:
    """TF Lite's single-rounding MultiplyByQuantizedMultiplier: one product, one rounding right shift."""
    total = 31 - shift
    return (x * m + (1 << (total - 1))) >> total


def mbqm_double(x: int, m: int, shift: int) -> int:
    """gemmlowp's double rounding: SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT."""
    left, right = max(shift, 0), max(-shift, 0)
    a = ((x << left) + 2 ** 31) % 2 ** 32 - 2 ** 31
    if a == m == -(2 ** 31):
        high = 2 ** 31 - 1
    else:
        ab = a * m
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        high = _trunc_div(ab + nudge, 2 ** 31)  # C++ division truncates toward zero
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if remainder > threshold else 0)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def clamp(v: int, lo: int = -128, hi: int = 127) -> int:
    return max(lo, min(hi, v))


def round_away(v: float) -> int:
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def out_size_and_pad(size: int, k: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    eff = (k - 1) * dilation + 1
    out = (size + stride - 1) // stride if padding == "SAME" else (size - eff + stride) // stride
    return out, max((out - 1) * stride + eff - size, 0) // 2


def conv2d(x, zp_in, w, bias, mults, zp_out, lo, hi, stride=1, dilation=1, padding="SAME", depthwise=False):
    """x: nested lists [N][H][W][C]; w: [O][KH][KW][C] (conv) or [KH][KW][C] (depthwise); mults: [(m, shift)]."""
    n, h, wd, c = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    kh, kw = (len(w), len(w[0])) if depthwise else (len(w[0]), len(w[0][0]))
    oh, ph = out_size_and_pad(h, kh, stride, dilation, padding)
    ow, pw = out_size_and_pad(wd, kw, stride, dilation, padding)
    channels = len(w[0][0]) if depthwise else len(w)
    out = [[[[0] * channels for _ in range(ow)] for _ in range(oh)] for _ in range(n)]
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for o in range(channels):
                    acc = 0
                    for i in range(kh):
                        for j in range(kw):
                            y, xx = oy * stride + i * dilation - ph, ox * stride + j * dilation - pw
                            if not (0 <= y < h and 0 <= xx < wd):
                                continue  # outside: the value zp_in, which contributes nothing
                            if depthwise:
                                acc += (x[b][y][xx][o * c // channels] - zp_in) * w[i][j][o]
                            else:
                                acc += sum((x[b][y][xx][k] - zp_in) * w[o][i][j][k] for k in range(c))
                    acc += bias[o]
                    m, s = mults[o if len(mults) > 1 else 0]
                    out[b][oy][ox][o] = clamp(mbqm(acc, m, s) + zp_out, lo, hi)
    return out


def fully_connected(x, zp_in, w, bias, mults, zp_out, lo, hi):
    out = []
    for row in x:
        res = []
        for o, w_row in enumerate(w):
            acc = sum((v - zp_in) * wv for v, wv in zip(row, w_row)) + bias[o]
            m, s = mults[o if len(mults) > 1 else 0]
            res.append(clamp(mbqm(acc, m, s) + zp_out, lo, hi))
        out.append(res)
    return out


def average_pool(x, k, stride, padding, lo, hi):
    n, h, wd, c = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    oh, ph = out_size_and_pad(h, k, stride, 1, padding)
    ow, pw = out_size_and_pad(wd, k, stride, 1, padding)
    out = [[[[0] * c for _ in range(ow)] for _ in range(oh)] for _ in range(n)]
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    vals = [x[b][y][xx][ch] for y in range(oy * stride - ph, oy * stride - ph + k)
                            for xx in range(ox * stride - pw, ox * stride - pw + k) if 0 <= y < h and 0 <= xx < wd]
                    total, count = sum(vals), len(vals)
                    avg = (total + count // 2) // count if total > 0 else -((-total + count // 2) // count)
                    out[b][oy][ox][ch] = clamp(avg, lo, hi)
    return out


def add(a, zp1, s1, b, zp2, s2, zp_out, s_out, lo, hi):
    left = 20
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left) * s_out))
    return [clamp(mbqm(mbqm((x - zp1) << left, m1, sh1) + mbqm((y - zp2) << left, m2, sh2), mo, sho) + zp_out, lo, hi)
            for x, y in zip(a, b)]


def mul(a, zp1, s1, b, zp2, s2, zp_out, s_out, lo, hi):
    m, sh = quantize_multiplier(s1 * s2 / s_out)
    return [clamp(mbqm((x - zp1) * (y - zp2), m, sh) + zp_out, lo, hi) for x, y in zip(a, b)]


def mean_hw(x, zp_in, s_in, zp_out, s_out):
    """MEAN over axes 1 and 2 of [N][H][W][C], keep_dims=False."""
    m, sh = quantize_multiplier(s_in / s_out)
    n, h, wd, c = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    count = h * wd
    out = []
    for b in range(n):
        row = []
        for ch in range(c):
            acc = mbqm(sum(x[b][y][xx][ch] - zp_in for y in range(h) for xx in range(wd)), m, sh)
            acc = (acc + count // 2) // count if acc > 0 else -((-acc + count // 2) // count)
            row.append(clamp(acc + zp_out))
        out.append(row)
    return out
