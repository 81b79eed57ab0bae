r"""The ClusIR U-Net (paper §3.1, Fig. 2; wiring in architecture.md §4.2–§4.5).

    I (B, 3, H, W) ──reflect-pad to 16──► conv3×3 ─► [WTB → MoE] ×4 stages (C, 2C, 4C, 8C; H, H/2, H/4, H/8)
        stage prompts p1..p3 + stage-4 tokens ─► SemanticPromptFusion ─► p̂1, p̂2, p̂3 ─► PGB_ℓ maps
    latent ─► DAFMM(8C, PGB3) ─► Up ⊕ skip3 ─► 1×1 ─► Restormer ×6 (4C) ─► DAFMM(4C, PGB2)
           ─► Up ⊕ skip2 ─► 1×1 ─► Restormer ×6 (2C) ─► DAFMM(2C, PGB1) ─► Up ⊕ skip1 (2C)
           ─► Restormer ×4 ─► refinement ×R ─► conv3×3 ─► + I ─► crop to (H, W)

All ablation switches are resolved here, at construction: ``moe`` picks the routed block class (PCGRM, flat,
dense stand-in or none), ``dafmm=False`` replaces the prompt path and the DAFMMs by :class:`Passthrough`
stand-ins. ``forward`` has no config branches.
Book: chapter 09 (ClusIR assembled).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from clusir.model.common import Downsample, Passthrough, TransformerBlock, Upsample, pad_to_multiple
from clusir.model.config import ModelConfig
from clusir.model.dafmm import DAFMM
from clusir.model.dense import DenseBlock
from clusir.model.flat_moe import FlatMoE
from clusir.model.pcgrm import PCGRMMoE
from clusir.model.prompts import PromptGenBlock, SemanticPromptFusion
from clusir.model.routing import RoutedOutput, StageRouting, UnroutedBlock
from clusir.model.wtb import WTB

#: H and W are padded to a multiple of this (3 downsamplings + the DWT of the stage-4 WTB).
PAD_MULTIPLE = 16


@dataclass
class ClusIROutput:
    """What :meth:`ClusIR.forward` returns.

    image     (B, 3, H, W) restored image (same size as the input; not clamped)
    aux_loss  0-d float32 tensor: ``orth_weight · aux["orth"] + balance_weight · aux["balance"]`` (0 if none)
    aux       unweighted named terms, each summed over the routed stages: ``"orth"`` (PCGRM only),
              ``"balance"`` (PCGRM and flat); empty for ``moe="none"``
    routing   one :class:`StageRouting` per encoder stage; empty for ``moe="none"``
    """

    image: Tensor
    aux_loss: Tensor
    aux: dict[str, Tensor] = field(default_factory=dict)
    routing: list[StageRouting] = field(default_factory=list)


def _routed_block(cfg: ModelConfig, s: int) -> nn.Module:
    """The MoE block of stage ``s`` for ``cfg.moe`` (the only place that reads the switch).

    Each keyword is the ``ModelConfig`` field of the same name, at stage ``s``.
    """
    c = cfg.stage_dims[s]
    if cfg.moe == "pcgrm":
        return PCGRMMoE(dim=c, heads=cfg.heads[s], prototypes=cfg.prototypes[s], k1=cfg.k1_at(s),
                        experts_per_cluster=cfg.experts_per_cluster_at(s), k2=cfg.k2,
                        expert_expansion=cfg.expert_expansion, temperature=cfg.temperature,
                        proto_init=cfg.proto_init, sigma_init=cfg.sigma_init, prompt_noise=cfg.prompt_noise,
                        bias=cfg.bias)
    if cfg.moe == "flat":                                   # M = flat_experts, k = flat_top_k, resolved per stage
        return FlatMoE(dim=c, num_experts=cfg.flat_experts_at(s), top_k=cfg.flat_top_k_at(s),
                       expert_expansion=cfg.expert_expansion, bias=cfg.bias)
    if cfg.moe == "dense":
        return DenseBlock(dim=c, active_experts=cfg.active_experts_at(s), expert_expansion=cfg.expert_expansion,
                          bias=cfg.bias)
    return UnroutedBlock()


class ClusIR(nn.Module):
    """ClusIR restoration network. Build it with :func:`clusir.model.build_model`.

    Numbering: encoder stage ``s = 0..3`` in code is the paper's stage s + 1 (channels C_s = dim · 2^s at
    H/2^s). Decoder *level* ``ℓ = 1, 2, 3`` (index ``ℓ − 1`` in ``pgb``, ``dafmm``, ``up``, ``reduce``,
    ``decoder`` and in the semantic prompts p̂_ℓ) runs deepest first: its DAFMM modulates the features coming up
    from stage ℓ (C_ℓ channels, driven by the prompt map of PGB_ℓ(p̂_ℓ)), ``up`` brings them to stage ℓ − 1,
    which is concatenated with skip ℓ − 1 (stage ℓ − 1's output) and ``reduce``-d, then the level's Restormer
    blocks run. Level 1 keeps 2C channels (``reduce`` is the identity there).
    Shapes: x (B, 3, H, W) in [0, 1], any H, W -> ClusIROutput with image (B, 3, H, W)
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        dims = cfg.stage_dims                                                  # (C, 2C, 4C, 8C)
        self.embed = nn.Conv2d(3, cfg.dim, 3, padding=1, bias=cfg.bias)
        self.encoder = nn.ModuleList(
            nn.Sequential(*(WTB(dim=dims[s], heads=cfg.heads[s], sr=cfg.sr_ratios[s],
                                expansion=cfg.ffn_expansion, bias=cfg.bias) for _ in range(cfg.wtb_blocks[s])))
            for s in range(4))
        self.moe = nn.ModuleList(_routed_block(cfg, s) for s in range(4))
        self.down = nn.ModuleList(Downsample(dims[s]) for s in range(3))
        self._build_prompt_path(cfg)
        # decoder level ℓ = i + 1: up[i] C_{i+1} -> C_i, concat skip i, reduce, Restormer blocks
        self.up = nn.ModuleList(Upsample(dims[i + 1]) for i in range(3))
        self.reduce = nn.ModuleList([nn.Identity()] + [nn.Conv2d(2 * dims[i], dims[i], 1, bias=cfg.bias)
                                                       for i in (1, 2)])
        level_dims = (2 * cfg.dim, dims[1], dims[2])                             # level 1 keeps 2C channels
        self.decoder = nn.ModuleList(
            nn.Sequential(*(TransformerBlock(dim=level_dims[i], heads=cfg.decoder_heads[i],
                                             expansion=cfg.ffn_expansion, bias=cfg.bias)
                            for _ in range(cfg.decoder_blocks[i])))
            for i in range(3))
        self.refinement = nn.Sequential(*(TransformerBlock(dim=2 * cfg.dim, heads=cfg.decoder_heads[0],
                                                           expansion=cfg.ffn_expansion, bias=cfg.bias)
                                          for _ in range(cfg.refinement_blocks)))
        self.output = nn.Conv2d(2 * cfg.dim, 3, 3, padding=1, bias=cfg.bias)
        self.aux_weights = {"orth": cfg.orth_weight, "balance": cfg.balance_weight}

    def _build_prompt_path(self, cfg: ModelConfig) -> None:
        """Semantic prompt fusion, PGB_ℓ and DAFMM_ℓ (ℓ = 1, 2, 3 at index ℓ − 1, on C_ℓ channels at H/2^ℓ), or
        :class:`Passthrough` stand-ins for ``dafmm=False``."""
        dims = cfg.stage_dims
        if not cfg.dafmm:
            self.prompt_fusion = Passthrough()
            self.pgb = nn.ModuleList(Passthrough() for _ in range(3))
            self.dafmm = nn.ModuleList(Passthrough() for _ in range(3))
            return
        self.prompt_fusion = SemanticPromptFusion(dims, prompt_dim=cfg.prompt_dim, prompt_heads=cfg.prompt_heads)
        self.pgb = nn.ModuleList(PromptGenBlock(prompt_dim=cfg.prompt_dim, channels=dims[i + 1],
                                                size=cfg.prompt_sizes[i], components=cfg.prompt_components)
                                 for i in range(3))
        self.dafmm = nn.ModuleList(DAFMM(dim=dims[i + 1], map_channels=dims[i + 1], groups=cfg.fsb_groups,
                                         kernel=cfg.fsb_kernel) for i in range(3))

    def encode(self, f: Tensor, return_affinity: bool = False) -> list[RoutedOutput]:
        """Encoder stages 0..3 (WTBs, then the routed block; downsampling between stages): one output each.

        Shapes: f (B, C, H16, W16) -> 4 × RoutedOutput, x (B, C_s, H16/2^s, W16/2^s)
        """
        stages = [self.moe[0](self.encoder[0](f), return_affinity)]
        for down, wtb, moe in zip(self.down, self.encoder[1:], self.moe[1:]):
            stages.append(moe(wtb(down(stages[-1].x)), return_affinity))
        return stages

    def decode(self, latent: Tensor, skips: list[Tensor], semantic_prompts: tuple[Tensor, ...]) -> Tensor:
        """Decoder levels 3, 2, 1, deepest first (see the class docstring).

        Shapes: latent (B, 8C, H16/8, W16/8), skips 3 × (B, C_s, ...), semantic_prompts 3 × (B, D)
        -> (B, 2C, H16, W16)
        """
        f = latent
        levels = zip(semantic_prompts, self.pgb, self.dafmm, self.up, skips, self.reduce, self.decoder)
        for p_hat, pgb, dafmm, up, skip, reduce, blocks in reversed(list(levels)):
            f = dafmm(f, pgb(p_hat, f.shape[-2:]))                              # (B, C_ℓ, ...) prompt map of p̂_ℓ
            f = reduce(torch.cat([up(f), skip], dim=1))                         # (B, C_{ℓ−1} or 2C, 2×)
            f = blocks(f)
        return f

    def forward(self, x: Tensor, return_affinity: bool = False) -> ClusIROutput:
        inp, (h, w) = pad_to_multiple(x, PAD_MULTIPLE)                         # (B, 3, H16, W16)
        stages = self.encode(self.embed(inp), return_affinity)                 # 4 × RoutedOutput
        *upper, deepest = stages                                                # stages 0..2, stage 3 (latent)
        semantic_prompts = self.prompt_fusion([o.stage_prompt for o in upper], deepest.tokens)  # 3 × (B, D)
        f = self.decode(deepest.x, [o.x for o in upper], semantic_prompts)     # (B, 2C, H16, W16)
        image = self.output(self.refinement(f)) + inp                          # (B, 3, H16, W16)
        aux_terms = [o.aux for o in stages]
        aux = {k: sum(t[k] for t in aux_terms if k in t) for k in sorted({k for t in aux_terms for k in t})}
        aux_loss = sum((self.aux_weights[k] * v.float() for k, v in aux.items()), x.new_zeros((), dtype=torch.float32))
        routing = [o.routing for o in stages if o.routing is not None]
        return ClusIROutput(image[..., :h, :w], aux_loss, aux, routing)
