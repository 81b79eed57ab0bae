"""DAFMM and FSB, Eqs. (11)–(15) (clusir.model.dafmm)."""

import torch
import torch.nn.functional as F

from clusir.model.dafmm import DAFMM, FSB, HighFreqModulation, LowFreqModulation

F64 = torch.float64


def _fsb(dim=16, groups=8, kernel=3):
    torch.manual_seed(0)
    return FSB(dim, groups, kernel).double().eval()


def test_eq11_tap_weights_are_a_softmax():
    w = _fsb().filter_weights(torch.randn(3, 16, 6, 6, dtype=F64))
    assert w.shape == (3, 8, 9)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 8, dtype=F64))
    assert (w > 0).all()


def test_eq13_low_plus_high_is_the_input():
    ll = torch.randn(2, 16, 7, 5, dtype=F64)
    low, high = _fsb()(ll)
    torch.testing.assert_close(low + high, ll, atol=1e-12, rtol=0)


def test_eq12_constant_input_is_a_fixed_point_of_the_low_pass():
    ll = torch.full((2, 16, 5, 5), 0.7, dtype=F64)
    low, high = _fsb()(ll)
    torch.testing.assert_close(low, ll)
    assert high.abs().max() < 1e-12


def test_eq12_unfold_filter_equals_a_grouped_convolution():
    fsb = _fsb(dim=16, groups=4, kernel=3)
    ll = torch.randn(2, 16, 6, 8, dtype=F64)
    low, _ = fsb(ll)
    w = fsb.filter_weights(ll)                                                   # (B, g, 9)
    padded = F.pad(ll, (1, 1, 1, 1), mode="reflect")
    for b in range(2):
        kernel = w[b].repeat_interleave(4, dim=0).reshape(16, 1, 3, 3)           # each group's taps, per channel
        torch.testing.assert_close(low[b:b + 1], F.conv2d(padded[b:b + 1], kernel, groups=16))


def test_fsb_trains_at_batch_one_and_on_1x1_maps():
    fsb = FSB(16).train()
    low, high = fsb(torch.randn(1, 16, 1, 1, requires_grad=True))               # replicate pad, running-stat BN
    (low.sum() + high.sum()).backward()


def test_eq14_low_frequency_modulation_shapes_dtype_and_odd_sizes():
    lfm = LowFreqModulation(8)
    for h, w in ((5, 7), (4, 4), (1, 3)):
        ll = torch.randn(2, 8, h, w)
        out = lfm(ll, ll * 0.5)
        assert out.shape == ll.shape and out.dtype == torch.float32 and torch.isfinite(out).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = lfm(torch.randn(2, 8, 6, 6).bfloat16(), torch.randn(2, 8, 6, 6).bfloat16())
    assert out.dtype == torch.float32                                            # FFT path stays float32


def test_eq14_gradients_are_finite_at_zero_spectrum():
    lfm = LowFreqModulation(4)
    ll = torch.zeros(1, 4, 4, 4, requires_grad=True)                             # every bin is exactly 0
    lfm(ll, ll).sum().backward()
    assert torch.isfinite(ll.grad).all()


def test_eq15_gate_in_unit_interval():
    hfm = HighFreqModulation(4)
    bands = torch.ones(2, 12, 3, 3)
    out = hfm(torch.randn(2, 4, 3, 3), bands)
    assert out.shape == (2, 12, 3, 3) and (out > 0).all() and (out < 1).all()


def test_dafmm_is_the_identity_at_init_and_learns_once_gamma_moves():
    torch.manual_seed(0)
    dafmm = DAFMM(16, 8).train()
    x, prompt = torch.randn(2, 16, 8, 6), torch.randn(2, 8, 8, 6)
    torch.testing.assert_close(dafmm(x, prompt), x, atol=0, rtol=0)
    with torch.no_grad():
        dafmm.gamma.fill_(0.5)
    out = dafmm(x, prompt)
    assert (out - x).abs().max() > 1e-3
    out.square().sum().backward()
    for name in ("fuse.weight", "fsb.conv.weight", "low.amp_fuse.0.weight", "low.pha_fuse.0.weight", "high.gate.weight"):
        grad = dict(dafmm.named_parameters())[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_dafmm_under_bf16_autocast():
    dafmm = DAFMM(16, 8).eval()
    with torch.no_grad():
        dafmm.gamma.fill_(0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = dafmm(torch.randn(2, 16, 8, 8), torch.randn(2, 8, 8, 8))
    assert out.shape == (2, 16, 8, 8) and torch.isfinite(out).all()
