r"""What a routed encoder block returns, its routing token, and the sparse expert dispatch of the MoEs.

Every routed block (``PCGRMMoE``, ``FlatMoE``, ``DenseBlock``, ``UnroutedBlock``) returns one
:class:`RoutedOutput`, so the network wires all ``moe`` variants identically (style guide §7). Routing
diagnostics travel in :class:`StageRouting` through :class:`clusir.model.ClusIROutput` — never through global
state. The flat and PCGRM routers read the same :class:`RoutingToken` z.

Names for the word "prompt" (package-wide):
    routing token z       :class:`RoutingToken`, ``StageRouting.routing_token`` — the router's input, §3.2
    degradation prompt 𝒫  Eq. (7), ``GaussianPrompt`` (``PCGRMMoE.prompt``), ``StageRouting.degradation_prompt``
    stage prompt p_s      ``RoutedOutput.stage_prompt`` — what a stage hands to semantic prompt fusion
                          (𝒫 for PCGRM, z for the flat router, the GAP of the features for dense/none)
    semantic prompt p̂_i  ``prompts.SemanticPromptFusion`` output, width D = ``prompt_dim``
    prompt map            ``prompts.PromptGenBlock`` output (B, C_p, H, W), the DAFMM's second input
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from clusir.model.common import upcast


class RoutingToken(nn.Sequential):
    r"""The routing token ``z = LayerNorm(Linear(GAP(u)))`` ("GAP, linear projection and normalisation", §3.2).

    Shared by the flat router (Eq. (1)) and PCGRM (Eq. (4)). A ``Sequential`` (Linear, LayerNorm), so its
    parameters keep the state-dict keys ``token.0.*`` and ``token.1.*``. Computed in float32 (or float64).
    Shapes: u (B, C, H, W) -> z (B, C);   project: (..., C) -> (..., C) (no pooling; per-pixel affinity maps)
    """

    def __init__(self, dim: int) -> None:
        super().__init__(nn.Linear(dim, dim), nn.LayerNorm(dim))

    def forward(self, u: Tensor) -> Tensor:
        return self.project(upcast(u).mean(dim=(2, 3)))                         # (B, C)

    def project(self, t: Tensor) -> Tensor:
        """Linear then LayerNorm on the last dimension."""
        return super().forward(t)


@dataclass
class StageRouting:
    """Routing diagnostics of one encoder stage (one image per row).

    PCGRM (Eqs. (3)–(10)):
        posterior          (B, N)       full cluster softmax α̂, Eq. (5) (kept for visualisation)
        clusters           (B, K1)      chosen cluster indices (long), by decreasing α̂
        cluster_weights    (B, K1)      α, top-K1 renormalised, Eq. (6)
        experts            (B, K1, K2)  chosen experts as *global* indices ``cluster · E + e`` (long)
        expert_weights     (B, K1, K2)  p(e | c, x), top-K2 renormalised, Eq. (10)
        routing_token      (B, C_s)     z (:class:`RoutingToken`), for t-SNE (Figs. 5/7)
        degradation_prompt (B, C_s)     𝒫 of Eq. (7)
        affinity           (B, N, H_s, W_s) per-pixel cosine affinity to the prototypes (Figs. 6/9), only
                           with ``return_affinity=True``, else None
    Flat router (Eqs. (1)–(2)) read as a single cluster: ``posterior`` = the Eq. (1) softmax over all M experts
    (B, M); ``clusters`` = zeros (B, 1); ``cluster_weights`` = ones (B, 1); ``experts``/``expert_weights``
    (B, 1, k) = the experts run and their weights; ``degradation_prompt`` None (no Eq. (7)); ``affinity`` None.
    """

    posterior: Tensor
    clusters: Tensor
    cluster_weights: Tensor
    experts: Tensor
    expert_weights: Tensor
    routing_token: Tensor
    degradation_prompt: Tensor | None
    affinity: Tensor | None = None

    # Transitional read-only aliases (the names before issue 12), kept only until book chapters 4–5 read the
    # new names; do not use in new code.
    @property
    def pooled(self) -> Tensor:
        """Old name of :attr:`routing_token`."""
        return self.routing_token

    @property
    def prompt(self) -> Tensor | None:
        """Old name of :attr:`degradation_prompt`."""
        return self.degradation_prompt


@dataclass
class RoutedOutput:
    """Output of a routed block: features, diagnostics, the stage prompt p_s and its tokens, aux terms."""

    x: Tensor                                   # (B, C, H, W)
    routing: StageRouting | None                # None for moe="none" and "dense"
    stage_prompt: Tensor                        # (B, C) p_s, the input of semantic prompt fusion
    tokens: Tensor                              # (B, T, C) key/value tokens (T = K1 for PCGRM, 1 otherwise)
    aux: dict[str, Tensor] = field(default_factory=dict)  # unweighted auxiliary terms of this stage

    @property
    def prompt(self) -> Tensor:
        """Transitional alias (old name) of :attr:`stage_prompt`, until book chapters 5–6 follow."""
        return self.stage_prompt


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


def dispatch_batched(experts: nn.ModuleList, u: Tensor, index: Tensor, weight: Tensor) -> Tensor:
    r"""The same sum as :func:`dispatch` for GDFN experts, as a fixed set of batched kernels (no host sync).

    Instead of one sub-batch per chosen expert (whose size the host must read), each image gathers the
    weights of its J chosen experts and applies all of them at once: ``W_in`` as one batched matmul, the
    depth-wise 3×3 as one grouped convolution over the B·J·2h channels, ``W_out`` (pre-scaled by the
    routing weights, so the Σ_j is part of the matmul) as another batched matmul. Same FLOPs as
    :func:`dispatch`, shapes independent of the routing (so ``torch.compile(dynamic=False)`` sees one
    graph). Differences: every expert's weights enter the graph, so *unselected experts receive a zero
    gradient instead of None* (Adam then still moves them by their momentum), and the experts must be
    identical :class:`clusir.model.common.GDFN` modules.
    Shapes: u (B, C, H, W), index (B, J) long, weight (B, J) -> (B, C, H, W)
    """
    B, C, H, W = u.shape
    J = index.shape[1]
    e0 = experts[0]
    h2 = e0.project_in.out_channels                                          # 2h
    w_in = torch.stack([e.project_in.weight for e in experts])[index]        # (B, J, 2h, C, 1, 1)
    w_dw = torch.stack([e.dwconv.weight for e in experts])[index]            # (B, J, 2h, 1, 3, 3)
    w_out = torch.stack([e.project_out.weight for e in experts])[index]      # (B, J, C, h, 1, 1)
    t = torch.bmm(w_in.reshape(B, J * h2, C), u.reshape(B, C, H * W))      # (B, J·2h, HW)
    if e0.project_in.bias is not None:
        t = t + torch.stack([e.project_in.bias for e in experts])[index].reshape(B, J * h2, 1)
    b_dw = (torch.stack([e.dwconv.bias for e in experts])[index].reshape(-1)
            if e0.dwconv.bias is not None else None)
    t = F.conv2d(t.reshape(1, B * J * h2, H, W), w_dw.reshape(B * J * h2, 1, *w_dw.shape[-2:]), b_dw,
                 padding=e0.dwconv.padding, groups=B * J * h2)              # (1, B·J·2h, H, W)
    a, b = t.reshape(B, J, 2, h2 // 2, H * W).unbind(2)                      # 2 × (B, J, h, HW)
    g = (F.gelu(a) * b).reshape(B, J * (h2 // 2), H * W)                     # (B, J·h, HW)
    w = weight.to(w_out.dtype).view(B, J, 1, 1)
    w_out = (w * w_out.reshape(B, J, C, h2 // 2)).permute(0, 2, 1, 3)       # (B, C, J, h)
    y = torch.bmm(w_out.reshape(B, C, J * (h2 // 2)), g)                    # (B, C, HW)
    if e0.project_out.bias is not None:
        bias = torch.stack([e.project_out.bias for e in experts])[index]     # (B, J, C)
        y = y + (w.view(B, J, 1) * bias).sum(1)[..., None]
    return y.reshape(B, C, H, W).to(u.dtype)


class UnroutedBlock(nn.Module):
    """``moe="none"`` (Table 4 (a)): no MoE; the stage prompt is the parameter-free GAP of the features."""

    def forward(self, x: Tensor, return_affinity: bool = False) -> RoutedOutput:
        return unrouted_output(x)


def unrouted_output(x: Tensor) -> RoutedOutput:
    """A block's output without routing: the stage prompt is the GAP of ``x`` (B, C), its single token."""
    p = x.mean(dim=(2, 3))                                          # (B, C)
    return RoutedOutput(x=x, routing=None, stage_prompt=p, tokens=p[:, None])
