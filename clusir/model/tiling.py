r"""Tiled inference for images too large for one forward pass (architecture.md §6.22).

The image is covered by ``tile × tile`` windows with at least ``overlap`` pixels shared by neighbours; the
last window of a row/column is shifted back to end at the border, so **every forward sees exactly a
tile-sized input** (or the whole image along a side shorter than ``tile``). Outputs are blended with a
weight that ramps linearly over the overlap band and normalised by the summed weights, so seams vanish and
pixels seen by one tile are returned unchanged.

Memory: the model runs under ``torch.no_grad()`` on one tile at a time, so the peak is the activations of
one tile plus two image-sized float32 accumulators (output and weight). Tiles are not an exact substitute
for the whole image: PCGRM routes on the *pooled tile*, MDTA's channel attention and the FSB/BN statistics
are computed per tile, so a tile can pick other clusters/experts than the whole image (measured in
``docs/benchmarks.md``; the test bounds the PSNR gap at 0.2 dB).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets along one axis: stride ``tile − overlap``, the last start clamped to ``size − tile``."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


def blend_window(length: int, overlap: int, device=None) -> Tensor:
    """1-D weight: linear ramp (from 1/(overlap+1) up to 1) over ``overlap`` pixels at each end, 1 inside."""
    i = torch.arange(length, device=device, dtype=torch.float32)
    if overlap <= 0:
        return torch.ones(length, device=device)
    ramp = torch.minimum(i + 1, length - i) / (overlap + 1)
    return ramp.clamp(max=1.0)


@torch.no_grad()
def tiled_forward(model: nn.Module, x: Tensor, tile: int = 256, overlap: int = 32) -> Tensor:
    """Restore ``x`` (B, 3, H, W) tile by tile; returns the image (B, 3, H, W) in float32.

    ``tile`` should be a multiple of 16 (the model pads each tile otherwise); ``0 ≤ overlap < tile``.
    The model's train/eval mode is left as it is (call ``model.eval()`` first for deterministic output).
    """
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f"tiled_forward: need tile > 0 and 0 <= overlap < tile, got tile={tile}, overlap={overlap}")
    b, c, h, w = x.shape
    th, tw = min(tile, h), min(tile, w)
    out = torch.zeros(b, 3, h, w, dtype=torch.float32, device=x.device)
    norm = torch.zeros(1, 1, h, w, dtype=torch.float32, device=x.device)
    wy = blend_window(th, overlap if h > tile else 0, x.device)
    wx = blend_window(tw, overlap if w > tile else 0, x.device)
    weight = (wy[:, None] * wx[None, :])[None, None]                           # (1, 1, th, tw)
    for y0 in tile_starts(h, tile, overlap):
        for x0 in tile_starts(w, tile, overlap):
            patch = x[..., y0:y0 + th, x0:x0 + tw]                             # (B, 3, th, tw)
            pred = model(patch).image.float()
            out[..., y0:y0 + th, x0:x0 + tw] += pred * weight
            norm[..., y0:y0 + th, x0:x0 + tw] += weight
    return out / norm
