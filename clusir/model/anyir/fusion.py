r"""AnyIR's channel split and spatial–frequency fusion (paper Algorithm 2; anyir.md §3.2, §3.4).

* :func:`skip_split` — the "sub-latent" split: even channels to the attention path, odd to GatedDA.
* :func:`spatial_fusion` — cross-enhancement ``[F_att + σ(F_gate), F_gate + σ(F_att)]`` (blocked layout).
* :func:`frequency_fusion` — ``irfft2(rfft2(F_att) + rfft2(F_gate))``, each channel repeated twice
  (interleaved layout). Nothing acts on the spectrum, so by linearity of the DFT this *equals*
  ``F_att + F_gate`` up to round-off: ``freq_mode="sum"`` computes that directly (chapter 15 shows it).
* :class:`SpatialFrequencyFusion` — ``λ·F_s + (1 − λ)·F_f`` with one learnable scalar λ (init 0.5).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from clusir.model.common import fp32_region, upcast


def skip_split(x: Tensor) -> tuple[Tensor, Tensor]:
    """(B, C, H, W) -> even channels (B, C/2, H, W), odd channels (B, C/2, H, W)."""
    return x[:, 0::2], x[:, 1::2]


def spatial_fusion(f_att: Tensor, f_gate: Tensor) -> Tensor:
    """2 × (B, h, H, W) -> (B, 2h, H, W): attention-derived channels first."""
    return torch.cat([f_att + torch.sigmoid(f_gate), f_gate + torch.sigmoid(f_att)], dim=1)


def fft_sum(f_att: Tensor, f_gate: Tensor) -> Tensor:
    """``irfft2(rfft2(a) + rfft2(b))`` at the inputs' size, computed in float32 (float64 kept)."""
    size = f_att.shape[-2:]
    with fp32_region(f_att):
        spec = torch.fft.rfft2(upcast(f_att)) + torch.fft.rfft2(upcast(f_gate))   # (B, h, H, W/2+1)
        return torch.fft.irfft2(spec, s=size).to(f_att.dtype)                    # (B, h, H, W)


def frequency_fusion(f_att: Tensor, f_gate: Tensor, mode: str = "fft") -> Tensor:
    """2 × (B, h, H, W) -> (B, 2h, H, W), channel i of the sum at positions 2i and 2i + 1."""
    summed = fft_sum(f_att, f_gate) if mode == "fft" else f_att + f_gate
    return summed.repeat_interleave(2, dim=1)


class SpatialFrequencyFusion(nn.Module):
    """``λ·spatial_fusion + (1 − λ)·frequency_fusion``. Shapes: 2 × (B, h, H, W) -> (B, 2h, H, W)."""

    def __init__(self, mode: str = "fft") -> None:
        super().__init__()
        if mode not in ("fft", "sum"):
            raise ValueError(f"SpatialFrequencyFusion: mode must be 'fft' or 'sum', got {mode!r}")
        self.mode = mode
        self.lam = nn.Parameter(torch.tensor(0.5))

    def forward(self, f_att: Tensor, f_gate: Tensor) -> Tensor:
        f_s = spatial_fusion(f_att, f_gate)                       # (B, 2h, H, W)
        f_f = frequency_fusion(f_att, f_gate, self.mode)          # (B, 2h, H, W)
        return self.lam * f_s + (1.0 - self.lam) * f_f
