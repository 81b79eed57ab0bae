"""Shared building blocks of the Restormer/AdaIR skeleton that ClusIR sits on (architecture.md §3.1).

* :class:`LayerNorm2d` — channel LayerNorm on (B, C, H, W) maps (Restormer "WithBias").
* :class:`GDFN` — gated depth-wise feed-forward network; also the *expert* of the MoE blocks (arch §6.4).
* :class:`MDTA` / :class:`TransformerBlock` — Restormer's transposed (channel) attention block (decoder).
* :class:`CrossAttention` — small multi-head cross-attention on token sets (Eq. (8), prompt fusion).
* :class:`Downsample` / :class:`Upsample` — pixel-(un)shuffle resampling between levels.
* :class:`Passthrough` — stands in for a switched-off block (style guide §7).
* :func:`fp32_region` — a context that switches autocast off (FFT, routing softmax); :func:`upcast`.

Shape legend (whole package): B batch, C channels at this stage, H, W spatial, N prototypes, K1 active
clusters, E experts per cluster, K2 active experts per cluster, D semantic-prompt width, L PGB components,
k FSB kernel size.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def fp32_region(x: Tensor):
    """Context that disables autocast for ``x``'s device type (compute there in float32 explicitly)."""
    return torch.autocast(device_type=x.device.type, enabled=False) if x.device.type in ("cpu", "cuda") \
        else contextlib.nullcontext()


def upcast(t: Tensor) -> Tensor:
    """``t`` in float32, or kept in float64 (so double-precision oracle tests stay exact)."""
    return t if t.dtype == torch.float64 else t.float()


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel dimension of a (B, C, H, W) map, with weight and bias."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], self.weight, self.bias, self.eps)  # (B, H, W, C)
        return y.permute(0, 3, 1, 2)                                                              # (B, C, H, W)


class GDFN(nn.Module):
    r"""Gated-Dconv feed-forward network (Restormer): ``W_out( GELU(a) ⊙ b )``, ``[a, b] = DW3x3(W_in x)``.

    Args:
        dim: channels C.   expansion: hidden width ``h = int(expansion · C)``.   bias: conv bias.
        hidden: ``h`` given directly instead (the capacity-matched dense block of ``moe="dense"``).
    Shapes: x (B, C, H, W) -> (B, C, H, W)
    """

    def __init__(self, dim: int, expansion: float = 2.66, bias: bool = False, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or int(dim * expansion)
        self.hidden = hidden
        self.project_in = nn.Conv2d(dim, 2 * hidden, 1, bias=bias)
        self.dwconv = nn.Conv2d(2 * hidden, 2 * hidden, 3, padding=1, groups=2 * hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)   # 2 × (B, h, H, W)
        return self.project_out(F.gelu(a) * b)                   # (B, C, H, W)


class MDTA(nn.Module):
    r"""Multi-Dconv-head transposed attention (Restormer): a C/heads × C/heads attention map per head.

    Shapes: x (B, C, H, W) -> (B, C, H, W)
    """

    def __init__(self, dim: int, heads: int, bias: bool = False) -> None:
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(3 * dim, 3 * dim, 3, padding=1, groups=3 * dim, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)                     # 3 × (B, C, H, W)
        q, k, v = (t.reshape(b, self.heads, c // self.heads, h * w) for t in (q, k, v))  # (B, h, C/h, HW)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1)) * self.temperature                      # (B, h, C/h, C/h)
        out = attn.softmax(dim=-1) @ v                                           # (B, h, C/h, HW)
        return self.project_out(out.reshape(b, c, h, w))


class TransformerBlock(nn.Module):
    """Restormer block: ``x + MDTA(LN(x))`` then ``x + GDFN(LN(x))``. Shapes: (B, C, H, W) -> same."""

    def __init__(self, dim: int, heads: int, expansion: float = 2.66, bias: bool = False) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.attn = MDTA(dim, heads, bias)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GDFN(dim, expansion, bias)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class CrossAttention(nn.Module):
    r"""Multi-head cross-attention between token sets: ``softmax(Q Kᵀ/√d) V`` then an output projection.

    Args:
        dim: query width (= output width).   kv_dim: key/value width (default ``dim``).   heads.
    Shapes: q (B, Tq, dim), kv (B, Tk, kv_dim) -> out (B, Tq, dim), attn (B, heads, Tq, Tk)
    """

    def __init__(self, dim: int, heads: int, kv_dim: int | None = None, bias: bool = True) -> None:
        super().__init__()
        kv_dim = kv_dim or dim
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=bias)
        self.k = nn.Linear(kv_dim, dim, bias=bias)
        self.v = nn.Linear(kv_dim, dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, q: Tensor, kv: Tensor) -> tuple[Tensor, Tensor]:
        b, tq, d = q.shape
        h = self.heads
        qh = self.q(q).reshape(b, tq, h, d // h).transpose(1, 2)      # (B, h, Tq, d/h)
        kh = self.k(kv).reshape(b, -1, h, d // h).transpose(1, 2)     # (B, h, Tk, d/h)
        vh = self.v(kv).reshape(b, -1, h, d // h).transpose(1, 2)     # (B, h, Tk, d/h)
        attn = ((qh @ kh.transpose(-2, -1)) * (d // h) ** -0.5).softmax(dim=-1)  # (B, h, Tq, Tk)
        out = (attn @ vh).transpose(1, 2).reshape(b, tq, d)          # (B, Tq, D)
        return self.proj(out), attn


class Downsample(nn.Module):
    """conv3×3 (C → C/2) + PixelUnshuffle(2): (B, C, H, W) -> (B, 2C, H/2, W/2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(dim, dim // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """conv3×3 (C → 2C) + PixelShuffle(2): (B, C, H, W) -> (B, C/2, 2H, 2W)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(dim, dim * 2, 3, padding=1, bias=False), nn.PixelShuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class Passthrough(nn.Module):
    """Stands in for a switched-off block; accepts the same arguments and returns ``x`` unchanged."""

    def forward(self, x: Tensor, *args, **kwargs) -> Tensor:
        return x


def pad_to_multiple(x: Tensor, multiple: int = 16) -> tuple[Tensor, tuple[int, int]]:
    """Reflect-pad the bottom/right of ``x`` so H and W are multiples of ``multiple``; returns (x, (H, W)).

    Falls back to replicate padding when the image is too small for reflection (pad ≥ size).
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)
