r"""Model size: parameters and multiply–accumulates (MACs) per forward pass.

Convention: ``torch.utils.flop_counter.FlopCounterMode`` counts FLOPs of matrix products only — convolutions
(``aten.convolution``, depth-wise and 1×1 included), linear layers (``aten.mm``/``aten.addmm``), batched
products (``aten.bmm``: MDTA channel attention, Eq. (8)/(9) and prompt attention, einsums) and scaled-dot-product
attention (the WTB; the CPU kernel ``_scaled_dot_product_flash_attention_for_cpu`` is registered here because
torch 2.13 does not count it). It counts a multiply–add as 2 FLOPs, so **MACs = FLOPs / 2**. Not counted:
element-wise ops, normalisation, softmax, GELU, the Haar DWT/IDWT (additions), FFTs, pixel (un)shuffle,
interpolation. Only the experts an image actually routes to (K1·K2 per stage) are executed, hence counted.

The paper's Table 7 "FLOPs" (thop-style, measured on a 3060) most likely count conv/linear MACs only; we report
both our total and the conv+linear part (``macs_by_kind``).
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

#: Paper Table 7 (params in millions, "FLOPs" in G at 128×128).
TABLE7 = {"base": (54.66, 28.85), "small": (25.03, 13.42), "tiny": (6.89, 3.79)}

_CONV_LINEAR = ("convolution", "_convolution", "mm", "addmm")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all of them, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_active_parameters(model: nn.Module) -> int:
    """Parameters one image actually uses: all but the experts it does not route to (a ClusIR model).

    Per routed stage an image runs ``config.active_experts_at(s)`` experts: K1·K2 of the N·E PCGRM experts,
    ``flat_top_k`` of M for the flat router (all M for ``flat_top_k="all"``). ``moe="dense"`` and ``"none"``
    have no ``experts`` list, so all their parameters count (the dense GDFN is used whole by every image).
    """
    cfg = model.config
    total = count_parameters(model)
    for s, block in enumerate(getattr(model, "moe", ())):                # AnyIR: dense, no experts
        experts = getattr(block, "experts", None)
        if experts is not None:
            total -= (len(experts) - cfg.active_experts_at(s)) * count_parameters(experts[0])
    return total


def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _custom_mapping() -> dict:
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    return {op: _cpu_sdpa_flops} if op is not None else {}


@torch.no_grad()
def macs_by_op(model: nn.Module, size: int | tuple[int, int] = 128, batch: int = 1) -> dict[str, int]:
    """MACs of one eval-mode forward on a (batch, 3, H, W) uniform-noise input, by aten op name."""
    h, w = (size, size) if isinstance(size, int) else size
    p = next(model.parameters())
    x = torch.rand(batch, 3, h, w, device=p.device, dtype=p.dtype, generator=None)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False, custom_mapping=_custom_mapping()) as counter:
            model(x)
    finally:
        model.train(was_training)
    out: dict[str, int] = defaultdict(int)
    for op, flops in counter.get_flop_counts().get("Global", {}).items():
        out[str(op).split(".")[-2] if str(op).count(".") > 1 else str(op).split(".")[-1]] += flops // 2
    return dict(out)


def count_macs(model: nn.Module, size: int | tuple[int, int] = 128, batch: int = 1) -> int:
    """Total MACs (= counted FLOPs / 2) of one eval-mode forward at ``size`` (see the module docstring)."""
    return sum(macs_by_op(model, size, batch).values())


def macs_by_kind(by_op: dict[str, int]) -> dict[str, int]:
    """Group :func:`macs_by_op` into ``conv_linear`` (thop-comparable) and ``attention`` (bmm, sdpa)."""
    kinds = {"conv_linear": 0, "attention": 0}
    for op, macs in by_op.items():
        kinds["conv_linear" if op in _CONV_LINEAR else "attention"] += macs
    return kinds
