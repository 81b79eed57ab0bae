r"""Wavelet-based Transformer Block (WTB), the encoder block of every ClusIR stage (paper §3.1, ref. [59]).

Wave-ViT's wavelet attention adapted to a full-resolution restoration U-Net (architecture.md §3.4):

    queries   q = W_q x                                    at full resolution (H·W tokens)
    KV path   r = ReLU(BN(W_r x))                          1×1, C → C/4
              s = ReLU(BN(Conv3x3(DWT(r))))                C channels at H/2 (LL|H|V|D of the C/4 map)
              kv = Linear(LN(Conv_{sr×sr, stride sr}(s)))  (H/2sr)·(W/2sr) key/value tokens
    IDWT path x_idwt = IDWT(s)                             C/4 channels back at H×W
    out = W_o [ Attn(q, k, v) , x_idwt ]                   (C + C/4) → C

    WTB(x):  x ← x + WaveAttention(LN(x));  x ← x + GDFN(LN(x))

Deviation: Wave-ViT's FFN is PVT2FFN; we use GDFN (γ 2.66) like the rest of the AdaIR family, and
Restormer's channel LayerNorm (arch §6.2). Stage heads (1, 2, 4, 8) and SR ratios (4, 2, 1, 1) (arch §4.1).
Book: chapter 02 (wavelets, WTB).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from clusir.model.common import GDFN, LayerNorm2d
from clusir.model.wavelets import haar_dwt, haar_idwt


class WaveAttention(nn.Module):
    r"""Wave-ViT attention: full-resolution queries, keys/values from a DWT-downsampled, filtered copy.

    Args:
        dim: channels C (multiple of 4).   heads: attention heads.   sr: extra key/value stride after the DWT.
    Shapes: x (B, C, H, W) -> (B, C, H, W); H, W divisible by 2·sr.
    """

    def __init__(self, dim: int, heads: int, sr: int = 1, bias: bool = False) -> None:
        super().__init__()
        if dim % 4 or dim % heads:
            raise ValueError(f"WaveAttention: dim={dim} must be a multiple of 4 and of heads={heads}")
        self.heads = heads
        self.q = nn.Conv2d(dim, dim, 1, bias=bias)
        self.reduce = nn.Sequential(nn.Conv2d(dim, dim // 4, 1, bias=bias), nn.BatchNorm2d(dim // 4), nn.ReLU())
        self.filter = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1, bias=bias), nn.BatchNorm2d(dim), nn.ReLU())
        self.kv_embed = nn.Conv2d(dim, dim, sr, stride=sr, bias=bias) if sr > 1 else nn.Identity()
        self.kv_norm = nn.LayerNorm(dim)
        self.kv = nn.Linear(dim, 2 * dim, bias=bias)
        self.proj = nn.Conv2d(dim + dim // 4, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        nh = self.heads
        q = self.q(x).reshape(b, nh, c // nh, h * w).transpose(-2, -1)         # (B, h, HW, C/h)
        ll, high = haar_dwt(self.reduce(x))                                     # (B, C/4, H/2, W/2), (B, 3C/4, ..)
        s = self.filter(torch.cat([ll, high], dim=1))                           # (B, C, H/2, W/2)
        x_idwt = haar_idwt(*s.split([c // 4, 3 * c // 4], dim=1))              # (B, C/4, H, W)
        kv = self.kv_embed(s).flatten(2).transpose(1, 2)                        # (B, Nkv, C)
        kv = self.kv(self.kv_norm(kv))                                          # (B, Nkv, 2C)
        k, v = kv.reshape(b, -1, 2, nh, c // nh).permute(2, 0, 3, 1, 4)         # 2 × (B, h, Nkv, C/h)
        out = F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype))   # (B, h, HW, C/h)
        out = out.transpose(-2, -1).reshape(b, c, h, w)                         # (B, C, H, W)
        return self.proj(torch.cat([out, x_idwt.to(out.dtype)], dim=1))


class WTB(nn.Module):
    """Wavelet-based Transformer Block. Shapes: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, dim: int, heads: int, sr: int = 1, expansion: float = 2.66, bias: bool = False) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.attn = WaveAttention(dim, heads, sr, bias)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GDFN(dim, expansion, bias)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))
