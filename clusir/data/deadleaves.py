"""Dead-leaves images: a procedural stand-in for natural images, generated on the fly (never committed).

Disks with power-law radii ``p(r) ~ r^-alpha`` (alpha = 3 makes the model approximately scale invariant)
fall at uniform positions; rendering is front to back (the first disk drawn is the nearest, later disks
only fill pixels still uncovered) until at most ``stop`` of the pixels are uncovered; the few remaining
pixels take the colour of the last disk. Colours are sampled from real photographs (MiniAIO train pixels,
as Achddou et al. sample natural-image colours) or drawn luminance-correlated. Optional Gaussian blur
softens edges. Used by ``TrainPairs(synthetic=True)`` to extend the training pool.
"""

from __future__ import annotations

import numpy as np

from clusir.data.degradations import as_rng

_PALETTE: np.ndarray | None = None


def photo_palette(n: int = 4096) -> np.ndarray:
    """``n`` RGB colours sampled (deterministically) from the MiniAIO training photographs."""
    global _PALETTE
    if _PALETTE is None or len(_PALETTE) != n:
        from clusir.data.settings import load_clean

        rs = np.random.RandomState(12345)
        imgs = [img for _, img in load_clean("train")]
        cols = []
        for i in range(n):
            img = imgs[i % len(imgs)]
            y, x = rs.randint(img.shape[0]), rs.randint(img.shape[1])
            cols.append(img[y, x])
        _PALETTE = np.asarray(cols, dtype=np.float32)
    return _PALETTE


def dead_leaves(size: int | tuple[int, int], rng=None, *, alpha: float = 3.0, r_min: float = 1.5,
                r_max: float | None = None, colours: str = "photo", stop: float = 0.002,
                max_disks: int = 20000, blur: float | None = None) -> np.ndarray:
    """A dead-leaves image, float32 ``(H, W, 3)`` in [0, 1].

    ``colours``: ``"photo"`` (pixels of MiniAIO train photos), ``"lum"`` (grey level plus a small colour
    jitter) or ``"uniform"`` (uniform RGB). ``blur``: Gaussian sigma in pixels (default ``U(0, 0.8)``)."""
    from scipy import ndimage

    rng = as_rng(rng)
    h, w = (size, size) if isinstance(size, int) else size
    r_max = float(max(h, w)) if r_max is None else float(r_max)
    pal = photo_palette() if colours == "photo" else None
    canvas = np.zeros((h, w, 3), dtype=np.float32)
    free = np.ones((h, w), dtype=bool)
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    a1 = 1.0 - alpha
    lo, hi = r_max ** a1, r_min ** a1
    remaining = h * w
    colour = np.zeros(3, dtype=np.float32)
    for i in range(max_disks):
        u, cy, cx = rng.random(), rng.random() * h, rng.random() * w
        r = (lo + u * (hi - lo)) ** (1.0 / a1)
        if colours == "photo":
            colour = pal[min(int(rng.random() * len(pal)), len(pal) - 1)]
        elif colours == "lum":
            g = rng.random()
            colour = np.clip(g + 0.1 * rng.standard_normal(3), 0, 1).astype(np.float32)
        elif colours == "uniform":
            colour = rng.random(3).astype(np.float32)
        else:
            raise ValueError(f"colours must be 'photo', 'lum' or 'uniform', not {colours!r}")
        y0, y1 = max(0, int(cy - r)), min(h, int(cy + r) + 1)
        x0, x1 = max(0, int(cx - r)), min(w, int(cx + r) + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        m = ((yy[y0:y1] + 0.5 - cy) ** 2 + (xx[:, x0:x1] + 0.5 - cx) ** 2 <= r * r) & free[y0:y1, x0:x1]
        if not m.any():
            continue
        canvas[y0:y1, x0:x1][m] = colour
        free[y0:y1, x0:x1][m] = False
        remaining -= int(m.sum())
        if remaining <= stop * h * w:
            break
    if remaining > 0:
        canvas[free] = colour
    sigma = rng.uniform(0.0, 0.8) if blur is None else float(blur)
    if sigma > 0.05:
        canvas = ndimage.gaussian_filter(canvas, (sigma, sigma, 0), mode="reflect")
    # quantise like the photographs (8-bit)
    return (np.rint(np.clip(canvas, 0, 1) * 255) / 255).astype(np.float32)
