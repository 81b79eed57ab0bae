"""The training objective: ℓ1 + λ·(1 − MS-SSIM), plus the model's own auxiliary losses.

ClusIR §4.1 trains with "a joint objective combining ℓ1 and MS-SSIM losses" and gives no weight; we use
λ = 0.2 [choice, architecture.md §4.6]. MS-SSIM comes from ``pytorch_msssim`` with two settings that matter:

* ``data_range=1``: the library defaults to 255, which on [0, 1] images makes MS-SSIM ≈ 0.99999 for any pair
  and silently turns the term off (degradations.md §3).
* ``win_size``: the library asserts ``min(H, W) > (win_size − 1)·2⁴`` (four 2× downsamplings, whatever the
  number of weights), so its default 11-px window refuses 128² crops. :func:`ms_ssim_window` picks the largest
  odd window ≤ 7 that the crop admits: 7 at 128² (needs > 96), 5 at 80², 3 at 64² (needs > 32). Below 33 px no
  window fits; the MS-SSIM term is then dropped and the loss says so in ``describe()``.

MS-SSIM is computed in float32 even under bf16 autocast (products of five small powers lose precision).
"""

from __future__ import annotations

import warnings

import torch
from pytorch_msssim import ms_ssim
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["ms_ssim_window", "RestorationLoss", "fft_l1", "L1FFTLoss", "LOSSES"]

#: ``TrainConfig.loss`` values: ClusIR's objective (default) and AnyIR's.
LOSSES = ("l1_msssim", "l1_fft")


def ms_ssim_window(size: int, largest: int = 7) -> int | None:
    """Largest odd Gaussian window ≤ ``largest`` that pytorch-msssim accepts for ``size``-pixel images."""
    for win in range(largest if largest % 2 else largest - 1, 2, -2):
        if size > (win - 1) * 16:
            return win
    return None


class RestorationLoss(nn.Module):
    """``l1_weight·ℓ1(pred, gt) + ms_ssim_weight·(1 − MS-SSIM(pred, gt))``.

    Args:
        l1_weight, ms_ssim_weight: λ's of the two terms.
        crop: training crop size, used to choose the MS-SSIM window when ``win_size`` is None.
        win_size: explicit odd MS-SSIM window.
    Shapes:
        pred, gt (B, 3, H, W) in [0, 1] → (loss scalar, {"l1": float tensor, "ms_ssim": float tensor})
    """

    def __init__(self, l1_weight: float = 1.0, ms_ssim_weight: float = 0.2, crop: int = 128,
                 win_size: int | None = None):
        super().__init__()
        self.l1_weight = l1_weight
        self.ms_ssim_weight = ms_ssim_weight
        self.win_size = win_size if win_size is not None else ms_ssim_window(crop)
        if ms_ssim_weight > 0 and self.win_size is None:
            warnings.warn(f"{crop}-px crops admit no MS-SSIM window (need > 32 px): training with ℓ1 only",
                          stacklevel=2)

    @property
    def uses_ms_ssim(self) -> bool:
        return self.ms_ssim_weight > 0 and self.win_size is not None

    def describe(self) -> str:
        if not self.uses_ms_ssim:
            return f"{self.l1_weight:g}·ℓ1 (MS-SSIM off)"
        return f"{self.l1_weight:g}·ℓ1 + {self.ms_ssim_weight:g}·(1 − MS-SSIM, win {self.win_size}, data_range 1)"

    def forward(self, pred: Tensor, gt: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        pred, gt = pred.float(), gt.float()
        l1 = F.l1_loss(pred, gt)
        loss = self.l1_weight * l1
        parts = {"l1": l1.detach()}
        if self.uses_ms_ssim:
            with torch.autocast(pred.device.type, enabled=False):
                msssim = ms_ssim(pred, gt, data_range=1.0, size_average=True, win_size=self.win_size)
            loss = loss + self.ms_ssim_weight * (1.0 - msssim)
            parts["ms_ssim"] = msssim.detach()
        return loss, parts


def fft_l1(pred: Tensor, gt: Tensor) -> Tensor:
    """Mean |·| over the real and imaginary parts of ``rfft2(pred) − rfft2(gt)`` (unnormalised DFT).

    AnyIR's auxiliary frequency loss (anyir.md §4): per image and channel, the half-spectrum
    (H, W/2 + 1) of both images, real and imaginary parts as separate entries. Computed in float32.
    Shapes: pred, gt (B, C, H, W) -> 0-d tensor.
    """
    with torch.autocast(pred.device.type, enabled=False):
        diff = torch.fft.rfft2(pred.float()) - torch.fft.rfft2(gt.float())     # (B, C, H, W/2+1) complex
        return torch.view_as_real(diff).abs().mean()


class L1FFTLoss(nn.Module):
    """AnyIR's objective ``l1_weight·ℓ1(pred, gt) + fft_weight·FFT-ℓ1(pred, gt)`` (fft_weight 0.1 there).

    Shapes: pred, gt (B, 3, H, W) → (loss scalar, {"l1": float tensor, "fft_l1": float tensor})
    """

    def __init__(self, l1_weight: float = 1.0, fft_weight: float = 0.1):
        super().__init__()
        self.l1_weight = l1_weight
        self.fft_weight = fft_weight

    def describe(self) -> str:
        return f"{self.l1_weight:g}·ℓ1 + {self.fft_weight:g}·FFT-ℓ1 (rfft2 real/imag)"

    def forward(self, pred: Tensor, gt: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        pred, gt = pred.float(), gt.float()
        l1 = F.l1_loss(pred, gt)
        freq = fft_l1(pred, gt)
        return self.l1_weight * l1 + self.fft_weight * freq, {"l1": l1.detach(), "fft_l1": freq.detach()}
