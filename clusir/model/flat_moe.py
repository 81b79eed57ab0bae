r"""Single-stage ("flat") mixture of experts — paper Eqs. (1)–(2), the ablation baseline of PCGRM.

    p(E=e|x) = softmax(wᵀ z)_e                                   (1)
    y = Σ_e p(E=e|x) · Expert_e(x)                               (2)

Eq. (2) sums over all M experts: with ``top_k = M`` (config ``flat_top_k="all"``) :class:`DenseFlatRouter`
runs every expert with the softmax of Eq. (1) as its weights, exactly as written. The sparse variant
(:class:`FlatRouter`, a deviation) runs the ``top_k`` most probable experts and renormalises their weights; its
default budget is PCGRM's, ``M = N·E`` experts with ``K1·K2`` active, so that ablation changes *only* the
routing. The routing token z is PCGRM's (:class:`~clusir.model.routing.RoutingToken`) for the same reason.
Book: chapter 03 (flat vs two-stage routing).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from clusir.model.aux_losses import cv_squared, expert_importance
from clusir.model.common import GDFN, LayerNorm2d, fp32_region, upcast
from clusir.model.routing import RoutedOutput, RoutingToken, StageRouting, dispatch


class FlatRouter(nn.Module):
    r"""Eq. (1) plus top-k renormalisation. Shapes: z (B, C) -> p (B, M), index (B, k), weight (B, k)."""

    def __init__(self, dim: int, num_experts: int, top_k: int) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"FlatRouter: top_k={top_k} must be in [1, num_experts={num_experts}]")
        self.w = nn.Linear(dim, num_experts)
        self.top_k = top_k

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        p = self.w(upcast(z)).softmax(dim=-1)                                  # (B, M)  Eq. (1)
        top, index = p.topk(self.top_k, dim=-1)                                 # (B, k)
        return p, index, top / top.sum(dim=-1, keepdim=True)                    # renormalised weights


class DenseFlatRouter(FlatRouter):
    r"""Eq. (2) as written: every expert, weighted by the full softmax of Eq. (1) (no top-k, no renormalising).

    Shapes: z (B, C) -> p (B, M), index (B, M) = 0..M−1 on every row, weight (B, M) = p
    """

    def __init__(self, dim: int, num_experts: int) -> None:
        super().__init__(dim, num_experts, num_experts)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        p = self.w(upcast(z)).softmax(dim=-1)                                  # (B, M)  Eq. (1)
        index = torch.arange(p.shape[-1], device=p.device).expand(p.shape[0], -1)  # (B, M)
        return p, index, p


class FlatMoE(nn.Module):
    r"""Flat MoE block ``x + Σ_e p_e Expert_e(LN(x))`` over the top-k experts — Eqs. (1)–(2).

    Args: dim C, num_experts M (config ``flat_experts``), top_k (config ``flat_top_k``; ``= M``: the dense
    :class:`DenseFlatRouter`, Eq. (2) as written), expert_expansion (expert GDFN width), bias.
    Shapes: x (B, C, H, W) -> RoutedOutput(x, routing, stage_prompt = z (B, C), tokens (B, 1, C), aux)
    """

    def __init__(self, dim: int, num_experts: int = 21, top_k: int = 4, expert_expansion: float = 2.7,
                 bias: bool = False) -> None:
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.token = RoutingToken(dim)
        self.router = DenseFlatRouter(dim, num_experts) if top_k == num_experts else FlatRouter(dim, num_experts,
                                                                                                   top_k)
        self.experts = nn.ModuleList(GDFN(dim, expert_expansion, bias) for _ in range(num_experts))

    def forward(self, x: Tensor, return_affinity: bool = False) -> RoutedOutput:
        u = self.norm(x)                                                        # (B, C, H, W)
        with fp32_region(x):
            z = self.token(u)                                                   # (B, C) routing token
            p, index, weight = self.router(z)                                   # (B, M), (B, k), (B, k)
        y = dispatch(self.experts, u, index, weight)                           # Eq. (2)
        routing = StageRouting(posterior=p, clusters=index.new_zeros(index.shape[0], 1),
                               cluster_weights=torch.ones_like(weight[:, :1]), experts=index[:, None],
                               expert_weights=weight[:, None], routing_token=z, degradation_prompt=None)
        aux = {"balance": cv_squared(p.sum(0)) + cv_squared(expert_importance(index, weight, len(self.experts)))}
        return RoutedOutput(x=x + y.to(x.dtype), routing=routing, stage_prompt=z, tokens=z[:, None], aux=aux)
