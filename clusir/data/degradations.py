"""Synthetic degradations: pure functions ``(clean image, random generator or explicit parameters) ->
(degraded image, parameters used)``.

Every function takes a clean ``float32`` ``(H, W, 3)`` image in ``[0, 1]`` and returns the degraded image
**quantised to 8 bits** (as the real benchmarks store PNG/JPEG files) as ``float32`` in ``[0, 1]``, together
with a ``dict`` of every parameter drawn. Scalar parameters are always drawn first, in a fixed order, even
when passed explicitly, so a call with the same seed and any returned parameters passed back reproduces the
same image, and changing one parameter leaves the random positions / noise untouched.

Random draws come from ``rng``: a ``numpy.random.RandomState``, an ``int`` seed (turned into a
``RandomState``), or ``None`` (a fresh unseeded generator). ``RandomState`` is used, not ``Generator``,
because its streams are frozen by NumPy's compatibility policy (NEP 19), so stored seeds reproduce the same
images on other machines and NumPy versions. A ``numpy.random.Generator`` is accepted too (its streams may
change between NumPy releases). Seeds for named images come from :func:`stable_seed`, a SHA-256 of the
name, never Python's per-process salted ``hash()``.

Task labels (``degrade`` dispatches on them):

=================  ==========================================================================================
``noise15/25/50``  additive white Gaussian noise, PromptIR/AdaIR convention (0-255 scale, clip, truncate)
``rain``           one layer of thin single-direction streaks, added (Rain100L-like, JORDER's ``O = B + S``)
``haze``           atmospheric scattering ``I = J t + A (1 - t)``, ``t = exp(-k d)``, grey airlight
``blur``           camera shake: a random-trajectory PSF (after Boracchi & Foi 2012), reflect-padded
``lowlight``       linear-light darkening, per-channel colour cast, shot + read noise, re-gamma (LOL-like)
``jpeg10..40``     Pillow JPEG at that quality (4:2:0), decoded
``cdd_<type>``     CDD-11 composites in OneRestore's order low -> rain -> snow -> haze, 11 types
=================  ==========================================================================================

The parameter ranges, and the measured input PSNR they give on MiniAIO, are in ``docs/data.md``.
"""

from __future__ import annotations

import hashlib
import io
import math
import zlib
from typing import Any

import numpy as np

from clusir.data.io import to_uint8

# ----------------------------------------------------------------------------------------------------------
# labels
# ----------------------------------------------------------------------------------------------------------

NOISE_TASKS = {"noise15": 15, "noise25": 25, "noise50": 50}
JPEG_TASKS = {"jpeg10": 10, "jpeg20": 20, "jpeg30": 30, "jpeg40": 40}
CDD11_TYPES = ("low", "haze", "rain", "snow", "low_haze", "low_rain", "low_snow", "haze_rain", "haze_snow",
               "low_haze_rain", "low_haze_snow")
CDD11_TASKS = tuple(f"cdd_{t}" for t in CDD11_TYPES)
TASKS: tuple[str, ...] = (*NOISE_TASKS, "rain", "haze", "blur", "lowlight", *JPEG_TASKS, *CDD11_TASKS)

TASK_DESCRIPTIONS = {
    **{k: f"Gaussian noise sigma={v} (0-255 scale), PromptIR convention" for k, v in NOISE_TASKS.items()},
    "rain": "single-direction rain streaks, additive (Rain100L-like)",
    "haze": "atmospheric scattering haze with depth (RESIDE-like)",
    "blur": "camera-shake blur, random-trajectory PSF (GoPro stand-in)",
    "lowlight": "low light: linear darkening, colour cast, shot+read noise (LOL-like)",
    **{k: f"JPEG quality {v} (Pillow, 4:2:0)" for k, v in JPEG_TASKS.items()},
    **{f"cdd_{t}": "CDD-11 composite: " + " + ".join(t.split("_")) for t in CDD11_TYPES},
}

# ----------------------------------------------------------------------------------------------------------
# random generators and seeds
# ----------------------------------------------------------------------------------------------------------


def stable_seed(*parts: Any) -> int:
    """A 31-bit seed from any printable parts, stable across processes, machines and Python versions."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little") & 0x7FFFFFFF


def seed_from_name(name: str) -> int:
    """``zlib.crc32`` of a file name: the per-image noise seed recommended for real test sets (independent of
    the order in which ``os.listdir`` returns files, unlike PromptIR's single ``np.random.seed(0)``)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def as_rng(rng: Any = None):
    """``RandomState`` / ``Generator`` pass through; an int (or numpy integer) seeds a ``RandomState``;
    ``None`` gives an unseeded ``RandomState``."""
    if rng is None:
        return np.random.RandomState()
    if isinstance(rng, (np.random.RandomState, np.random.Generator)):
        return rng
    if isinstance(rng, (int, np.integer)):
        return np.random.RandomState(int(rng) & 0xFFFFFFFF)
    raise TypeError(f"rng must be None, an int seed, a numpy RandomState or Generator, not {type(rng).__name__}")


def _u(rng, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _pick(rng, given, lo: float, hi: float) -> float:
    """Always draw ``U(lo, hi)`` (so the stream stays aligned) but return ``given`` when it is not None:
    passing some returned parameters back explicitly, with the same seed, reproduces the same image."""
    v = float(rng.uniform(lo, hi))
    return v if given is None else float(given)


def _randint(rng, n: int) -> int:
    """Uniform integer in [0, n) using only methods shared by RandomState and Generator."""
    return min(int(rng.random() * n), n - 1)


def _check(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255.0)
    a = a.astype(np.float32, copy=False)
    if a.size and (float(a.min()) < -1e-6 or float(a.max()) > 1 + 1e-6):
        raise ValueError(f"expected values in [0, 1], got [{float(a.min()):.3g}, {float(a.max()):.3g}]")
    return a


def _q(x: np.ndarray) -> np.ndarray:
    """Quantise to 8 bits (round half to even) and return float32 [0, 1]."""
    return to_uint8(x).astype(np.float32) / np.float32(255.0)


# ----------------------------------------------------------------------------------------------------------
# small filters (numpy/scipy), shared with clusir.baselines
# ----------------------------------------------------------------------------------------------------------


def box_filter(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)x(2r+1) window (reflect borders), channel-wise for 3-D input."""
    from scipy import ndimage

    size = (2 * r + 1, 2 * r + 1) + ((1,) if x.ndim == 3 else ())
    return ndimage.uniform_filter(x, size=size, mode="reflect")


def guided_filter(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide ``(H, W)``; ``src`` is ``(H, W)`` or ``(H, W, C)``."""
    g = guide.astype(np.float64)
    p = src.astype(np.float64)
    if p.ndim == 3:
        return np.stack([guided_filter(g, p[..., c], r, eps) for c in range(p.shape[2])], axis=2)
    mg, mp = box_filter(g, r), box_filter(p, r)
    cov = box_filter(g * p, r) - mg * mp
    var = box_filter(g * g, r) - mg * mg
    a = cov / (var + eps)
    b = mp - a * mg
    return box_filter(a, r) * g + box_filter(b, r)


def grey(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB in [0, 1] (no offset)."""
    return img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114


def _splat(h: int, w: int, ys: np.ndarray, xs: np.ndarray, weights: np.ndarray, wrap: bool = True) -> np.ndarray:
    """Bilinear splatting of weighted points onto an (h, w) map (wrap-around borders by default)."""
    y0, x0 = np.floor(ys), np.floor(xs)
    fy, fx = ys - y0, xs - x0
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    out = np.zeros(h * w, dtype=np.float64)
    for dy, dx, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        if wrap:
            yy, xx, ww = yy % h, xx % w, weights * wt
        else:
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            yy, xx, ww = yy[ok], xx[ok], (weights * wt)[ok]
        out += np.bincount(yy * w + xx, weights=ww, minlength=h * w)
    return out.reshape(h, w)


# ----------------------------------------------------------------------------------------------------------
# Gaussian noise (PromptIR / AdaIR / MoCE-IR convention)
# ----------------------------------------------------------------------------------------------------------


def add_gaussian_noise(img: np.ndarray, sigma: float, rng: Any = None) -> tuple[np.ndarray, dict]:
    """AWGN exactly as PromptIR/AdaIR add it: on the 0-255 scale, i.i.d. per pixel *and* channel,
    ``noisy = clip(clean_u8 + sigma * N(0, 1), 0, 255).astype(uint8)`` (float64 noise, clip, then
    *truncation* toward zero, not rounding). With ``rng = RandomState(s)`` the noise equals
    ``np.random.seed(s); np.random.randn(H, W, 3)``.

    ``img`` should hold 8-bit values (it is quantised with ``to_uint8`` first)."""
    x = _check(img)
    rng = as_rng(rng)
    clean = to_uint8(x).astype(np.float64)
    noise = rng.standard_normal(clean.shape)
    noisy = np.clip(clean + noise * float(sigma), 0, 255).astype(np.uint8)
    return noisy.astype(np.float32) / np.float32(255.0), {"sigma": float(sigma), "convention": "promptir"}


# ----------------------------------------------------------------------------------------------------------
# rain streaks
# ----------------------------------------------------------------------------------------------------------

RAIN_RANGES = {
    "density": (0.0008, 0.0025),  # streak starts per pixel
    "length": (0.06, 0.14),       # streak length as a fraction of min(H, W)
    "angle": (-20.0, 20.0),       # degrees from vertical, one direction per image
    "brightness": (0.3, 0.6),     # peak added intensity of a streak
    "width": (0.45, 0.75),        # Gaussian cross-section sigma in pixels
}


def rain_layer(h: int, w: int, rng: Any = None, *, density: float | None = None, length: float | None = None,
               angle: float | None = None, brightness: float | None = None, width: float | None = None,
               ranges: dict | None = None) -> tuple[np.ndarray, dict]:
    """A single-direction streak layer ``S`` in ``[0, 1]``, shape ``(h, w)``.

    Streak starts are uniform (``density`` per pixel); each streak is a straight segment of
    ``length * min(h, w) * U(0.7, 1)`` pixels at ``angle`` degrees from vertical with intensity
    ``U(0.5, 1) * brightness``, splatted bilinearly with wrap-around (streaks leave one border and enter the
    opposite one, like a tiled rain texture), then given a Gaussian cross-section of ``width`` pixels."""
    from scipy import ndimage

    rng = as_rng(rng)
    rg = {**RAIN_RANGES, **(ranges or {})}
    density = _pick(rng, density, *rg["density"])
    length = _pick(rng, length, *rg["length"])
    angle = _pick(rng, angle, *rg["angle"])
    brightness = _pick(rng, brightness, *rg["brightness"])
    width = _pick(rng, width, *rg["width"])
    n = max(1, int(round(density * h * w)))
    y0 = rng.uniform(0, h, n)
    x0 = rng.uniform(0, w, n)
    lens = length * min(h, w) * rng.uniform(0.7, 1.0, n)
    amps = rng.uniform(0.5, 1.0, n)
    step = 0.5
    nsteps = int(math.ceil(lens.max() / step)) + 1
    t = np.arange(nsteps) * step  # distance along the streak
    valid = t[None, :] <= lens[:, None]
    th = math.radians(angle)
    dy, dx = math.cos(th), math.sin(th)
    ys = (y0[:, None] + t[None, :] * dy)[valid]
    xs = (x0[:, None] + t[None, :] * dx)[valid]
    wts = (np.broadcast_to(amps[:, None], valid.shape)[valid]) * step
    acc = _splat(h, w, ys, xs, wts, wrap=True)
    acc = ndimage.gaussian_filter(acc, width, mode="wrap")
    peak = 1.0 / (math.sqrt(2 * math.pi) * width)  # cross-section peak of a unit-density line
    layer = np.clip(brightness * acc / peak, 0.0, 1.0)
    params = {"density": density, "length": length, "angle": angle, "brightness": brightness, "width": width,
              "streaks": n}
    return layer.astype(np.float32), params


def add_rain(img: np.ndarray, rng: Any = None, **kw) -> tuple[np.ndarray, dict]:
    """Rain100L-like light rain: ``O = clip(B + S, 0, 1)`` with one grey streak layer ``S`` (``rain_layer``)."""
    x = _check(img)
    layer, params = rain_layer(x.shape[0], x.shape[1], rng, **kw)
    return _q(x + layer[..., None]), params


# ----------------------------------------------------------------------------------------------------------
# haze (atmospheric scattering)
# ----------------------------------------------------------------------------------------------------------

HAZE_RANGES = {"k": (0.5, 1.6), "A": (0.8, 1.0)}


def smooth_field(h: int, w: int, rng: Any, scale: float) -> np.ndarray:
    """A smooth random field in ``[0, 1]``: Gaussian white noise on a coarse grid with spacing
    ``scale * max(h, w)`` pixels, interpolated with cubic splines (fast for any correlation length)."""
    from scipy import ndimage

    n = max(2, int(round(1.0 / max(scale, 1e-3)))) + 3
    grid = rng.standard_normal((n, n))
    ys = (np.arange(h, dtype=np.float64) + 0.5) / max(h, w) * (n - 3) + 1.0
    xs = (np.arange(w, dtype=np.float64) + 0.5) / max(h, w) * (n - 3) + 1.0
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    field = ndimage.map_coordinates(grid, [yy, xx], order=3, mode="nearest")
    return (field - field.min()) / max(float(np.ptp(field)), 1e-12)


def synthetic_depth(h: int, w: int, rng: Any = None, *, power: float | None = None,
                    smooth: float | None = None) -> tuple[np.ndarray, dict]:
    """A depth proxy in ``[0, 1]`` (1 = far) for photographs without depth: a vertical ramp (top far)
    ``(1 - y/H)^power`` mixed 60/40 with a :func:`smooth_field` of correlation length ``smooth * max(H, W)``,
    renormalised to ``[0, 1]``."""
    rng = as_rng(rng)
    power = _pick(rng, power, 0.7, 1.5)
    smooth = _pick(rng, smooth, 1 / 8, 1 / 3)
    yy = (np.arange(h, dtype=np.float64) + 0.5) / h
    ramp = np.broadcast_to((1.0 - yy)[:, None] ** power, (h, w))
    field = smooth_field(h, w, rng, smooth)
    d = 0.6 * ramp + 0.4 * field
    d = (d - d.min()) / max(float(np.ptp(d)), 1e-12)
    return d.astype(np.float32), {"depth": "synthetic", "power": power, "smooth": smooth}


def add_haze(img: np.ndarray, rng: Any = None, *, depth: np.ndarray | None = None, k: float | None = None,
             A: float | None = None, ranges: dict | None = None) -> tuple[np.ndarray, dict]:
    """Haze by the atmospheric scattering model used to make RESIDE:
    ``I = J t + A (1 - t)``, ``t = exp(-k d)`` with ``d`` a depth map normalised to ``[0, 1]`` (1 = far),
    so ``k`` is RESIDE's ``beta * d_max`` and ``t`` ranges from 1 down to ``exp(-k)``. ``A`` is a grey airlight.

    ``depth``: a real (normalised) depth map, e.g. ``clusir.data.miniaio.depth_for(name)`` for the skimage
    motorcycle; ``None`` draws :func:`synthetic_depth`."""
    x = _check(img)
    rng = as_rng(rng)
    rg = {**HAZE_RANGES, **(ranges or {})}
    params: dict[str, Any] = {}
    k = _pick(rng, k, *rg["k"])
    A = _pick(rng, A, *rg["A"])
    if depth is None:
        depth, dparams = synthetic_depth(x.shape[0], x.shape[1], rng)
        params.update(dparams)
    else:
        depth = np.asarray(depth, dtype=np.float32)
        if depth.shape != x.shape[:2]:
            raise ValueError(f"depth map {depth.shape} does not match the image {x.shape[:2]}")
        params["depth"] = "given"
    t = np.exp(-k * depth.astype(np.float64))[..., None]
    out = x * t + A * (1.0 - t)
    params.update({"k": k, "A": A, "t_min": float(t.min())})
    return _q(out), params


# ----------------------------------------------------------------------------------------------------------
# camera-shake blur
# ----------------------------------------------------------------------------------------------------------

BLUR_RANGES = {"length": (8.0, 30.0), "size": 33}


def motion_kernel(rng: Any = None, *, size: int = 33, length: float | None = None, steps: int = 200,
                  curvature: float | None = None, shake_prob: float | None = None,
                  centripetal: float | None = None, exposure: float | None = None) -> tuple[np.ndarray, dict]:
    """A camera-shake PSF from a random 2-D trajectory, in the spirit of Boracchi & Foi (TIP 2012).

    A point moves ``steps`` steps of equal length (the path is ``length`` pixels long). Its heading drifts
    by ``N(0, curvature^2)`` radians per step (hand tremor), turns sharply by ``+-U(pi/4, 3pi/4)`` with
    probability ``shake_prob`` per step (a jerk), and is steered back toward the start with strength
    ``centripetal`` (hands return). The PSF is the time spent in each pixel (bilinear splat) over the first
    ``exposure`` fraction of the path, centred on its centre of mass in a ``size`` x ``size`` grid (rescaled
    if it would not fit), normalised to sum 1. Defaults are drawn from ``BLUR_RANGES`` and:
    curvature ~ U[0, 0.12], shake_prob ~ U[0, 0.015], centripetal ~ U[0, 0.3], exposure in {0.5, 0.75, 1}."""
    rng = as_rng(rng)
    length = _pick(rng, length, *BLUR_RANGES["length"])
    curvature = _pick(rng, curvature, 0.0, 0.12)
    shake_prob = _pick(rng, shake_prob, 0.0, 0.015)
    centripetal = _pick(rng, centripetal, 0.0, 0.3)
    _e = [0.5, 0.75, 1.0][_randint(rng, 3)]
    exposure = _e if exposure is None else float(exposure)
    step = length / steps
    heading = _u(rng, 0.0, 2 * math.pi)
    drift = rng.standard_normal(steps) * curvature
    shakes = rng.random(steps) < shake_prob
    turns = rng.uniform(math.pi / 4, 3 * math.pi / 4, steps) * np.where(rng.random(steps) < 0.5, -1.0, 1.0)
    x = 0j
    pos = [x]
    for i in range(steps):
        heading += float(drift[i]) + (float(turns[i]) if shakes[i] else 0.0)
        v = complex(math.cos(heading), math.sin(heading))
        if centripetal > 0 and abs(x) > 0:
            v = v - centripetal * x / max(length, 1e-9)
            heading = math.atan2(v.imag, v.real)
            v = complex(math.cos(heading), math.sin(heading))
        x = x + v * step
        pos.append(x)
    p = np.array(pos[: max(2, int(round(exposure * len(pos))))])
    ys, xs = p.imag, p.real
    c = size // 2
    ext = max(float(np.ptp(ys)), float(np.ptp(xs)), 1e-9)
    scale = min(1.0, (size - 3) / ext)
    ys = (ys - ys.mean()) * scale + c
    xs = (xs - xs.mean()) * scale + c
    k = _splat(size, size, ys, xs, np.ones_like(ys), wrap=False)
    k /= k.sum()
    params = {"length": length, "curvature": curvature, "shake_prob": shake_prob, "centripetal": centripetal,
              "exposure": exposure, "size": size, "scale": scale, "extent": ext * scale}
    return k.astype(np.float64), params


def convolve_reflect(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Per-channel 2-D convolution with reflect padding (output the size of ``img``), by FFT (numpy)."""
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    pad = np.pad(img.astype(np.float64), ((ph, ph), (pw, pw), (0, 0)), mode="reflect")
    H, W = pad.shape[:2]
    K = np.fft.rfft2(kernel, s=(H, W))
    out = np.fft.irfft2(np.fft.rfft2(pad, axes=(0, 1)) * K[..., None], s=(H, W), axes=(0, 1))
    # full linear convolution would be (H + kh - 1); with circular FFT of size H the valid part starts at
    # (kh - 1) and has the original image size
    return out[kh - 1: kh - 1 + img.shape[0], kw - 1: kw - 1 + img.shape[1]]


def add_motion_blur(img: np.ndarray, rng: Any = None, *, kernel: np.ndarray | None = None,
                    **kernel_kw) -> tuple[np.ndarray, dict]:
    """Uniform camera-shake blur: convolve with a :func:`motion_kernel` (or the given ``kernel``) using
    reflect padding. No noise is added (GoPro's blur comes from averaging sharp frames). The PSF is returned
    in ``params["kernel"]`` (the non-blind baselines use it as an oracle)."""
    x = _check(img)
    if kernel is None:
        kernel, params = motion_kernel(rng, **kernel_kw)
    else:
        kernel = np.asarray(kernel, dtype=np.float64)
        kernel = kernel / kernel.sum()
        params = {"size": kernel.shape[0]}
    out = convolve_reflect(x, kernel)
    params = {**params, "kernel": kernel}
    return _q(out), params


# ----------------------------------------------------------------------------------------------------------
# low light
# ----------------------------------------------------------------------------------------------------------

LOWLIGHT_RANGES = {"k": (0.02, 0.12), "gain": (0.85, 1.15), "log_shot": (math.log(5e-5), math.log(2e-3))}
GAMMA = 2.2


def add_low_light(img: np.ndarray, rng: Any = None, *, k: float | None = None, gains: tuple | None = None,
                  lambda_shot: float | None = None, lambda_read: float | None = None,
                  ranges: dict | None = None) -> tuple[np.ndarray, dict]:
    """A LOL-like under-exposed shot: linearise (``x^2.2``), scale by exposure ``k`` and per-channel gains
    (a colour cast), add heteroscedastic sensor noise with variance ``lambda_shot * signal + lambda_read``
    (the shot/read noise model of Brooks et al. 2019, read noise tied to shot noise by their log-linear
    relation), clip, re-apply the 1/2.2 gamma and quantise to 8 bits (dark 8-bit images lose levels)."""
    x = _check(img)
    rng = as_rng(rng)
    rg = {**LOWLIGHT_RANGES, **(ranges or {})}
    k = _pick(rng, k, *rg["k"])
    _g = rng.uniform(*rg["gain"], 3)
    gains = tuple(float(g) for g in (_g if gains is None else gains))
    _ls = math.exp(_u(rng, *rg["log_shot"]))
    lambda_shot = _ls if lambda_shot is None else float(lambda_shot)
    _lr = math.exp(2.18 * math.log(lambda_shot) + 1.2 + float(rng.normal(0.0, 0.26)))
    lambda_read = _lr if lambda_read is None else float(lambda_read)
    lin = x.astype(np.float64) ** GAMMA
    sig = lin * k * np.asarray(gains)[None, None, :]
    std = np.sqrt(lambda_shot * sig + lambda_read)
    y = sig + std * rng.standard_normal(sig.shape)
    out = np.clip(y, 0.0, 1.0) ** (1.0 / GAMMA)
    return _q(out), {"k": k, "gains": list(gains), "lambda_shot": float(lambda_shot),
                     "lambda_read": float(lambda_read), "gamma": GAMMA}


# ----------------------------------------------------------------------------------------------------------
# JPEG
# ----------------------------------------------------------------------------------------------------------


def jpeg_compress(img: np.ndarray, quality: int, *, subsampling: int = 2) -> tuple[np.ndarray, dict]:
    """Encode with Pillow at ``quality`` (1-95; chroma ``subsampling`` 2 = 4:2:0, Pillow's default) and decode.
    Bytes may differ between libjpeg builds; decoded pixels are what the manifest hashes."""
    from PIL import Image

    x = _check(img)
    q = int(quality)
    if not 1 <= q <= 95:
        raise ValueError(f"JPEG quality must be in 1..95, got {quality}")
    buf = io.BytesIO()
    Image.fromarray(to_uint8(x)).save(buf, format="JPEG", quality=q, subsampling=subsampling)
    buf.seek(0)
    out = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / np.float32(255.0)
    return out, {"quality": q, "subsampling": subsampling, "bytes": buf.getbuffer().nbytes}


# ----------------------------------------------------------------------------------------------------------
# CDD-11 composites (OneRestore's imaging model with offline maps)
# ----------------------------------------------------------------------------------------------------------

CDD_RANGES = {
    "gamma": (2.0, 3.0), "noise": (0.03, 0.08),          # low light (OneRestore)
    "beta": (1.0, 2.0), "A": (0.6, 0.9), "d_cap": 0.7,   # haze (OneRestore)
    "rain_density": (0.002, 0.006), "rain_brightness": (0.4, 0.8),
    "snow_density": (2e-3, 6e-3), "snow_opacity": (0.7, 1.0),
}


def illumination_map(img: np.ndarray, r: int = 7, eps: float = 0.01) -> np.ndarray:
    """Offline stand-in for OneRestore's LIME light map: ``max_c I`` refined by a guided filter (grey guide)."""
    L0 = img.max(axis=2)
    L = guided_filter(grey(img), L0, r, eps)
    return np.clip(L, 1e-3, 1.0)


def cdd_low(img: np.ndarray, rng: Any = None, *, gamma: float | None = None, noise: float | None = None,
            light: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """OneRestore's Retinex low light: ``R = I / L``, ``L' = L^gamma``, ``I' = R L' + N(0, noise^2)``,
    clipped (``L``: :func:`illumination_map`). Returns float (not quantised: a composite step)."""
    rng = as_rng(rng)
    gamma = _pick(rng, gamma, *CDD_RANGES["gamma"])
    noise = _pick(rng, noise, *CDD_RANGES["noise"])
    L = illumination_map(img) if light is None else light
    out = img / L[..., None] * (L[..., None] ** gamma)
    out = out + noise * rng.standard_normal(img.shape)
    return np.clip(out, 0.0, 1.0), {"gamma": gamma, "noise": noise}


def snow_mask(h: int, w: int, rng: Any = None, *, density: float | None = None,
              opacity: float | None = None) -> tuple[np.ndarray, dict]:
    """Snow particles in ``[0, 1]``: three layers (far / middle / near) of Gaussian blobs with sigma 0.6,
    1.6 and 2.8 pixels (densities decreasing toward the camera), the near layers smeared by a short fall
    streak, combined by per-pixel maximum and scaled by ``opacity``."""
    from scipy import ndimage

    rng = as_rng(rng)
    density = _pick(rng, density, *CDD_RANGES["snow_density"])
    opacity = _pick(rng, opacity, *CDD_RANGES["snow_opacity"])
    fall = _u(rng, -20.0, 20.0)
    mask = np.zeros((h, w))
    for sigma, frac in ((0.6, 1.0), (1.6, 0.25), (2.8, 0.06)):
        n = max(1, int(round(density * frac * h * w)))
        ys, xs = rng.uniform(0, h, n), rng.uniform(0, w, n)
        amps = rng.uniform(0.6, 1.0, n)
        if sigma > 1:  # a short fall streak (3 sub-samples along the fall direction)
            th = math.radians(fall)
            ln = 2.0 * sigma
            ts = np.array([-0.5, 0.0, 0.5]) * ln
            ys = (ys[:, None] + ts[None] * math.cos(th)).ravel()
            xs = (xs[:, None] + ts[None] * math.sin(th)).ravel()
            amps = np.repeat(amps, 3) / 3.0 * 1.6
        acc = _splat(h, w, ys, xs, amps, wrap=True)
        layer = ndimage.gaussian_filter(acc, sigma, mode="wrap") * (2 * math.pi * sigma ** 2)
        mask = np.maximum(mask, np.clip(layer, 0, 1))
    return (opacity * mask).astype(np.float32), {"density": density, "opacity": opacity, "fall": fall}


def cdd_composite(img: np.ndarray, kinds: str | tuple[str, ...], rng: Any = None, *,
                  depth: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """A CDD-11 composite: ``kinds`` is e.g. ``"low_haze_rain"`` or ``("low", "haze", "rain")``.
    Steps always run in OneRestore's order **low -> rain -> snow -> haze**:

    * low:  :func:`cdd_low` (gamma ~ U[2, 3], noise sigma ~ U[0.03, 0.08]);
    * rain: ``I + M_rain`` (a denser :func:`rain_layer`; no clip until the end, as OneRestore);
    * snow: ``I (1 - M) + M`` with :func:`snow_mask`;
    * haze: ``t = exp(-beta min(d, 0.7))``, ``beta ~ U[1, 2]``, grey ``A ~ U[0.6, 0.9]`` where ``d`` is the
      depth (1 = far) after a 22x22 box filter, as OneRestore smooths its MegaDepth maps.
    """
    from scipy import ndimage

    x = _check(img).astype(np.float64)
    rng = as_rng(rng)
    parts = tuple(kinds.split("_")) if isinstance(kinds, str) else tuple(kinds)
    bad = set(parts) - {"low", "rain", "snow", "haze"}
    if bad or "_".join(p for p in ("low", "haze", "rain", "snow") if p in parts) not in CDD11_TYPES:
        raise ValueError(f"not a CDD-11 type: {kinds!r}; choose from {CDD11_TYPES}")
    params: dict[str, Any] = {"type": "_".join(p for p in ("low", "haze", "rain", "snow") if p in parts)}
    h, w = x.shape[:2]
    if "low" in parts:
        x, params["low"] = cdd_low(x, rng)
    if "rain" in parts:
        layer, params["rain"] = rain_layer(h, w, rng, density=_u(rng, *CDD_RANGES["rain_density"]),
                                           brightness=_u(rng, *CDD_RANGES["rain_brightness"]))
        x = x + layer[..., None]
    if "snow" in parts:
        m, params["snow"] = snow_mask(h, w, rng)
        x = x * (1 - m[..., None]) + m[..., None]
    if "haze" in parts:
        hp: dict[str, Any] = {}
        if depth is None:
            depth, hp = synthetic_depth(h, w, rng)
        else:
            hp = {"depth": "given"}
        d = ndimage.uniform_filter(np.asarray(depth, dtype=np.float64), size=22, mode="reflect")
        beta = _u(rng, *CDD_RANGES["beta"])
        A = _u(rng, *CDD_RANGES["A"])
        t = np.exp(-beta * np.minimum(d, CDD_RANGES["d_cap"]))[..., None]
        x = x * t + A * (1 - t)
        params["haze"] = {**hp, "beta": beta, "A": A}
    return _q(np.clip(x, 0.0, 1.0)), params


# ----------------------------------------------------------------------------------------------------------
# dispatch
# ----------------------------------------------------------------------------------------------------------


def degrade(img: np.ndarray, task: str, rng: Any = None, *, depth: np.ndarray | None = None,
            **kw) -> tuple[np.ndarray, dict]:
    """Apply the degradation named by a task label (see the module docstring) and return
    ``(degraded float32 (H, W, 3) in [0, 1], params)``; ``params["task"]`` is the label.

    ``depth`` (normalised, 1 = far) is used by ``haze`` and the CDD types containing haze; other keyword
    arguments go to the underlying function (e.g. ``k=1.5`` for haze)."""
    rng = as_rng(rng)
    if task in NOISE_TASKS:
        out, p = add_gaussian_noise(img, NOISE_TASKS[task], rng)
    elif task == "rain":
        out, p = add_rain(img, rng, **kw)
    elif task == "haze":
        out, p = add_haze(img, rng, depth=depth, **kw)
    elif task == "blur":
        out, p = add_motion_blur(img, rng, **kw)
    elif task == "lowlight":
        out, p = add_low_light(img, rng, **kw)
    elif task in JPEG_TASKS:
        out, p = jpeg_compress(img, JPEG_TASKS[task], **kw)
    elif task in CDD11_TASKS:
        out, p = cdd_composite(img, task[4:], rng, depth=depth)
    else:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    return out, {"task": task, **p}
