"""interiorvideo.colour against values computed here from the standards, on numpy and torch alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from interiorvideo.colour import (
    display_to_hdr,
    hdr_to_display,
    linear_to_srgb,
    reinhard,
    reinhard_inverse,
    srgb_to_linear,
    to_uint8,
)


def iec_encode(v: float) -> float:
    """IEC 61966-2-1 sRGB encoding of one linear value in [0, 1], written out from the standard."""
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def iec_decode(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


# linear value → sRGB value: the curve's ends, both sides of its breakpoint, mid grey, and
# 18 % grey (sRGB ≈ 0.4613, i.e. 118 of 255)
KNOWN = [(0.0, 0.0), (1.0, 1.0), (0.0031308, 0.0031308 * 12.92), (0.5, 0.7353569830524495),
         (0.18, 0.46135612950044164), (0.001, 0.01292), (0.2140, 0.5)]


@pytest.mark.parametrize("linear,srgb", KNOWN)
def test_srgb_curve_hits_known_values(linear, srgb):
    assert iec_encode(linear) == pytest.approx(srgb, abs=2e-4)  # the reference itself
    assert float(linear_to_srgb(linear)) == pytest.approx(iec_encode(linear), abs=1e-12)
    assert float(srgb_to_linear(srgb)) == pytest.approx(iec_decode(srgb), abs=1e-12)


def test_srgb_curve_is_continuous_at_its_breakpoints_and_clamps():
    eps = 1e-9
    assert float(linear_to_srgb(0.0031308 + eps)) == pytest.approx(float(linear_to_srgb(0.0031308)), abs=1e-6)
    assert float(srgb_to_linear(0.04045 + eps)) == pytest.approx(float(srgb_to_linear(0.04045)), abs=1e-6)
    np.testing.assert_allclose(linear_to_srgb(np.array([-1.0, 2.0])), [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(srgb_to_linear(np.array([-1.0, 2.0])), [0.0, 1.0], atol=1e-12)


def test_srgb_round_trips_and_8_bit_codes_survive():
    x = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(srgb_to_linear(linear_to_srgb(x)), x, atol=1e-12)
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(to_uint8(linear_to_srgb(srgb_to_linear(codes / 255.0))), codes)
    assert to_uint8(np.array([0.0, 0.5 / 255, 0.4 / 255, 1.2])).tolist() == [0, 1, 0, 255]


def test_display_mapping_is_reinhard_then_srgb():
    # radiance 1 → Reinhard 0.5 → sRGB 1.055·0.5^(1/2.4) − 0.055
    assert float(hdr_to_display(1.0)) == pytest.approx(1.055 * 0.5 ** (1 / 2.4) - 0.055, abs=1e-12)
    assert float(hdr_to_display(3.0, exposure=1 / 3)) == pytest.approx(float(hdr_to_display(1.0)), abs=1e-12)
    assert float(hdr_to_display(-2.0)) == 0.0  # negative radiance counts as none
    assert float(reinhard(3.0)) == 0.75 and float(reinhard_inverse(0.75)) == 3.0
    hdr = np.concatenate([[0.0], np.logspace(-4, 2, 200)])
    d = hdr_to_display(hdr)
    assert d.min() >= 0 and d.max() < 1 and np.all(np.diff(d) > 0)
    np.testing.assert_allclose(display_to_hdr(d), hdr, rtol=1e-9, atol=1e-12)
    assert math.isfinite(float(display_to_hdr(1.0)))  # clamped just below 1


def test_torch_tensors_give_the_numpy_values_and_stay_tensors():
    torch = pytest.importorskip("torch")
    hdr = np.concatenate([[0.0], np.logspace(-4, 2, 200)]).reshape(-1, 1, 3)
    t = torch.from_numpy(hdr).float()
    for f in (hdr_to_display, reinhard, lambda x: linear_to_srgb(x / 100), lambda x: srgb_to_linear(x / 100)):
        out = f(t)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
        np.testing.assert_allclose(out.numpy(), f(hdr), rtol=1e-5, atol=1e-6)
    d = hdr_to_display(t)
    torch.testing.assert_close(display_to_hdr(d), t, rtol=2e-3, atol=1e-6)
    x = torch.zeros(3, requires_grad=True)
    linear_to_srgb(x).sum().backward()
    assert torch.isfinite(x.grad).all()  # the power branch does not poison the gradient at 0
