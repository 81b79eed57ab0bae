"""Optimiser and loss from a :class:`~clusir.train.config.TrainConfig` (the two recipes the project trains).

* ``optimizer``: ``"adam"`` (ClusIR §4.1: Adam, β = 0.9/0.999) or ``"adamw"`` (AnyIR's code: AdamW, torch
  defaults, weight decay 0.01 set in its configs through ``weight_decay``).
* ``loss``: ``"l1_msssim"`` (ClusIR: ℓ1 + λ·(1 − MS-SSIM)) or ``"l1_fft"`` (AnyIR: ℓ1 + 0.1·FFT-ℓ1).

The learning-rate schedule stays with the trainer (``lr_schedule``, ``warmup_steps``): AnyIR's linear
warm-up + cosine is ``lr_schedule="cosine"`` with ``warmup_steps > 0``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from clusir.train.losses import L1FFTLoss, RestorationLoss

__all__ = ["OPTIMIZERS", "build_optimizer", "build_criterion"]

OPTIMIZERS = ("adam", "adamw")


def build_optimizer(cfg, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """Adam or AdamW over ``params`` with ``cfg.lr``, ``cfg.betas``, ``cfg.weight_decay``."""
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}.get(getattr(cfg, "optimizer", "adam"))
    if cls is None:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")
    return cls(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


def build_criterion(cfg) -> nn.Module:
    """The training loss named by ``cfg.loss`` (returns ``(loss, parts)``, has ``describe()``)."""
    kind = getattr(cfg, "loss", "l1_msssim")
    if kind == "l1_fft":
        return L1FFTLoss(cfg.l1_weight, cfg.fft_weight)
    if kind == "l1_msssim":
        return RestorationLoss(cfg.l1_weight, cfg.ms_ssim_weight, crop=cfg.data.crop, win_size=cfg.ms_ssim_win)
    raise ValueError(f"loss must be l1_msssim or l1_fft, got {kind!r}")
