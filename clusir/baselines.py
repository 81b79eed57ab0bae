"""Classical (non-learned) restoration baselines, one family per task, and the MiniAIO baseline table.

Each baseline is a function ``f(lq, params) -> restored`` on float ``(H, W, 3)`` images in ``[0, 1]``;
``params`` is the degradation's parameter dict from ``clusir.data.test_set`` (only the noise level and the
blur kernel are read: noise-aware denoisers and *non-blind* deconvolution, i.e. an oracle PSF, which makes
the deblurring numbers an upper bound for classical blind deblurring). Parameters are fixed a priori (from
``shared/design/degradations.md`` section 4), not tuned on the test split.

=========  ==========================================================================================
task        baselines
=========  ==========================================================================================
noise       non-local means, TV (Chambolle), wavelet (BayesShrink, YCbCr), BM3D when ``bm3d`` is installed
rain        grey-level opening 3x3, median 3x3 (thin bright streaks are removed by small rank filters)
haze        dark channel prior (He et al. 2009) with guided-filter refinement
blur        Wiener and Richardson-Lucy (30 iterations), reflect-padded, oracle PSF
lowlight    automatic gamma, LIME-style illumination division (guided ``max_c I``)
jpeg        TV smoothing with a small weight
cdd_*       a fixed chain: DCP (if haze) -> median 3x3 (if rain/snow) -> LIME-style (if low)
=========  ==========================================================================================

``run_baselines`` evaluates them on the MiniAIO test split (``clusir data baselines``).
"""

from __future__ import annotations

import math
import platform
import time
from typing import Callable

import numpy as np
import scipy
import skimage
from scipy import ndimage
from skimage import restoration as skr

from clusir import metrics
from clusir.data import SETTINGS, test_set
from clusir.data.degradations import CDD11_TASKS, JPEG_TASKS, NOISE_TASKS, grey, guided_filter
from clusir.data.settings import all_tasks

# ----------------------------------------------------------------------------------------------------------
# denoising
# ----------------------------------------------------------------------------------------------------------


def _sigma(params: dict) -> float:
    return float(params["sigma"]) / 255.0


def nlm(lq: np.ndarray, params: dict) -> np.ndarray:
    """Non-local means (scikit-image, fast mode): ``h = 0.8 sigma``, 5x5 patches, 13x13 search window."""
    s = _sigma(params)
    return skr.denoise_nl_means(lq, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6, fast_mode=True,
                                channel_axis=-1)


TV_WEIGHTS = {15: 0.05, 25: 0.08, 50: 0.15}


def tv(lq: np.ndarray, params: dict) -> np.ndarray:
    """Total-variation denoising (Chambolle), weight 0.05 / 0.08 / 0.15 for sigma 15 / 25 / 50."""
    w = TV_WEIGHTS.get(int(round(params["sigma"])), 0.08 * params["sigma"] / 25)
    return skr.denoise_tv_chambolle(lq, weight=w, channel_axis=-1)


def wavelet(lq: np.ndarray, params: dict) -> np.ndarray:
    """Wavelet shrinkage (BayesShrink, soft, in YCbCr, scikit-image)."""
    return skr.denoise_wavelet(lq, sigma=_sigma(params), method="BayesShrink", mode="soft", convert2ycbcr=True,
                               rescale_sigma=True, channel_axis=-1)


def bm3d_available() -> bool:
    try:
        import bm3d  # noqa: F401  (lazy: an optional package, often not installed)
    except ImportError:
        return False
    return True


def cbm3d(lq: np.ndarray, params: dict) -> np.ndarray:
    """CBM3D (``bm3d.bm3d_rgb``), only when the ``bm3d`` package is installed."""
    import bm3d  # lazy: optional package (bm3d_available() guards every call)

    return bm3d.bm3d_rgb(lq, sigma_psd=_sigma(params))


# ----------------------------------------------------------------------------------------------------------
# deraining
# ----------------------------------------------------------------------------------------------------------


def opening3(lq: np.ndarray, params: dict | None = None) -> np.ndarray:
    """Grey-level morphological opening with a 3x3 window, per channel (removes thin bright lines)."""
    return ndimage.grey_opening(lq, size=(3, 3, 1), mode="reflect")


def median3(lq: np.ndarray, params: dict | None = None) -> np.ndarray:
    """3x3 median filter per channel."""
    return ndimage.median_filter(lq, size=(3, 3, 1), mode="reflect")


# ----------------------------------------------------------------------------------------------------------
# dehazing: dark channel prior
# ----------------------------------------------------------------------------------------------------------


def dark_channel(img: np.ndarray, r: int = 7) -> np.ndarray:
    return ndimage.minimum_filter(img.min(axis=2), size=2 * r + 1, mode="nearest")


def dcp(lq: np.ndarray, params: dict | None = None, *, r: int = 7, omega: float = 0.95, t0: float = 0.1,
        gf_r: int = 24, gf_eps: float = 1e-3) -> np.ndarray:
    """Dark channel prior dehazing (He, Sun, Tang 2009): airlight = mean colour of the 0.1 % pixels with the
    brightest dark channel; ``t = 1 - omega dark(I / A)`` refined by a guided filter (grey guide);
    ``J = (I - A) / max(t, t0) + A``. Window 15x15, guided filter radius 24 (for 256-px images)."""
    img = lq.astype(np.float64)
    dc = dark_channel(img, r)
    n = max(1, int(dc.size * 0.001))
    idx = np.argpartition(dc.ravel(), -n)[-n:]
    A = img.reshape(-1, 3)[idx].mean(axis=0)
    A = np.maximum(A, 1e-3)
    t_raw = 1.0 - omega * dark_channel(img / A[None, None, :], r)
    t = guided_filter(grey(img), t_raw, gf_r, gf_eps)
    t = np.clip(t, t0, 1.0)[..., None]
    return np.clip((img - A) / t + A, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------------------
# deblurring (non-blind)
# ----------------------------------------------------------------------------------------------------------


def _padded(fn: Callable[[np.ndarray], np.ndarray], lq: np.ndarray, pad: int) -> np.ndarray:
    x = np.pad(lq.astype(np.float64), ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    y = np.stack([fn(x[..., c]) for c in range(3)], axis=2)
    return np.clip(y[pad:-pad, pad:-pad], 0.0, 1.0)


def wiener(lq: np.ndarray, params: dict, *, balance: float = 5e-3) -> np.ndarray:
    """Wiener deconvolution (scikit-image) with the true PSF, image reflect-padded by the kernel size
    (without padding the periodic-boundary assumption rings and costs several dB)."""
    k = np.asarray(params["kernel"], dtype=np.float64)
    return _padded(lambda ch: skr.wiener(ch, k, balance, clip=False), lq, k.shape[0])


def richardson_lucy(lq: np.ndarray, params: dict, *, num_iter: int = 30) -> np.ndarray:
    """Richardson-Lucy deconvolution (scikit-image, 30 iterations) with the true PSF, reflect-padded."""
    k = np.asarray(params["kernel"], dtype=np.float64)
    return _padded(lambda ch: skr.richardson_lucy(np.clip(ch, 1e-6, 1), k, num_iter=num_iter, clip=False), lq,
                   k.shape[0])


# ----------------------------------------------------------------------------------------------------------
# low light
# ----------------------------------------------------------------------------------------------------------


def auto_gamma(lq: np.ndarray, params: dict | None = None, *, target: float = 0.45) -> np.ndarray:
    """Global gamma so that the mean luma becomes ``target``: ``gamma = log(target) / log(mean luma)``."""
    m = float(np.clip(grey(lq).mean(), 1e-4, 0.999))
    g = math.log(target) / math.log(m)
    return np.clip(lq, 0, 1) ** g


def lime_lite(lq: np.ndarray, params: dict | None = None, *, gamma: float = 0.8, r: int = 8,
              eps: float = 1e-3) -> np.ndarray:
    """LIME-style enhancement: illumination ``T = guided(max_c I)`` (grey guide), ``J = I / T^gamma``
    (``T`` floored at 0.02). A simplification of Guo et al. 2017 (no structure-aware optimisation, no
    denoising)."""
    T = guided_filter(grey(lq), lq.max(axis=2), r, eps)
    T = np.clip(T, 0.02, 1.0) ** gamma
    return np.clip(lq / T[..., None], 0.0, 1.0)


# ----------------------------------------------------------------------------------------------------------
# JPEG
# ----------------------------------------------------------------------------------------------------------


def tv_deblock(lq: np.ndarray, params: dict | None = None, *, weight: float = 0.03) -> np.ndarray:
    """JPEG deblocking by light TV smoothing (Chambolle, weight 0.03)."""
    return skr.denoise_tv_chambolle(lq, weight=weight, channel_axis=-1)


# ----------------------------------------------------------------------------------------------------------
# composites
# ----------------------------------------------------------------------------------------------------------


def cdd_chain(lq: np.ndarray, params: dict) -> np.ndarray:
    """Undo a CDD-11 composite in the reverse of OneRestore's order with one classical tool per step:
    DCP if haze, then a 3x3 median if rain or snow, then LIME-style enhancement if low light."""
    kinds = params["type"].split("_")
    x = lq
    if "haze" in kinds:
        x = dcp(x)
    if "rain" in kinds or "snow" in kinds:
        x = median3(x)
    if "low" in kinds:
        x = lime_lite(x)
    return x


def identity(lq: np.ndarray, params: dict | None = None) -> np.ndarray:
    return lq


# ----------------------------------------------------------------------------------------------------------
# registry and runner
# ----------------------------------------------------------------------------------------------------------


def baselines_for(task: str) -> dict[str, Callable]:
    """``{method name: function}`` for a task label (always starting with ``"input"``, the identity)."""
    out: dict[str, Callable] = {"input": identity}
    if task in NOISE_TASKS:
        out.update({"NLM": nlm, "TV": tv, "wavelet": wavelet})
        if bm3d_available():
            out["CBM3D"] = cbm3d
    elif task == "rain":
        out.update({"opening3": opening3, "median3": median3})
    elif task == "haze":
        out["DCP"] = dcp
    elif task == "blur":
        out.update({"Wiener (oracle PSF)": wiener, "Richardson-Lucy (oracle PSF)": richardson_lucy})
    elif task == "lowlight":
        out.update({"auto-gamma": auto_gamma, "LIME-lite": lime_lite})
    elif task in JPEG_TASKS:
        out["TV deblock"] = tv_deblock
    elif task in CDD11_TASKS:
        out["DCP/median/LIME chain"] = cdd_chain
    return out


def run_baselines(setting: str | None = None, split: str = "test", *, log=print) -> dict:
    """PSNR / SSIM (``skimage7`` and ``gaussian11``) of every baseline on every task of ``setting`` (``None``:
    all tasks) on a MiniAIO split, plus seconds per image. Predictions are clamped to [0, 1] (AdaIR protocol;
    the images are 256 x 256, already multiples of 16)."""
    tasks = SETTINGS[setting] if setting else all_tasks()
    results: dict[str, dict] = {}
    for task in tasks:
        setting_of = next(s for s, ts in SETTINGS.items() if task in ts)
        items = [it for it in test_set(setting_of, split, verify="raise") if it["task"] == task]
        results[task] = {}
        for method, fn in baselines_for(task).items():
            ps, ss, sg, secs = [], [], [], 0.0
            for it in items:
                lq = it["lq"].permute(1, 2, 0).numpy().astype(np.float64)
                gt = it["gt"].permute(1, 2, 0).numpy().astype(np.float64)
                t0 = time.perf_counter()
                out = np.clip(fn(lq, it["params"]), 0.0, 1.0)
                secs += time.perf_counter() - t0
                ps.append(metrics.psnr(out, gt))
                ss.append(metrics.ssim(out, gt, convention="skimage7"))
                sg.append(metrics.ssim(out, gt, convention="gaussian11"))
            results[task][method] = {"psnr": round(float(np.mean(ps)), 2), "ssim": round(float(np.mean(ss)), 4),
                                     "ssim_gaussian11": round(float(np.mean(sg)), 4),
                                     "sec_per_image": round(secs / max(1, len(items)), 4), "n": len(items)}
            log(f"  {task:18s} {method:30s} {results[task][method]['psnr']:6.2f} dB  "
                f"SSIM {results[task][method]['ssim']:.4f}")
    return {
        "split": split,
        "images": len(items) if tasks else 0,
        "setting": setting or "all",
        "metrics": {"psnr": "RGB, data_range 1, prediction clamped to [0, 1]",
                    "ssim": "skimage7: uniform 7x7, sample covariance (PromptIR/AdaIR)",
                    "ssim_gaussian11": "Gaussian 11x11 sigma 1.5, population covariance (Wang et al. 2004)"},
        "bm3d": "installed" if bm3d_available() else "skipped (package bm3d not installed)",
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "scipy": scipy.__version__, "scikit-image": skimage.__version__,
                        "machine": f"{platform.machine()}, {platform.processor() or 'unknown CPU'}"},
        "results": results,
    }


def markdown_table(report: dict, command: str, machine: str, seconds: float) -> str:
    lines = [
        "# Classical baselines on MiniAIO",
        "",
        f"Produced by `{command}` on {machine} in {seconds:.0f} s "
        f"(numpy {report['environment']['numpy']}, scipy {report['environment']['scipy']}, "
        f"scikit-image {report['environment']['scikit-image']}). Do not edit by hand; the same numbers are in "
        "`docs/baselines.json`.",
        "",
        f"Split: MiniAIO `{report['split']}` ({report['images']} photographs, 256 x 256; deterministic inputs "
        "verified against `data/miniaio/test_inputs.json`). Metrics: PSNR on RGB (data range 1, prediction "
        "clamped) / SSIM with the scikit-image default window (uniform 7x7, what PromptIR/AdaIR report); the "
        "JSON also has Gaussian-11 SSIM. `input` is the degraded input itself. Deblurring uses the true PSF "
        "(oracle), so it bounds classical blind deblurring from above. "
        f"BM3D: {report['bm3d']}. Parameters are fixed a priori (see `clusir/baselines.py`), not tuned on this split.",
        "",
        "| task | method | PSNR (dB) | SSIM (skimage7) | s / image |",
        "|---|---|---:|---:|---:|",
    ]
    for task, methods in report["results"].items():
        best = max((m for m in methods if m != "input"), key=lambda m: methods[m]["psnr"], default=None)
        if best is not None and methods[best]["psnr"] <= methods["input"]["psnr"]:
            best = None
        for m, r in methods.items():
            name = f"**{m}**" if m == best else m
            lines.append(f"| {task} | {name} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['sec_per_image']:.3f} |")
    lines += ["", "Bold: best classical method per task by PSNR, when it beats the input. The CDD chain makes "
              "low-light composites worse: LIME-style division amplifies the strong noise of OneRestore's "
              "low-light model.", ""]
    return "\n".join(lines)
