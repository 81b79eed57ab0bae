r"""Probabilistic Cluster-Guided Routing Mechanism (PCGRM) and its MoE block — paper Eqs. (3)–(10).

    y(x) = Σ_c p(C=c|x) Σ_e p(E=e|c,x) · Expert_e(x)                                  (3)

Stage 1, cluster posterior (:class:`ClusterPosterior`, Eqs. (4)–(6)); degradation prompt 𝒫
(:class:`GaussianPrompt`, Eq. (7)); cross-attention gate (:class:`GateAttention`, Eq. (8)); stage 2, per-cluster expert gates
(:class:`ClusterGate`, Eqs. (9)–(10)); the block (:class:`PCGRMMoE`, Eq. (3)) runs as a pre-norm residual
``x + Σ … Expert(LN(x))`` after the stage's WTB (architecture.md §6.3).

Routing and gating are computed in float32 even under autocast, so top-k decisions do not flip with the
precision. Book: chapters 03–05 (router).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from clusir.model.aux_losses import cv_squared, expert_importance, prototype_orthogonality
from clusir.model.common import GDFN, CrossAttention, LayerNorm2d, fp32_region, upcast
from clusir.model.routing import RoutedOutput, RoutingToken, StageRouting, dispatch


@dataclass
class PosteriorOutput:
    """alpha (B, K1) Eq. (6); index (B, K1) long; alpha_full (B, N) Eq. (5); sim (B, N) Eq. (4)."""

    alpha: Tensor
    index: Tensor
    alpha_full: Tensor
    sim: Tensor


class ClusterPosterior(nn.Module):
    r"""Cluster posterior p(C=c|x) over N prototypes on the unit sphere — Eqs. (4)–(6).

        sim_c  = <z, P_c> / (|z| |P_c|)                       (4)
        α̂_c   = softmax_c(sim_c / τ)                         (5)
        α_c    = α̂_c / Σ_{i∈topK1} α̂_i ,  c ∈ topK1          (6)   (= softmax over the selected sims)

    Args:
        dim: width C of the routing token z.   num_prototypes: N.   top_k: K1.
        tau: temperature. Deviation: the paper has none (τ = 1 default); exposed for ablation (arch §6.7).
        init: "orthogonal" (rows orthonormal, paper Table 9) or "random" (uniform in [−1, 1]).
    Shapes: z (B, C) -> PosteriorOutput
    """

    def __init__(self, dim: int, num_prototypes: int, top_k: int, tau: float = 1.0, init: str = "orthogonal") -> None:
        super().__init__()
        if not 1 <= top_k <= num_prototypes:
            raise ValueError(f"ClusterPosterior: top_k={top_k} must be in [1, num_prototypes={num_prototypes}]")
        self.prototypes = nn.Parameter(torch.empty(num_prototypes, dim))   # P (N, C)
        self.top_k = top_k
        self.tau = tau
        if init == "orthogonal":
            nn.init.orthogonal_(self.prototypes)
        elif init == "random":
            nn.init.uniform_(self.prototypes, -1.0, 1.0)
        else:
            raise ValueError(f"ClusterPosterior: init={init!r} must be 'orthogonal' or 'random'")

    def unit_prototypes(self) -> Tensor:
        """P̂: prototypes re-projected onto the unit sphere at every call (N, C), float32."""
        return F.normalize(upcast(self.prototypes), dim=-1)

    def forward(self, z: Tensor) -> PosteriorOutput:
        sim = F.normalize(upcast(z), dim=-1) @ self.unit_prototypes().T          # (B, N)   Eq. (4)
        alpha_full = (sim / self.tau).softmax(dim=-1)                           # (B, N)   Eq. (5)
        top, index = alpha_full.topk(self.top_k, dim=-1)                        # (B, K1)
        alpha = top / top.sum(dim=-1, keepdim=True)                             # (B, K1)  Eq. (6)
        return PosteriorOutput(alpha, index, alpha_full, sim)


class GaussianPrompt(nn.Module):
    r"""Degradation prompt from the clusters' Gaussian priors N(μ_c, diag σ_c²) — Eq. (7).

        t_c = α_c (μ_c + σ_c ⊙ ε_c),   𝒫 = Σ_{c∈topK1} t_c,   ε_c ~ N(0, I) in training, ε = 0 in eval

    Deviation (arch §6.8): μ_c is tied to the prototype, ``μ_c = √C · P̂_c`` (the √C puts it on the scale of the
    LayerNorm-ed token z); σ_c = softplus(``sigma_raw``) is a free parameter initialised to ``sigma_init``.
    Args:
        dim: C.   num_prototypes: N.   sigma_init: σ at initialisation.   noise: draw ε while training.
    Shapes: alpha (B, K1), index (B, K1), unit_prototypes (N, C) -> tokens t_c (B, K1, C), 𝒫 (B, C)
    """

    def __init__(self, dim: int, num_prototypes: int, sigma_init: float = 0.1, noise: bool = True) -> None:
        super().__init__()
        raw = math.log(math.expm1(sigma_init))                               # softplus⁻¹(σ_init)
        self.sigma_raw = nn.Parameter(torch.full((num_prototypes, dim), raw))
        self.noise = noise
        self.scale = math.sqrt(dim)

    @property
    def sigma(self) -> Tensor:
        """σ (N, C) = softplus(sigma_raw)."""
        return F.softplus(upcast(self.sigma_raw))

    def forward(self, alpha: Tensor, index: Tensor, unit_prototypes: Tensor) -> tuple[Tensor, Tensor]:
        mu = unit_prototypes[index] * self.scale                                # (B, K1, C)
        if self.training and self.noise:
            mu = mu + self.sigma[index] * torch.randn_like(mu)                 # reparameterisation
        tokens = alpha.unsqueeze(-1) * mu                                       # (B, K1, C)
        return tokens, tokens.sum(dim=1)                                        # Eq. (7): 𝒫 (B, C)


class GateAttention(CrossAttention):
    r"""``g = CrossAttn(x, 𝒫, 𝒫)`` — Eq. (8).

    Deviation (arch §6.9): the query is the routing token z and the keys/values are the K1 weighted cluster
    tokens t_c of Eq. (7) (their sum 𝒫 as a single key would make the attention trivially 1).
    Shapes: z (B, C), tokens (B, K1, C) -> g (B, C), attn (B, heads, 1, K1)
    """

    def forward(self, z: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:       # type: ignore[override]
        g, attn = super().forward(z.unsqueeze(1), tokens)                       # (B, 1, C)
        return g.squeeze(1), attn


@dataclass
class GateOutput:
    """pi (B, K1, E) Eq. (9); index (B, K1, K2) local expert ids; weight (B, K1, K2) Eq. (10); logits."""

    pi: Tensor
    index: Tensor
    weight: Tensor
    logits: Tensor


class ClusterGate(nn.Module):
    r"""Per-cluster expert gates — Eqs. (9)–(10).

        π_c = softmax(W_c g + b_c)                                             (9)
        p(e|c,x) = exp([W_c g + b_c]_e) / Σ_{e'∈topK2} exp([W_c g + b_c]_e')   (10)

    Args: dim C, num_clusters N, num_experts E (per cluster), top_k K2 (≥ 2 so W_c gets a gradient).
    Shapes: g (B, C), clusters (B, K1) -> GateOutput
    """

    def __init__(self, dim: int, num_clusters: int, num_experts: int, top_k: int) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"ClusterGate: top_k={top_k} must be in [1, num_experts={num_experts}]")
        self.weight = nn.Parameter(torch.randn(num_clusters, num_experts, dim) * dim**-0.5)  # W (N, E, C)
        self.bias = nn.Parameter(torch.zeros(num_clusters, num_experts))                    # b (N, E)
        self.top_k = top_k

    def forward(self, g: Tensor, clusters: Tensor) -> GateOutput:
        w = upcast(self.weight)[clusters]                                       # (B, K1, E, C)
        logits = torch.einsum("bkec,bc->bke", w, upcast(g)) + upcast(self.bias)[clusters]  # (B, K1, E)
        pi = logits.softmax(dim=-1)                                             # (B, K1, E)   Eq. (9)
        top, index = logits.topk(self.top_k, dim=-1)                            # (B, K1, K2)
        return GateOutput(pi, index, top.softmax(dim=-1), logits)               # Eq. (10)


class PCGRMMoE(nn.Module):
    r"""The PCGRM mixture-of-experts block — Eq. (3), as a pre-norm residual:
    ``x + Σ_c α_c Σ_e p(e|c) E_{c,e}(LN(x))``.

    Routing is per image (arch §6.5) from the routing token z (:class:`~clusir.model.routing.RoutingToken`).
    Each cluster owns E GDFN experts (global index c·E + e, arch §6.4); only the K1·K2 chosen experts run, each
    over the sub-batch that chose it. The arguments carry the names of the :class:`~clusir.model.ModelConfig`
    fields they come from (one stage's value); the equation modules inside use the paper's symbols
    (``num_prototypes`` N, ``top_k`` K, ``tau`` τ).
    Args:
        dim C, heads (Eq. (8)), prototypes N (number of prototypes), k1 K1, experts_per_cluster E, k2 K2,
        expert_expansion (expert GDFN width), temperature τ (Eq. (5)), proto_init, sigma_init (σ, Eq. (7)),
        prompt_noise (ε of Eq. (7) while training), bias (expert convs).
    Submodules: ``token`` z, ``posterior`` Eqs. (4)–(6), ``prompt`` the Eq. (7) module (its output is the
    degradation prompt 𝒫), ``gate_attn`` Eq. (8), ``gate`` Eqs. (9)–(10), ``experts``.
    Shapes: x (B, C, H, W) -> RoutedOutput(x (B, C, H, W), routing, stage_prompt 𝒫 (B, C), tokens (B, K1, C), aux)
    """

    def __init__(self, dim: int, heads: int = 1, prototypes: int = 3, k1: int = 2, experts_per_cluster: int = 7,
                 k2: int = 2, expert_expansion: float = 2.7, temperature: float = 1.0, proto_init: str = "orthogonal",
                 sigma_init: float = 0.1, prompt_noise: bool = True, bias: bool = False) -> None:
        super().__init__()
        self.num_experts = experts_per_cluster
        self.norm = LayerNorm2d(dim)
        self.token = RoutingToken(dim)
        self.posterior = ClusterPosterior(dim, num_prototypes=prototypes, top_k=k1, tau=temperature, init=proto_init)
        self.prompt = GaussianPrompt(dim, num_prototypes=prototypes, sigma_init=sigma_init, noise=prompt_noise)
        self.gate_attn = GateAttention(dim, heads)
        self.gate = ClusterGate(dim, num_clusters=prototypes, num_experts=experts_per_cluster, top_k=k2)
        self.experts = nn.ModuleList(GDFN(dim, expert_expansion, bias) for _ in range(prototypes * experts_per_cluster))

    def forward(self, x: Tensor, return_affinity: bool = False) -> RoutedOutput:
        u = self.norm(x)                                                        # (B, C, H, W)
        with fp32_region(x):
            z = self.token(u)                                                   # (B, C) routing token
            post = self.posterior(z)                                            # Eqs. (4)–(6)
            unit = self.posterior.unit_prototypes()                             # (N, C)
            tokens, degradation_prompt = self.prompt(post.alpha, post.index, unit)  # Eq. (7): t_c, 𝒫
            g, _ = self.gate_attn(z, tokens)                                    # Eq. (8)  (B, C)
            gate = self.gate(g, post.index)                                     # Eqs. (9)–(10)
            experts = post.index.unsqueeze(-1) * self.num_experts + gate.index  # (B, K1, K2) global ids
            weights = post.alpha.unsqueeze(-1) * gate.weight                    # (B, K1, K2) Eq. (3)
        y = dispatch(self.experts, u, experts.flatten(1), weights.flatten(1))  # (B, C, H, W)  Eq. (3)
        routing = StageRouting(posterior=post.alpha_full, clusters=post.index, cluster_weights=post.alpha,
                               experts=experts, expert_weights=gate.weight, routing_token=z,
                               degradation_prompt=degradation_prompt,
                               affinity=self.affinity(u, unit) if return_affinity else None)
        aux = {
            "orth": prototype_orthogonality(unit),
            "balance": cv_squared(post.alpha_full.sum(0))
            + cv_squared(expert_importance(experts.flatten(1), weights.flatten(1), len(self.experts))),
        }
        return RoutedOutput(x=x + y.to(x.dtype), routing=routing, stage_prompt=degradation_prompt, tokens=tokens,
                            aux=aux)

    def affinity(self, u: Tensor, unit_prototypes: Tensor) -> Tensor:
        """Per-pixel cosine affinity of the projected features to P̂ (Figs. 6/9): (B, C, H, W) -> (B, N, H, W)."""
        with fp32_region(u):
            t = F.normalize(self.token.project(upcast(u).permute(0, 2, 3, 1)), dim=-1)  # (B, H, W, C)
            return torch.einsum("bhwc,nc->bnhw", t, unit_prototypes)
