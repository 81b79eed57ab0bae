r"""GatedDA — AnyIR's "Gated Degradation Adaptation" (paper Algorithm 1; anyir.md §3.3).

For an input F_in (B, h, H, W), with m = round(e·h) expanded channels split as γ | β | α (h, h, a = m − 2h):

    F̂ = BN(F_in)                                              (batch statistics when training)
    μ, σ = spatial mean and std of F̂ per image and channel       (B, h, 1, 1), σ = √(var + ε)
    Δ = sigmoid(μ + σ),   τ_adj = τ ⊙ Δ                          (τ learnable, initialised to 1)
    γ, β, α = split(W_exp F̂)
    α′ = DW_k(α) ⊙ (1 + τ_adj[:a])                              (τ_adj tiled when a > h)
    F_gate = sigmoid(γ) ⊙ W_gate [β, α′]                         (h + a → h)
    F_out = W_proj (F_gate + F_in)                               (residual before the projection)

Δ is the block's implicit "degradation statistic": the only input-conditioned scaling in AnyIR besides the
attention softmax and the sigmoid gates. The layout is a MambaOut-style gated CNN with the statistic added.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def channel_statistics(x: Tensor, eps: float = 1e-6) -> tuple[Tensor, Tensor]:
    """Per-image, per-channel spatial mean and std (biased variance + ``eps``): 2 × (B, C, 1, 1)."""
    mu = x.mean(dim=(2, 3), keepdim=True)                          # (B, C, 1, 1)
    var = (x - mu).pow(2).mean(dim=(2, 3), keepdim=True)           # (B, C, 1, 1)
    return mu, torch.sqrt(var + eps)


def degradation_statistic(x: Tensor, eps: float = 1e-6) -> Tensor:
    """Δ = sigmoid(μ + σ) of Algorithm 1, step 3: (B, C, H, W) -> (B, C, 1, 1) in (0, 1)."""
    mu, sigma = channel_statistics(x, eps)
    return torch.sigmoid(mu + sigma)


class GatedDA(nn.Module):
    """Algorithm 1 on ``dim`` = h channels. Shapes: (B, h, H, W) -> (B, h, H, W).

    Args:
        dim: h.   expansion: e (m = round(e·h), needs m > 2h).   kernel: depth-wise kernel of the α path.
        bias: conv bias.   eps: ε of σ.
    """

    def __init__(self, dim: int, expansion: float = 8 / 3, kernel: int = 7, bias: bool = False,
                 eps: float = 1e-6) -> None:
        super().__init__()
        hidden = int(round(expansion * dim))
        self.split = (dim, dim, hidden - 2 * dim)                  # γ | β | α
        alpha = self.split[2]
        if alpha <= 0:
            raise ValueError(f"GatedDA: expansion {expansion} leaves no α channels for dim {dim}")
        self.eps = eps
        self.norm = nn.BatchNorm2d(dim)
        self.expand = nn.Conv2d(dim, hidden, 1, bias=bias)
        self.depthwise = nn.Conv2d(alpha, alpha, kernel, padding=kernel // 2, groups=alpha, bias=bias)
        self.merge = nn.Conv2d(dim + alpha, dim, 1, bias=bias)
        self.project = nn.Conv2d(dim, dim, 1, bias=bias)
        self.tau = nn.Parameter(torch.ones(1, dim, 1, 1))
        self._tile = math.ceil(alpha / dim)

    def modulation(self, delta: Tensor) -> Tensor:
        """1 + τ_adj restricted (or tiled) to the α channels: (B, h, 1, 1) -> (B, a, 1, 1)."""
        tau_adj = self.tau * delta
        return 1.0 + tau_adj.repeat(1, self._tile, 1, 1)[:, : self.split[2]]

    def forward(self, x: Tensor) -> Tensor:
        f_hat = self.norm(x)                                        # (B, h, H, W)
        delta = degradation_statistic(f_hat, self.eps)              # (B, h, 1, 1)
        gamma, beta, alpha = self.expand(f_hat).split(self.split, dim=1)   # (B, h), (B, h), (B, a)
        alpha = self.depthwise(alpha) * self.modulation(delta)      # (B, a, H, W)
        gated = torch.sigmoid(gamma) * self.merge(torch.cat([beta, alpha], dim=1))  # (B, h, H, W)
        return self.project(gated + x)                              # (B, h, H, W)
