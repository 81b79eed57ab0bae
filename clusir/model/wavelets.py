r"""Orthonormal 2-D Haar wavelet transform as plain torch ops (used by the WTB and the DAFMM).

For every 2×2 block ``[[a, b], [c, d]]`` of each channel

    LL = (a + b + c + d) / 2        H = (a + b − c − d) / 2      (low along W, high along H)
    V  = (a − b + c − d) / 2        D = (a − b − c + d) / 2

which is exactly ``pywt.dwt2(x, "haar")`` → ``(cA, (cH, cV, cD))``. The transform is orthonormal, so the
inverse uses the same four sums and energy is preserved (Parseval). It is written with slicing and
additions only: autograd, every dtype (bf16 included) and every device work without custom kernels.

The three detail bands are concatenated *band-major*: ``high[:, :C]`` = H, ``high[:, C:2C]`` = V,
``high[:, 2C:]`` = D, the ``[F_HL, F_LH, F_HH]`` concatenation of paper Eq. (15).

Shapes:
    haar_dwt:  x (B, C, H, W)  ->  ll (B, C, H/2, W/2),  high (B, 3C, H/2, W/2)
    haar_idwt: ll, high        ->  x (B, C, H, W)
Book: chapter 02 (wavelets, WTB).
"""

from __future__ import annotations

import torch
from torch import Tensor


def haar_dwt(x: Tensor) -> tuple[Tensor, Tensor]:
    """One level of the orthonormal Haar DWT. ``H`` and ``W`` must be even."""
    if x.dim() != 4:
        raise ValueError(f"haar_dwt expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if x.shape[-2] % 2 or x.shape[-1] % 2:
        raise ValueError(f"haar_dwt needs even H and W, got {tuple(x.shape[-2:])}")
    a = x[..., 0::2, 0::2]                              # (B, C, H/2, W/2)
    b = x[..., 0::2, 1::2]
    c = x[..., 1::2, 0::2]
    d = x[..., 1::2, 1::2]
    ll = (a + b + c + d) * 0.5
    h = (a + b - c - d) * 0.5
    v = (a - b + c - d) * 0.5
    dd = (a - b - c + d) * 0.5
    return ll, torch.cat([h, v, dd], dim=1)             # (B, C, h, w), (B, 3C, h, w)


def haar_idwt(ll: Tensor, high: Tensor) -> Tensor:
    """Inverse of :func:`haar_dwt` (perfect reconstruction)."""
    if high.shape[1] != 3 * ll.shape[1] or high.shape[-2:] != ll.shape[-2:]:
        raise ValueError(f"haar_idwt: high {tuple(high.shape)} must be (B, 3C, h, w) for ll {tuple(ll.shape)}")
    h, v, d = high.chunk(3, dim=1)                      # 3 × (B, C, h, w)
    a = (ll + h + v + d) * 0.5
    b = (ll + h - v - d) * 0.5
    c = (ll - h + v - d) * 0.5
    e = (ll - h - v + d) * 0.5
    top = torch.stack([a, b], dim=-1).flatten(-2)       # (B, C, h, 2w): a b a b ...
    bottom = torch.stack([c, e], dim=-1).flatten(-2)    # (B, C, h, 2w): c d c d ...
    return torch.stack([top, bottom], dim=-2).flatten(-3, -2)  # (B, C, 2h, 2w)
