"""Reading and writing images, with every conversion spelled out.

All of clusir works on ``float32`` arrays of shape ``(H, W, 3)`` with values in ``[0, 1]``. ``read_image`` is
the one door into that format, and it never converts silently:

==========================  ======================================================================
what the file holds          what ``read_image`` does
==========================  ======================================================================
8-bit RGB                    ``/ 255``
8-bit grey (``L``)           replicated to three equal channels (``grey="replicate"``, the default);
                             ``grey="error"`` raises instead
palette (``P``), ``CMYK``,   converted to RGB by Pillow (palette lookup / naive CMYK inversion)
``YCbCr``, ``1`` (bilevel)
RGBA / LA / palette with     alpha dropped if every pixel is opaque; otherwise ``ImageFormatError``
transparency                 unless ``alpha="white"`` or ``alpha="black"`` (composite on that colour)
                             or ``alpha="drop"``
16-bit grey PNG / TIFF       ``/ 65535`` at full precision, then replicated
16-bit RGB(A) PNG            decoded by a small PNG decoder in this module at full precision
                             (Pillow would keep only the high byte); ``/ 65535``
32-bit int / float images    ``ImageFormatError`` (no agreed scale)
corrupt / truncated file     ``ImageReadError`` naming the file and what Pillow said
smaller than ``min_size``    ``ImageSizeError`` naming the file and both sizes
==========================  ======================================================================

Errors are subclasses of ``ValueError`` and always carry the path. ``read_pair`` adds the paired-file check
(same size, or a clear error naming both files).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class ImageReadError(ValueError):
    """The file could not be decoded (missing, not an image, corrupt or truncated)."""


class ImageFormatError(ValueError):
    """The file decodes, but its pixel format has no documented conversion to RGB [0, 1]."""


class TransparencyError(ImageFormatError):
    """The image has transparent pixels and no ``alpha`` rule was given (``white``, ``black`` or ``drop``)."""


class ImageSizeError(ValueError):
    """The image is smaller than required, or two paired images differ in size."""


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


# ----------------------------------------------------------------------------------------------------------
# 16-bit colour PNG decoding (Pillow reduces 16-bit RGB to 8 bits)
# ----------------------------------------------------------------------------------------------------------

_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png_header(data: bytes) -> tuple[int, int, int, int, int] | None:
    """(width, height, bit depth, colour type, interlace) from a PNG's IHDR, or None if not a PNG."""
    if len(data) < 33 or data[:8] != _PNG_SIG or data[12:16] != b"IHDR":
        return None
    w, h, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return w, h, depth, ctype, interlace


def _unfilter(raw: np.ndarray, h: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the PNG scanline filters (None, Sub, Up, Average, Paeth) of ``h`` rows of ``stride`` bytes."""
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    pos = 0
    for y in range(h):
        ftype = int(raw[pos])
        line = raw[pos + 1: pos + 1 + stride].astype(np.int32)
        pos += 1 + stride
        if ftype == 0:
            cur = line
        elif ftype == 1:  # Sub: running sum mod 256 within each byte lane
            lanes = np.zeros(stride + (-stride) % bpp, dtype=np.int32)
            lanes[:stride] = line
            cur = (np.cumsum(lanes.reshape(-1, bpp), axis=0) % 256).reshape(-1)[:stride]
        elif ftype == 2:  # Up
            cur = (line + prev) % 256
        elif ftype in (3, 4):  # Average / Paeth: recursive in the left neighbour, one pixel at a time
            cur = np.zeros(stride, dtype=np.int32)
            for x in range(0, stride, bpp):
                a = cur[x - bpp: x] if x >= bpp else np.zeros(bpp, dtype=np.int32)
                b = prev[x: x + bpp]
                if ftype == 3:
                    pred = (a + b) // 2
                else:
                    c = prev[x - bpp: x] if x >= bpp else np.zeros(bpp, dtype=np.int32)
                    p = a + b - c
                    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
                    pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
                cur[x: x + bpp] = (line[x: x + bpp] + pred) % 256
        else:
            raise ValueError(f"unknown PNG filter type {ftype} in row {y}")
        out[y] = cur
        prev = cur
    return out


def _decode_png16(data: bytes, path: str) -> np.ndarray:
    """Decode a non-interlaced 16-bit grey/GA/RGB/RGBA PNG into a uint16 (H, W, C) array."""
    w, h, depth, ctype, interlace = _png_header(data)  # type: ignore[misc]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 16 or channels is None:
        raise ImageFormatError(f"{path}: internal error, not a 16-bit PNG")
    if interlace:
        raise ImageFormatError(
            f"{path}: interlaced 16-bit PNG is not supported; re-save it non-interlaced "
            "(e.g. `python -c \"import imageio.v3 as i; i.imwrite('out.png', i.imread('in.png'))\"`)")
    pos, chunks = 8, []
    while pos + 8 <= len(data):
        length, ctype_b = struct.unpack(">I4s", data[pos: pos + 8])
        if ctype_b == b"IDAT":
            chunks.append(data[pos + 8: pos + 8 + length])
        if ctype_b == b"IEND":
            break
        pos += 12 + length
    try:
        raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    except zlib.error as exc:
        raise ImageReadError(f"{path}: corrupt or truncated PNG data ({exc})") from exc
    bpp = 2 * channels
    stride = w * bpp
    if raw.size < h * (stride + 1):
        raise ImageReadError(f"{path}: truncated PNG ({raw.size} of {h * (stride + 1)} bytes of pixel data)")
    rows = _unfilter(raw, h, stride, bpp)
    return rows.view(">u2").reshape(h, w, channels).astype(np.uint16)


# ----------------------------------------------------------------------------------------------------------
# the public readers
# ----------------------------------------------------------------------------------------------------------


def _handle_alpha(rgb: np.ndarray, alpha: np.ndarray, path: str, mode: str) -> np.ndarray:
    """rgb float (H,W,3), alpha float (H,W) in [0,1]."""
    if mode == "drop" or float(alpha.min()) >= 1.0:
        return rgb
    if mode in ("white", "black"):
        bg = 1.0 if mode == "white" else 0.0
        return rgb * alpha[..., None] + bg * (1.0 - alpha[..., None])
    frac = float((alpha < 1.0).mean())
    raise TransparencyError(
        f"{path}: has an alpha channel with transparent pixels ({frac:.1%} of pixels not opaque); "
        "restoration data sets are opaque RGB. Pass alpha='white', 'black' (composite) or 'drop' "
        "to read_image, or flatten the file first.")


def read_image(path: str | os.PathLike, *, min_size: int | tuple[int, int] | None = None,
               grey: str = "replicate", alpha: str = "error") -> np.ndarray:
    """Read an image file as ``float32`` ``(H, W, 3)`` in ``[0, 1]`` (see the module docstring for the rules).

    Args:
        path: the file.
        min_size: raise :class:`ImageSizeError` if the image is smaller than this (an int for both sides,
            or ``(min_h, min_w)``), e.g. the training crop size.
        grey: ``"replicate"`` (default) copies a single-channel image into R, G and B; ``"error"`` refuses it.
        alpha: what to do with transparent pixels: ``"error"`` (default), ``"white"``, ``"black"``, ``"drop"``.
            Fully opaque alpha channels are always dropped (that loses nothing).
    """
    from PIL import Image, UnidentifiedImageError

    path = str(path)
    if grey not in ("replicate", "error"):
        raise ValueError(f"grey must be 'replicate' or 'error', not {grey!r}")
    if alpha not in ("error", "white", "black", "drop"):
        raise ValueError(f"alpha must be 'error', 'white', 'black' or 'drop', not {alpha!r}")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read the file ({exc})") from exc
    if not data:
        raise ImageReadError(f"{path}: the file is empty (0 bytes)")

    hdr = _png_header(data)
    if hdr is not None and hdr[2] == 16 and hdr[3] in (2, 4, 6):
        arr16 = _decode_png16(data, path)
        x = arr16.astype(np.float32) / 65535.0
        if x.shape[2] == 2:  # grey + alpha
            rgb, a = np.repeat(x[..., :1], 3, axis=2), x[..., 1]
            if grey == "error":
                raise ImageFormatError(f"{path}: single-channel (grey) image; expected RGB")
            out = _handle_alpha(rgb, a, path, alpha)
        elif x.shape[2] == 4:
            out = _handle_alpha(x[..., :3], x[..., 3], path, alpha)
        else:
            out = x
    else:
        try:
            im = Image.open(io.BytesIO(data))
            im.load()
        except UnidentifiedImageError as exc:
            raise ImageReadError(f"{path}: not a recognised image file (Pillow cannot identify it)") from exc
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
            raise ImageReadError(f"{path}: corrupt or truncated image ({exc})") from exc
        out = _pil_to_float(im, path, grey=grey, alpha=alpha)

    out = np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)
    if min_size is not None:
        mh, mw = (min_size, min_size) if isinstance(min_size, int) else min_size
        if out.shape[0] < mh or out.shape[1] < mw:
            raise ImageSizeError(
                f"{path}: image is {out.shape[0]}x{out.shape[1]} (HxW), smaller than the required "
                f"{mh}x{mw}; remove it, or lower the crop size")
    return out


def _pil_to_float(im, path: str, *, grey: str, alpha: str) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        if grey == "error":
            raise ImageFormatError(f"{path}: single-channel (grey, 16-bit) image; expected RGB")
        x = np.asarray(im, dtype=np.float32) / 65535.0
        return np.repeat(x[..., None], 3, axis=2)
    if mode in ("I", "F"):
        arr = np.asarray(im)
        # Pillow opens 16-bit grey PNGs as mode "I"; the PNG header tells them apart from real 32-bit data
        if getattr(im, "format", None) == "PNG" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
            if grey == "error":
                raise ImageFormatError(f"{path}: single-channel (grey, 16-bit) image; expected RGB")
            x = arr.astype(np.float32) / 65535.0
            return np.repeat(x[..., None], 3, axis=2)
        raise ImageFormatError(
            f"{path}: 32-bit {'float' if mode == 'F' else 'integer'} single-channel image; there is no agreed "
            "scale to map it to [0, 1]. Convert it to an 8- or 16-bit PNG first.")
    if mode in ("L", "1"):
        if grey == "error":
            raise ImageFormatError(f"{path}: single-channel (grey) image; expected RGB")
        x = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        return np.repeat(x[..., None], 3, axis=2)
    if mode == "LA" or (mode == "P" and "transparency" in im.info) or mode in ("RGBA", "PA", "RGBa", "La"):
        if mode in ("LA", "La") and grey == "error":
            raise ImageFormatError(f"{path}: single-channel (grey) image with alpha; expected RGB")
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        return _handle_alpha(rgba[..., :3], rgba[..., 3], path, alpha)
    if mode == "RGB":
        return np.asarray(im, dtype=np.float32) / 255.0
    if mode in ("P", "CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    raise ImageFormatError(f"{path}: unsupported pixel mode {mode!r}")


def read_pair(lq_path: str | os.PathLike, gt_path: str | os.PathLike, *,
              min_size: int | tuple[int, int] | None = None, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Read a (degraded, clean) pair and insist on equal sizes.

    A size mismatch raises :class:`ImageSizeError` naming both files (it usually means the pair is wrong,
    e.g. a GT file of another scene, or a data set whose inputs were cropped differently).
    """
    lq = read_image(lq_path, min_size=min_size, **kw)
    gt = read_image(gt_path, min_size=min_size, **kw)
    if lq.shape != gt.shape:
        raise ImageSizeError(
            f"mismatched pair: {lq_path} is {lq.shape[0]}x{lq.shape[1]} but {gt_path} is "
            f"{gt.shape[0]}x{gt.shape[1]} (HxW); the degraded input and its ground truth must be the same size")
    return lq, gt


# ----------------------------------------------------------------------------------------------------------
# 8-bit helpers, hashing, writing
# ----------------------------------------------------------------------------------------------------------


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float [0,1] -> uint8 by rounding half to even (``np.rint``) after clipping. The one quantiser used for
    stored images and hashes (the noise task keeps PromptIR's truncation, see ``degradations``)."""
    return np.rint(np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def from_uint8(arr: np.ndarray) -> np.ndarray:
    return np.asarray(arr, dtype=np.float32) / np.float32(255.0)


def pixel_sha256(img: np.ndarray) -> str:
    """SHA-256 of the decoded pixels (uint8, C order) plus the shape: never of file bytes, which change with
    the PNG/JPEG encoder (zlib vs zlib-ng) while the pixels do not. Float input is quantised with ``to_uint8``."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)
    h = hashlib.sha256()
    h.update(("x".join(map(str, arr.shape)) + ":").encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def write_png(path: str | os.PathLike, img: np.ndarray) -> None:
    """Write float [0,1] (quantised with ``to_uint8``) or uint8 RGB as an 8-bit PNG (``write_image``)."""
    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"{path}: write_png writes .png files; use write_image for other formats")
    write_image(path, img)


#: output extension -> (Pillow format, save options); ``write_image`` refuses any other extension
WRITE_FORMATS = {".png": ("PNG", {"optimize": True}), ".jpg": ("JPEG", {"quality": 95, "subsampling": 0}),
                 ".jpeg": ("JPEG", {"quality": 95, "subsampling": 0}), ".bmp": ("BMP", {}),
                 ".tif": ("TIFF", {"compression": "tiff_lzw"}), ".tiff": ("TIFF", {"compression": "tiff_lzw"}),
                 ".webp": ("WEBP", {"lossless": True})}


def write_image(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write float [0,1] or uint8 RGB in the format the extension names (``WRITE_FORMATS``: PNG, JPEG at
    quality 95 without chroma subsampling, BMP, TIFF (LZW), lossless WebP), atomically: a temporary file
    in the same folder is renamed over ``path`` only once it is complete. Another extension raises
    ``ValueError`` before anything is written."""
    from PIL import Image

    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot write a {path.suffix or 'extension-less'} file; use one of "
                         f"{', '.join(WRITE_FORMATS)}")
    arr = np.asarray(img)
    arr = arr if arr.dtype == np.uint8 else to_uint8(arr)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        Image.fromarray(arr).save(tmp, format=fmt[0], **fmt[1])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def crop_to_multiple(img, base: int | None = 16):
    """Centre-crop H and W down to multiples of ``base`` (PromptIR/AdaIR ``crop_img(base=16)``); the one
    crop helper of clusir (data loaders, ``metrics.protocol``, ``evaluate``). ``base`` 0 or None: no crop.

    Accepts numpy ``(H, W, C)`` or torch ``(C, H, W)`` / ``(B, C, H, W)``; returns a view."""
    if not base:
        return img
    hw_axes = (0, 1) if isinstance(img, np.ndarray) else (img.ndim - 2, img.ndim - 1)
    h, w = img.shape[hw_axes[0]], img.shape[hw_axes[1]]
    nh, nw = h - h % base, w - w % base
    t, l = (h - nh) // 2, (w - nw) // 2
    if isinstance(img, np.ndarray):
        return img[t: t + nh, l: l + nw]
    return img[..., t: t + nh, l: l + nw]


def dihedral(img: np.ndarray, mode: int) -> np.ndarray:
    """One of the 8 flips/transposes of an (H, W, C) array, the training augmentation: bit 0 flips left-right,
    bit 1 flips up-down, bit 2 swaps H and W. Returns a contiguous array."""
    if mode & 1:
        img = img[:, ::-1]
    if mode & 2:
        img = img[::-1]
    if mode & 4:
        img = img.transpose(1, 0, 2)
    return np.ascontiguousarray(img)
