r"""Degradation-Aware Frequency Modulation Module (DAFMM) and its FSB — paper Eqs. (11)–(15), §3.3.

    f = Conv1×1([F, prompt map])                         prompt-conditioned ("degradation-aware") features
    F̂_LL, [F̂_HL, F̂_LH, F̂_HH] = DWT(f)
    W   = softmax_taps(BN(Conv1×1(GAP(F̂_LL))))           (11)
    F_l = Σ_{i=1..k²} W_i ⊙ Unfold(F̂_LL)_i               (12)
    F_h = F̂_LL − F_l                                    (13)
    L̃  = IFFT(Fconv1([A(F̂_LL), A(F_l)]) · exp(j Fconv2([Φ(F̂_LL), Φ(F_l)])))   (14)
    H̃  = σ(W F_h) ⊙ [F̂_HL, F̂_LH, F̂_HH]                  (15)
    out = β ⊙ F + γ ⊙ IDWT(L̃, H̃),   γ = 0, β = 1 at init (identity at initialisation)

The FSB is SFNet's dynamic filter (architecture.md §3.3). Deviations (arch §6.12–6.15): the prompt map is
concatenated and fused by a 1×1 conv before the DWT; Eq. (14) uses the real FFT with 1×1-conv fusers
(LeakyReLU 0.1) and a signed amplitude; Eq. (15)'s gate is a 1×1 conv C → 3C applied per position; the
γ/β blend is AdaIR's identity-at-init trick. FFTs, amplitude/phase and the spectral convs run in float32
even under autocast. Book: chapters 07 (FSB) and 08 (amplitude–phase fusion, gating).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from clusir.model.common import fp32_region, upcast
from clusir.model.wavelets import haar_dwt, haar_idwt


class TapNorm(nn.BatchNorm2d):
    """BatchNorm of Eq. (11) on (B, g·k², 1, 1) maps.

    Deviation: with a single value per channel (training at batch 1) batch statistics do not exist and torch
    raises; we then normalise with the running statistics instead (architecture.md §7).
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


class FSB(nn.Module):
    r"""Frequency Self-Mining Block — Eqs. (11)–(13): a content-adaptive k×k low-pass, shared by the C/g channels
    of each of g groups, and its residual high-pass.

    Args: dim C, groups g (divides C), kernel k (odd).
    Shapes: ll (B, C, h, w) -> low (B, C, h, w), high (B, C, h, w)
    """

    def __init__(self, dim: int, groups: int = 8, kernel: int = 3) -> None:
        super().__init__()
        if dim % groups or kernel % 2 == 0:
            raise ValueError(f"FSB: groups={groups} must divide dim={dim} and kernel={kernel} must be odd")
        self.groups, self.kernel = groups, kernel
        self.conv = nn.Conv2d(dim, groups * kernel * kernel, 1, bias=False)
        self.bn = TapNorm(groups * kernel * kernel)

    def filter_weights(self, ll: Tensor) -> Tensor:
        """Eq. (11): (B, C, h, w) -> (B, g, k²), each row a softmax over the k² taps."""
        w = self.bn(self.conv(ll.mean(dim=(2, 3), keepdim=True)))              # (B, g·k², 1, 1)
        return upcast(w.reshape(ll.shape[0], self.groups, self.kernel**2)).softmax(dim=-1)

    def forward(self, ll: Tensor) -> tuple[Tensor, Tensor]:
        b, c, h, w = ll.shape
        k, p = self.kernel, self.kernel // 2
        weights = self.filter_weights(ll).to(ll.dtype)                          # (B, g, k²)   Eq. (11)
        mode = "reflect" if min(h, w) > p else "replicate"
        patches = F.unfold(F.pad(ll, (p, p, p, p), mode=mode), k)               # (B, C·k², h·w)
        patches = patches.reshape(b, self.groups, c // self.groups, k * k, h * w)
        low = (patches * weights[:, :, None, :, None]).sum(dim=3)               # (B, g, C/g, hw)  Eq. (12)
        low = low.reshape(b, c, h, w)
        return low, ll - low                                                    # Eq. (13)


def _amplitude_phase(z: Tensor) -> tuple[Tensor, Tensor]:
    """|z| and arg z with finite gradients at z = 0 (where the phase is taken as 0)."""
    re, im = z.real, z.imag
    zero = (re == 0) & (im == 0)
    re_safe = torch.where(zero, torch.ones_like(re), re)
    amp = torch.where(zero, torch.zeros_like(re), torch.hypot(re_safe, im))
    return amp, torch.atan2(im, re_safe)


class LowFreqModulation(nn.Module):
    r"""Eq. (14): amplitude–phase fusion of F̂_LL and F_l in the Fourier domain (float32).

    Shapes: ll, low (B, C, h, w) -> (B, C, h, w) float32
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.amp_fuse = nn.Sequential(nn.Conv2d(2 * dim, dim, 1), nn.LeakyReLU(0.1), nn.Conv2d(dim, dim, 1))
        self.pha_fuse = nn.Sequential(nn.Conv2d(2 * dim, dim, 1), nn.LeakyReLU(0.1), nn.Conv2d(dim, dim, 1))

    def forward(self, ll: Tensor, low: Tensor) -> Tensor:
        h, w = ll.shape[-2:]
        with fp32_region(ll):
            a1, p1 = _amplitude_phase(torch.fft.rfft2(upcast(ll)))              # (B, C, h, w/2+1) each
            a2, p2 = _amplitude_phase(torch.fft.rfft2(upcast(low)))
            amp = self.amp_fuse(torch.cat([a1, a2], dim=1))                     # (B, C, h, w/2+1)
            pha = self.pha_fuse(torch.cat([p1, p2], dim=1))
            spec = torch.complex(amp * torch.cos(pha), amp * torch.sin(pha))
            return torch.fft.irfft2(spec, s=(h, w))                             # (B, C, h, w)  Eq. (14)


class HighFreqModulation(nn.Module):
    r"""Eq. (15): ``H̃ = σ(W F_h) ⊙ [F̂_HL, F̂_LH, F̂_HH]``. Shapes: high (B, C, h, w), bands (B, 3C, h, w) -> (B, 3C, h, w)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gate = nn.Conv2d(dim, 3 * dim, 1)

    def forward(self, high: Tensor, bands: Tensor) -> Tensor:
        return torch.sigmoid(self.gate(high)) * bands                           # Eq. (15)


class DAFMM(nn.Module):
    r"""The full module: prompt-map fusion, DWT, FSB, low/high modulation, IDWT, identity-at-init blend.

    Args: dim C (features), map_channels C_p (prompt map channels), groups/kernel (FSB, config ``fsb_groups``/
    ``fsb_kernel``).
    Shapes: x (B, C, H, W), prompt_map (B, C_p, H, W) -> (B, C, H, W); H, W even.
    """

    def __init__(self, dim: int, map_channels: int, groups: int = 8, kernel: int = 3) -> None:
        super().__init__()
        self.fuse = nn.Conv2d(dim + map_channels, dim, 1, bias=False)
        self.fsb = FSB(dim, groups, kernel)
        self.low = LowFreqModulation(dim)
        self.high = HighFreqModulation(dim)
        self.gamma = nn.Parameter(torch.zeros(1, dim, 1, 1))
        self.beta = nn.Parameter(torch.ones(1, dim, 1, 1))

    def forward(self, x: Tensor, prompt_map: Tensor) -> Tensor:
        f = self.fuse(torch.cat([x, prompt_map.to(x.dtype)], dim=1))           # (B, C, H, W)
        ll, bands = haar_dwt(f)                                                 # (B, C, h, w), (B, 3C, h, w)
        low, high = self.fsb(ll)                                                # Eqs. (11)–(13)
        l_tilde = self.low(ll, low)                                             # Eq. (14)
        h_tilde = self.high(high, bands)                                        # Eq. (15)
        y = haar_idwt(l_tilde, h_tilde)                                         # (B, C, H, W) (promotes to fp32)
        return (self.beta * x + self.gamma * y).to(x.dtype)
