"""Haar DWT / IDWT (clusir.model.wavelets)."""

import pytest
import torch

from clusir.model.wavelets import haar_dwt, haar_idwt


@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 5, 6, 10)])
def test_perfect_reconstruction_and_parseval(shape):
    x = torch.randn(*shape, dtype=torch.float64)
    ll, high = haar_dwt(x)
    assert ll.shape == (shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    assert high.shape == (shape[0], 3 * shape[1], shape[2] // 2, shape[3] // 2)
    torch.testing.assert_close(haar_idwt(ll, high), x, atol=1e-12, rtol=0)
    torch.testing.assert_close(x.square().sum(), ll.square().sum() + high.square().sum())


def test_float32_round_trip_within_1e_5():
    x = torch.rand(2, 4, 32, 32)
    assert (haar_idwt(*haar_dwt(x)) - x).abs().max() <= 1e-5


def test_matches_pywavelets():
    pywt = pytest.importorskip("pywt")
    x = torch.randn(2, 3, 8, 12, dtype=torch.float64)
    ll, high = haar_dwt(x)
    ca, (ch, cv, cd) = pywt.dwt2(x.numpy(), "haar")                 # over the last two axes
    c = x.shape[1]
    for ours, ref in ((ll, ca), (high[:, :c], ch), (high[:, c:2 * c], cv), (high[:, 2 * c:], cd)):
        torch.testing.assert_close(ours, torch.from_numpy(ref))
    rec = pywt.idwt2((ca, (ch, cv, cd)), "haar")
    torch.testing.assert_close(haar_idwt(ll, high), torch.from_numpy(rec))


def test_odd_sizes_are_rejected():
    with pytest.raises(ValueError, match="even"):
        haar_dwt(torch.zeros(1, 1, 5, 4))


def test_bf16_and_gradients():
    x = torch.randn(1, 2, 8, 8, requires_grad=True)
    ll, high = haar_dwt(x.bfloat16())
    assert ll.dtype == torch.bfloat16
    haar_idwt(*haar_dwt(x)).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))            # IDWT∘DWT = identity ⇒ gradient 1
