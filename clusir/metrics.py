"""Image-quality metrics with the conventions labelled.

The all-in-one restoration papers report **PSNR on RGB** with ``data_range = 1``. Their SSIM numbers come in
two conventions, and the two differ by 0.01-0.05 on restored images, so every SSIM number in clusir says
which one it is:

* ``ssim(..., convention="skimage7")`` (default) = ``skimage.metrics.structural_similarity(a, b,
  data_range=1, channel_axis=-1)``: a uniform 7x7 window, sample covariance, computed per channel and
  averaged. This is what PromptIR's and AdaIR's ``utils/val_utils.py`` compute (and what ClusIR, which
  follows their protocol, reports): they call ``structural_similarity(..., data_range=1, multichannel=True)``
  under the scikit-image they pin (``scikit-image==0.19.3`` in PromptIR's ``env.yml`` and AdaIR's
  ``env.yaml``), where ``multichannel=True`` is the deprecated spelling of ``channel_axis=-1``. Newer
  scikit-image no longer knows ``multichannel``: 0.26 treats an (H, W, 3) image as a 3-D volume and raises
  ("win_size exceeds image extent"), so their script must be changed to ``channel_axis=-1`` to run today.
* ``ssim(..., convention="gaussian11")`` = the SSIM paper (Wang et al. 2004): an 11x11 Gaussian window with
  sigma = 1.5 and population covariance, ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False)``. MoCE-IR's ``src/test.py`` uses Gaussian weights too
  (``structural_similarity(..., channel_axis=2, gaussian_weights=True, data_range=1.0)``) but keeps
  skimage's sample covariance; that differs from ``gaussian11`` only in the 4th decimal, so MoCE-IR's SSIM
  belongs with ``gaussian11``, not with the skimage-default papers.

Both are implemented here with ``scipy.ndimage`` filters (same arithmetic as scikit-image 0.26, checked in
``tests/test_data_metrics.py``) so that the module has no hidden dependency on skimage's argument spelling.
(Checked by reading those files in va1shn9v/PromptIR, c-yn/AdaIR and eduardzamfir/MoCE-IR, and by calling
``structural_similarity(..., multichannel=True)`` on an (H, W, 3) image under scikit-image 0.26.)

Inputs: numpy ``(H, W, 3)`` (or ``(H, W)``) or torch ``(3, H, W)`` / ``(B, 3, H, W)``. A batch gives the mean
over images (``reduction="none"`` gives a list). ``protocol`` applies the AdaIR test protocol: centre-crop both
images to a multiple of 16 (``clusir.data.io.crop_to_multiple``), clamp the prediction to ``[0, 1]``, then
PSNR + SSIM.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clusir.data.io import crop_to_multiple

SSIM_CONVENTIONS = {
    "skimage7": "SSIM, uniform 7x7 window, sample covariance, per-channel mean (scikit-image default; PromptIR/AdaIR)",
    "gaussian11": "SSIM, Gaussian 11x11 window sigma=1.5, population covariance (Wang et al. 2004; MoCE-IR: Gaussian)",
}
PSNR_CONVENTION = "PSNR on RGB, data_range=1, mean over all pixels and channels"


def _to_numpy_batch(x: Any) -> np.ndarray:
    """-> float64 array (B, H, W, C)."""
    if hasattr(x, "detach"):  # torch tensor, channels first
        t = x.detach().to("cpu").double().numpy()
        if t.ndim == 2:
            return t[None, :, :, None]
        if t.ndim == 3:
            return np.moveaxis(t, 0, -1)[None]
        if t.ndim == 4:
            return np.moveaxis(t, 1, -1)
        raise ValueError(f"expected a torch tensor (C,H,W) or (B,C,H,W), got shape {tuple(t.shape)}")
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        return a[None, :, :, None]
    if a.ndim == 3:
        return a[None]
    if a.ndim == 4:
        return a
    raise ValueError(f"expected a numpy array (H,W), (H,W,C) or (B,H,W,C), got shape {a.shape}")


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    p, g = _to_numpy_batch(pred), _to_numpy_batch(gt)
    if p.shape != g.shape:
        raise ValueError(f"pred and gt differ in shape: {p.shape} vs {g.shape} (as (B,H,W,C))")
    return p, g


def _reduce(vals: list[float], reduction: str):
    if reduction == "mean":
        return float(np.mean(vals))
    if reduction == "none":
        return [float(v) for v in vals]
    raise ValueError(f"reduction must be 'mean' or 'none', not {reduction!r}")


def psnr(pred, gt, data_range: float = 1.0, reduction: str = "mean"):
    """PSNR in dB on all channels: ``10 log10(data_range^2 / MSE)``; ``inf`` for identical images."""
    p, g = _pair(pred, gt)
    out = []
    for a, b in zip(p, g):
        mse = float(np.mean((a - b) ** 2))
        out.append(float("inf") if mse == 0 else 10.0 * np.log10(data_range ** 2 / mse))
    return _reduce(out, reduction)


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma as Matlab's ``rgb2ycbcr`` (16-235 range) scaled back to [0,1]: ``(16 + 65.481R + 128.553G +
    24.966B) / 255`` for RGB in [0, 1]. Used by the deraining/JPEG literature (label it when you report it)."""
    img = np.asarray(img, dtype=np.float64)
    return (16.0 + img[..., 0] * 65.481 + img[..., 1] * 128.553 + img[..., 2] * 24.966) / 255.0


def psnr_y(pred, gt, reduction: str = "mean"):
    """PSNR on the BT.601 Y channel (data_range 1). Secondary metric; RGB ``psnr`` is the headline."""
    p, g = _pair(pred, gt)
    return psnr(rgb_to_y(p)[..., None], rgb_to_y(g)[..., None], 1.0, reduction)


def _ssim_channel(a: np.ndarray, b: np.ndarray, data_range: float, convention: str) -> float:
    from scipy import ndimage

    if convention == "skimage7":
        win = 7
        npix = win * win
        cov_norm = npix / (npix - 1.0)  # sample covariance, as skimage's default

        def filt(x):
            return ndimage.uniform_filter(x, size=win, mode="reflect")

        pad = (win - 1) // 2
    elif convention == "gaussian11":
        sigma, truncate = 1.5, 3.5  # radius int(3.5 * 1.5 + 0.5) = 5 -> 11 taps
        cov_norm = 1.0

        def filt(x):
            return ndimage.gaussian_filter(x, sigma=sigma, truncate=truncate, mode="reflect")

        win = 11
        pad = (win - 1) // 2
    else:
        raise ValueError(f"unknown SSIM convention {convention!r}; choose from {sorted(SSIM_CONVENTIONS)}")
    if min(a.shape) < win:
        raise ValueError(f"image {a.shape} is smaller than the {win}x{win} SSIM window ({convention})")
    ux, uy = filt(a), filt(b)
    uxx, uyy, uxy = filt(a * a), filt(b * b), filt(a * b)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return float(s[pad: s.shape[0] - pad, pad: s.shape[1] - pad].mean(dtype=np.float64))


def ssim(pred, gt, data_range: float = 1.0, convention: str = "skimage7", reduction: str = "mean"):
    """SSIM averaged over channels, with the window ``convention`` (``"skimage7"`` or ``"gaussian11"``)."""
    p, g = _pair(pred, gt)
    out = []
    for a, b in zip(p, g):
        out.append(float(np.mean([_ssim_channel(a[..., c], b[..., c], data_range, convention)
                                  for c in range(a.shape[-1])])))
    return _reduce(out, reduction)


def protocol(pred, gt, *, crop: int | None = 16, clamp: bool = True,
             ssim_convention: str = "skimage7") -> dict[str, float]:
    """The AdaIR/PromptIR evaluation protocol for one image (or the mean over a batch):
    crop both to a multiple of ``crop`` (None: no crop), clamp ``pred`` to [0, 1], RGB PSNR and SSIM.

    Returns ``{"psnr": .., "ssim": .., "ssim_convention": ..}``."""
    p, g = _pair(pred, gt)                                     # (B, H, W, C) float64
    p = np.stack([crop_to_multiple(x, crop) for x in p])      # each image (H, W, C) -> (H', W', C)
    g = np.stack([crop_to_multiple(x, crop) for x in g])
    if clamp:
        p = np.clip(p, 0.0, 1.0)
    return {"psnr": psnr(p, g), "ssim": ssim(p, g, convention=ssim_convention),
            "ssim_convention": ssim_convention}
