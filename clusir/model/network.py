r"""The ClusIR U-Net (paper §3.1, Fig. 2; wiring in architecture.md §4.2–§4.5).

    I (B, 3, H, W) ──reflect-pad to 16──► conv3×3 ─► [WTB → MoE] ×4 stages (C, 2C, 4C, 8C; H, H/2, H/4, H/8)
        stage prompts p1..p3 + stage-4 cluster tokens ─► SemanticPromptFusion ─► p̂1, p̂2, p̂3 ─► PGB_i
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
from clusir.model.routing import StageRouting, UnroutedBlock
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
    """The MoE block of stage ``s`` for ``cfg.moe`` (the only place that reads the switch)."""
    c = cfg.stage_dims[s]
    if cfg.moe == "pcgrm":
        return PCGRMMoE(dim=c, heads=cfg.heads[s], num_prototypes=cfg.prototypes[s], k1=cfg.k1_at(s),
                        experts_per_cluster=cfg.experts_per_cluster_at(s), k2=cfg.k2,
                        expansion=cfg.expert_expansion, tau=cfg.temperature, proto_init=cfg.proto_init,
                        sigma_init=cfg.sigma_init, prompt_noise=cfg.prompt_noise, bias=cfg.bias)
    if cfg.moe == "flat":
        return FlatMoE(dim=c, num_experts=cfg.flat_experts_at(s), top_k=cfg.flat_top_k_at(s),
                       expansion=cfg.expert_expansion, bias=cfg.bias)
    if cfg.moe == "dense":
        return DenseBlock(dim=c, active_experts=cfg.active_experts_at(s), expansion=cfg.expert_expansion,
                          bias=cfg.bias)
    return UnroutedBlock()


class ClusIR(nn.Module):
    """ClusIR restoration network. Build it with :func:`clusir.model.build_model`.

    Shapes: x (B, 3, H, W) in [0, 1], any H, W -> ClusIROutput with image (B, 3, H, W)
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        dims = cfg.stage_dims                                                  # (C, 2C, 4C, 8C)
        self.embed = nn.Conv2d(3, cfg.dim, 3, padding=1, bias=cfg.bias)
        self.encoder = nn.ModuleList(
            nn.Sequential(*(WTB(dims[s], cfg.heads[s], cfg.sr_ratios[s], cfg.ffn_expansion, cfg.bias)
                            for _ in range(cfg.wtb_blocks[s])))
            for s in range(4))
        self.moe = nn.ModuleList(_routed_block(cfg, s) for s in range(4))
        self.down = nn.ModuleList(Downsample(dims[s]) for s in range(3))
        # prompt path and DAFMM: index i = 0, 1, 2 <-> p̂1, p̂2, p̂3 <-> channels 2C, 4C, 8C at H/2, H/4, H/8
        if cfg.dafmm:
            self.prompt_fusion = SemanticPromptFusion(dims, cfg.prompt_dim, cfg.prompt_heads)
            self.pgb = nn.ModuleList(PromptGenBlock(cfg.prompt_dim, dims[i + 1], cfg.prompt_sizes[i],
                                                    cfg.prompt_components) for i in range(3))
            self.dafmm = nn.ModuleList(DAFMM(dims[i + 1], dims[i + 1], cfg.fsb_groups, cfg.fsb_kernel)
                                       for i in range(3))
        else:
            self.prompt_fusion = Passthrough()
            self.pgb = nn.ModuleList(Passthrough() for _ in range(3))
            self.dafmm = nn.ModuleList(Passthrough() for _ in range(3))
        # decoder level i + 1 (i = 0, 1, 2): up[i] C_{i+1} -> C_i, concat skip i, reduce, Restormer blocks
        self.up = nn.ModuleList(Upsample(dims[i + 1]) for i in range(3))
        self.reduce = nn.ModuleList([nn.Identity()] + [nn.Conv2d(2 * dims[i], dims[i], 1, bias=cfg.bias)
                                                       for i in (1, 2)])
        level_dims = (2 * cfg.dim, dims[1], dims[2])                             # level 1 keeps 2C channels
        self.decoder = nn.ModuleList(
            nn.Sequential(*(TransformerBlock(level_dims[i], cfg.decoder_heads[i], cfg.ffn_expansion, cfg.bias)
                            for _ in range(cfg.decoder_blocks[i])))
            for i in range(3))
        self.refinement = nn.Sequential(*(TransformerBlock(2 * cfg.dim, cfg.decoder_heads[0], cfg.ffn_expansion,
                                                           cfg.bias) for _ in range(cfg.refinement_blocks)))
        self.output = nn.Conv2d(2 * cfg.dim, 3, 3, padding=1, bias=cfg.bias)
        self.aux_weights = {"orth": cfg.orth_weight, "balance": cfg.balance_weight}

    def forward(self, x: Tensor, return_affinity: bool = False) -> ClusIROutput:
        inp, (h, w) = pad_to_multiple(x, PAD_MULTIPLE)                         # (B, 3, H16, W16)
        f = self.embed(inp)                                                     # (B, C, H16, W16)
        skips, prompts, routing, aux_terms = [], [], [], []
        for s in range(4):
            out = self.moe[s](self.encoder[s](f), return_affinity)             # WTB(s) then MoE(s)
            f = out.x                                                           # (B, C_s, H_s, W_s)
            prompts.append(out.prompt)                                          # p_{s+1} (B, C_s)
            aux_terms.append(out.aux)
            if out.routing is not None:
                routing.append(out.routing)
            if s < 3:
                skips.append(f)
                f = self.down[s](f)
        p_hat = self.prompt_fusion(prompts[:3], out.tokens)                     # 3 × (B, D)
        for i in (2, 1, 0):                                                     # decoder levels 3, 2, 1
            f = self.dafmm[i](f, self.pgb[i](p_hat[i], f.shape[-2:]))         # (B, C_{i+1}, ...)
            f = self.up[i](f)                                                   # (B, C_i, 2×)
            f = self.reduce[i](torch.cat([f, skips[i]], dim=1))                 # (B, C_i or 2C, ...)
            f = self.decoder[i](f)
        image = self.output(self.refinement(f)) + inp                          # (B, 3, H16, W16)
        aux = {k: sum(t[k] for t in aux_terms if k in t) for k in sorted({k for t in aux_terms for k in t})}
        aux_loss = sum((self.aux_weights[k] * v.float() for k, v in aux.items()), x.new_zeros((), dtype=torch.float32))
        return ClusIROutput(image[..., :h, :w], aux_loss, aux, routing)
