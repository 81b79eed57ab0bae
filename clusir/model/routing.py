"""What a routed encoder block returns, and the sparse expert dispatch shared by the flat and PCGRM MoEs.

Every routed block (``PCGRMMoE``, ``FlatMoE``, ``UnroutedBlock``) returns one :class:`RoutedOutput`, so the
network wires all ``moe`` variants identically (style guide §7). Routing diagnostics travel in
:class:`StageRouting` through :class:`clusir.model.ClusIROutput` — never through global state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


@dataclass
class StageRouting:
    """Routing diagnostics of one encoder stage (one image per row).

    PCGRM (Eqs. (3)–(10)):
        posterior        (B, N)       full cluster softmax α̂, Eq. (5) (kept for visualisation)
        clusters         (B, K1)      chosen cluster indices (long), by decreasing α̂
        cluster_weights  (B, K1)      α, top-K1 renormalised, Eq. (6)
        experts          (B, K1, K2)  chosen experts as *global* indices ``cluster · E + e`` (long)
        expert_weights   (B, K1, K2)  p(e | c, x), top-K2 renormalised, Eq. (10)
        pooled           (B, C_s)     the routing token z (GAP → Linear → LayerNorm), for t-SNE (Figs. 5/7)
        prompt           (B, C_s)     the degradation prompt 𝒫 of Eq. (7)
        affinity         (B, N, H_s, W_s) per-pixel cosine affinity to the prototypes (Figs. 6/9), only
                         with ``return_affinity=True``, else None
    Flat router (Eqs. (1)–(2)) read as a single cluster: ``posterior`` = the Eq. (1) softmax over all M experts
    (B, M); ``clusters`` = zeros (B, 1); ``cluster_weights`` = ones (B, 1); ``experts``/``expert_weights``
    (B, 1, k) = the chosen experts and their renormalised weights; ``prompt`` = ``pooled``; ``affinity`` None.
    """

    posterior: Tensor
    clusters: Tensor
    cluster_weights: Tensor
    experts: Tensor
    expert_weights: Tensor
    pooled: Tensor
    prompt: Tensor
    affinity: Tensor | None = None


@dataclass
class RoutedOutput:
    """Output of a routed block: features, diagnostics, the stage prompt p_s and its tokens, aux terms."""

    x: Tensor                                   # (B, C, H, W)
    routing: StageRouting | None                # None for moe="none"
    prompt: Tensor                              # (B, C) p_s, the input of semantic prompt fusion
    tokens: Tensor                              # (B, T, C) key/value tokens (T = K1 for PCGRM, 1 otherwise)
    aux: dict[str, Tensor] = field(default_factory=dict)  # unweighted auxiliary terms of this stage


def dispatch(experts: nn.ModuleList, u: Tensor, index: Tensor, weight: Tensor) -> Tensor:
    r"""Sparse mixture ``Σ_j weight[b, j] · Expert_{index[b, j]}(u[b])``, one call per *chosen expert*.

    Each expert runs once on the sub-batch of images that selected it (no per-sample loop); unselected
    experts do not run and receive no gradient.
    Shapes: u (B, C, H, W), index (B, J) long, weight (B, J) -> (B, C, H, W)
    """
    out = torch.zeros_like(u)
    for e in torch.unique(index).tolist():
        rows, slot = (index == e).nonzero(as_tuple=True)           # images that picked expert e, and where
        y = experts[e](u[rows])                                     # (b_e, C, H, W)
        w = weight[rows, slot].to(y.dtype).view(-1, 1, 1, 1)        # (b_e, 1, 1, 1)
        out = out.index_add(0, rows, (w * y).to(out.dtype))
    return out


class UnroutedBlock(nn.Module):
    """``moe="none"`` (Table 4 (a)): no MoE; the stage prompt is the parameter-free GAP of the features."""

    def forward(self, x: Tensor, return_affinity: bool = False) -> RoutedOutput:
        p = x.mean(dim=(2, 3))                                      # (B, C)
        return RoutedOutput(x, None, p, p[:, None])
