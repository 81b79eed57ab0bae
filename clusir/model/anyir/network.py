r"""The AnyIR U-Net (anyir.md §3.1, §6.2), a comparison model beside ClusIR.

    I (B, 3, H, W) ─reflect-pad to 8─► conv3×3 ─► DAB×b1 (C) ─↓─► DAB×b2 (2C) ─↓─► DAB×b3 (4C) ─↓─► DAB×b4 (8C)
    latent ─1×1 8C→4C─► Up (→2C) ⊕ skip3 (6C) ─1×1→4C─► DAB×b3 ─► Up (→2C) ⊕ skip2 ─1×1→2C─► DAB×b2
           ─► Up (→C) ⊕ skip1 (2C, no reduction) ─► DAB×b1 (2C) ─► DAB×R (2C) ─► conv3×3 ─► + I ─► crop

Every block is a :class:`~clusir.model.anyir.dab.DAB`; there is no prompt, router or degradation encoder.
Samplers are the project's :class:`~clusir.model.common.Downsample` / ``Upsample`` (pixel-(un)shuffle).
Book: chapter 15 (ClusIR versus AnyIR).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from clusir.model.anyir.config import AnyIRConfig
from clusir.model.anyir.dab import DAB
from clusir.model.common import Downsample, Upsample, pad_to_multiple

#: H and W are padded to a multiple of this (three 2× samplings).
PAD_MULTIPLE = 8


@dataclass
class AnyIROutput:
    """What :meth:`AnyIR.forward` returns (the fields the trainer and evaluator read from ClusIR's output).

    image     (B, 3, H, W) restored image (same size as the input; not clamped)
    aux_loss  0-d float32 zero: AnyIR has no auxiliary loss
    aux       empty: no named auxiliary terms
    """

    image: Tensor
    aux_loss: Tensor
    aux: dict[str, Tensor] = field(default_factory=dict)


class AnyIR(nn.Module):
    """AnyIR restoration network. Build it with ``clusir.model.build_model("anyir")``.

    Shapes: x (B, 3, H, W), any H, W -> AnyIROutput with image (B, 3, H, W)
    """

    def __init__(self, config: AnyIRConfig) -> None:
        super().__init__()
        self.config = cfg = config
        dims = cfg.stage_dims                                                   # (C, 2C, 4C, 8C)

        def stage(width: int, heads: int, n: int) -> nn.Sequential:
            return nn.Sequential(*(DAB(width, heads, cfg.ffn_expansion, cfg.gda_expansion, cfg.gda_kernel,
                                       cfg.freq_mode, cfg.bias) for _ in range(n)))

        self.patch_embed = nn.Conv2d(3, cfg.dim, 3, padding=1, bias=cfg.bias)
        self.encoder = nn.ModuleList(stage(dims[s], cfg.heads[s], cfg.blocks[s]) for s in range(3))
        self.down = nn.ModuleList(Downsample(dims[s]) for s in range(3))
        self.latent = stage(dims[3], cfg.heads[3], cfg.blocks[3])
        self.reduce_latent = nn.Conv2d(dims[3], dims[2], 1, bias=cfg.bias)      # 8C -> 4C
        # decoder level i + 1 (i = 0, 1, 2); up[i] halves the channels of its input
        self.up = nn.ModuleList([Upsample(dims[1]), Upsample(dims[2]), Upsample(dims[2])])
        self.reduce = nn.ModuleList([nn.Identity(),
                                     nn.Conv2d(dims[2], dims[1], 1, bias=cfg.bias),             # 4C -> 2C
                                     nn.Conv2d(dims[1] + dims[2], dims[2], 1, bias=cfg.bias)])  # 6C -> 4C
        level_dims = (dims[1], dims[1], dims[2])                                # level 1 keeps 2C
        self.decoder = nn.ModuleList(stage(level_dims[i], cfg.heads[i], cfg.decoder_blocks[i])
                                     for i in range(3))
        self.refinement = stage(dims[1], cfg.heads[0], cfg.refinement_blocks)
        self.output = nn.Conv2d(dims[1], 3, 3, padding=1, bias=cfg.bias)

    def forward(self, x: Tensor) -> AnyIROutput:
        inp, (h, w) = pad_to_multiple(x, PAD_MULTIPLE)                          # (B, 3, H8, W8)
        f = self.patch_embed(inp)                                               # (B, C, H8, W8)
        skips = []
        for s in range(3):
            f = self.encoder[s](f)                                              # (B, C_s, H_s, W_s)
            skips.append(f)
            f = self.down[s](f)                                                 # (B, C_{s+1}, ½)
        f = self.reduce_latent(self.latent(f))                                  # (B, 4C, H/8, W/8)
        for i in (2, 1, 0):                                                     # decoder levels 3, 2, 1
            f = self.up[i](f)                                                   # (B, 2C | 2C | C, 2×)
            f = self.reduce[i](torch.cat([f, skips[i]], dim=1))                 # (B, 4C | 2C | 2C, ...)
            f = self.decoder[i](f)
        image = self.output(self.refinement(f)) + inp                          # (B, 3, H8, W8)
        return AnyIROutput(image[..., :h, :w], x.new_zeros((), dtype=torch.float32))
