r"""Semantic prompt fusion and the Prompt Generation Block (PGB) — paper §3.1, PGB from PromptIR [38].

    q_i  = Linear_i(p_i)            i = 1, 2, 3 (stage prompts p_i, = 𝒫 of Eq. (7) for PCGRM; widths C, 2C, 4C)
    kv   = Linear(t^(4))            the K1 cluster tokens of stage 4 (width 8C)
    p̂_i = q_i + MHCA(LN(q_i), LN(kv), LN(kv))                        (fixed width D = 256, 8 heads)

    PGB(p̂):  w = softmax(Linear(p̂)) ∈ R^L;  prompt map = Σ_l w_l Π_l  (Π ∈ R^{L×C_p×S×S});
             bilinear resize to the feature size; conv3×3

Deviations (architecture.md §6.10–6.11): the paper says only "integrated with p4 via multi-head
cross-attention"; we use a shared 256-d space with keys/values = stage-4 cluster tokens and a residual. PromptIR
drives the PGB weights from GAP of the features; here the semantic prompt drives them; L = 3 components.
Book: chapter 06 (semantic prompts, PGB).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from clusir.model.common import CrossAttention


class SemanticPromptFusion(nn.Module):
    r"""Stage prompts p1, p2, p3 attend to the stage-4 tokens → semantic prompts p̂1, p̂2, p̂3.

    Args:
        stage_dims: (C_1, C_2, C_3, C_4).   prompt_dim: D.   prompt_heads: attention heads.
    Shapes: stage_prompts 3 × (B, C_s), tokens (B, T, C_4) -> 3 × (B, D)
    """

    def __init__(self, stage_dims: tuple[int, ...], prompt_dim: int = 256, prompt_heads: int = 8) -> None:
        super().__init__()
        self.q_proj = nn.ModuleList(nn.Linear(c, prompt_dim) for c in stage_dims[:3])
        self.kv_proj = nn.Linear(stage_dims[3], prompt_dim)
        self.norm_q = nn.LayerNorm(prompt_dim)
        self.norm_kv = nn.LayerNorm(prompt_dim)
        self.attn = CrossAttention(prompt_dim, prompt_heads)

    def forward(self, stage_prompts: list[Tensor], tokens: Tensor) -> tuple[Tensor, ...]:
        q = torch.stack([proj(p) for proj, p in zip(self.q_proj, stage_prompts)], dim=1)  # (B, 3, D)
        kv = self.norm_kv(self.kv_proj(tokens))                                       # (B, T, D)
        p_hat = q + self.attn(self.norm_q(q), kv)[0]                                  # (B, 3, D)
        return p_hat.unbind(dim=1)                                                    # 3 × (B, D)


class PromptGenBlock(nn.Module):
    r"""PGB: a prompt map from L learned components mixed by weights predicted from the semantic prompt p̂.

    Args:
        prompt_dim: D.   channels: C_p (of the prompt map).   size: S (component side).   components: L.
    Shapes: p_hat (B, D), size (H, W) -> (B, C_p, H, W)
    """

    def __init__(self, prompt_dim: int, channels: int, size: int, components: int = 3) -> None:
        super().__init__()
        self.components = nn.Parameter(torch.rand(components, channels, size, size))  # Π (L, C_p, S, S)
        self.weights = nn.Linear(prompt_dim, components)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, p_hat: Tensor, size: tuple[int, int]) -> Tensor:
        w = self.weights(p_hat).softmax(dim=-1)                                      # (B, L)
        prompt_map = torch.einsum("bl,lchw->bchw", w, self.components.to(w.dtype))  # (B, C_p, S, S)
        prompt_map = F.interpolate(prompt_map, size=tuple(size), mode="bilinear", align_corners=False)  # (B, C_p, H, W)
        return self.conv(prompt_map)
