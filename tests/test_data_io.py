"""clusir.data.io.read_image: every odd input gets a documented conversion or an error naming the file."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from clusir.data.io import (ImageFormatError, ImageReadError, ImageSizeError, crop_to_multiple, pixel_sha256,
                            read_image, read_pair, to_uint8, write_png)


def _rgb(h=20, w=30, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3)).astype(np.uint8)


def test_rgb_png_roundtrip(tmp_path):
    a = _rgb()
    p = tmp_path / "a.png"
    Image.fromarray(a).save(p)
    x = read_image(p)
    assert x.dtype == np.float32 and x.shape == (20, 30, 3)
    assert np.array_equal(to_uint8(x), a)


def test_grey_is_replicated_or_refused(tmp_path):
    g = _rgb()[..., 0]
    p = tmp_path / "g.png"
    Image.fromarray(g).save(p)
    x = read_image(p)
    assert x.shape == (20, 30, 3)
    assert np.array_equal(x[..., 0], x[..., 2]) and np.array_equal(to_uint8(x[..., 1]), g)
    with pytest.raises(ImageFormatError, match="g.png"):
        read_image(p, grey="error")


def test_rgba_opaque_dropped_transparent_refused(tmp_path):
    a = np.dstack([_rgb(), np.full((20, 30), 255, np.uint8)])
    p = tmp_path / "opaque.png"
    Image.fromarray(a, "RGBA").save(p)
    assert np.array_equal(to_uint8(read_image(p)), a[..., :3])
    a[0, 0, 3] = 0
    q = tmp_path / "transparent.png"
    Image.fromarray(a, "RGBA").save(q)
    with pytest.raises(ImageFormatError, match="transparent.png.*alpha"):
        read_image(q)
    white = read_image(q, alpha="white")
    assert np.allclose(white[0, 0], 1.0)
    assert np.allclose(read_image(q, alpha="black")[0, 0], 0.0)


def test_palette_png(tmp_path):
    p = tmp_path / "p.png"
    Image.fromarray(_rgb()).convert("P").save(p)
    assert read_image(p).shape == (20, 30, 3)


def test_16bit_grey_full_precision(tmp_path):
    v = (np.arange(20 * 30).reshape(20, 30) * 97 % 65536).astype(np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(v).save(p)
    x = read_image(p)
    assert np.allclose(x[..., 0], v / 65535.0, atol=1e-6)


def _png16_rgb(path, arr, filters):
    """Write a 16-bit RGB PNG by hand, one filter type per row, so the decoder's unfiltering is exercised."""
    h, w, _ = arr.shape
    raw = np.frombuffer(arr.astype(">u2").tobytes(), np.uint8).reshape(h, w * 6).astype(np.int32)
    bpp = 6
    out = bytearray()
    prev = np.zeros(w * 6, np.int32)
    for y in range(h):
        f = filters[y % len(filters)]
        line = raw[y]
        left = np.concatenate([np.zeros(bpp, np.int32), line[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        if f == 0:
            enc = line
        elif f == 1:
            enc = line - left
        elif f == 2:
            enc = line - prev
        elif f == 3:
            enc = line - (left + prev) // 2
        else:
            pa, pb, pc = np.abs(prev - upleft), np.abs(left - upleft), np.abs(left + prev - 2 * upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            enc = line - pred
        out.append(f)
        out += bytes((enc % 256).astype(np.uint8))
        prev = line

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(out)))
                     + chunk(b"IEND", b""))


def test_16bit_rgb_decoded_at_full_precision(tmp_path):
    arr = np.random.RandomState(1).randint(0, 65536, (9, 7, 3)).astype(np.uint16)
    p = tmp_path / "rgb16.png"
    _png16_rgb(p, arr, filters=[0, 1, 2, 3, 4])
    x = read_image(p)
    assert np.allclose(x, arr / 65535.0, atol=1e-6)
    # the low byte matters: Pillow alone would keep only the high byte
    assert not np.allclose(x, (arr >> 8) / 255.0, atol=1e-4)


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"not an image at all", "not a recognised image")])
def test_garbage_files(tmp_path, content, match):
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(ImageReadError, match=match) as e:
        read_image(p)
    assert "bad.png" in str(e.value)


def test_truncated_png_and_jpeg(tmp_path):
    for ext in ("png", "jpg"):
        p = tmp_path / f"full.{ext}"
        Image.fromarray(_rgb(64, 64)).save(p)
        data = p.read_bytes()
        q = tmp_path / f"cut.{ext}"
        q.write_bytes(data[: len(data) // 2])
        with pytest.raises(ImageReadError, match=f"cut.{ext}"):
            read_image(q)


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_too_small_and_mismatched_pair(tmp_path):
    p = tmp_path / "small.png"
    Image.fromarray(_rgb(20, 30)).save(p)
    with pytest.raises(ImageSizeError, match="small.png.*20x30.*64x64"):
        read_image(p, min_size=64)
    q = tmp_path / "other.png"
    Image.fromarray(_rgb(21, 30)).save(q)
    with pytest.raises(ImageSizeError, match="small.png.*other.png"):
        read_pair(p, q)


def test_float32_tiff_refused(tmp_path):
    p = tmp_path / "f.tif"
    Image.fromarray(np.ones((8, 8), np.float32)).save(p)
    with pytest.raises(ImageFormatError, match="f.tif"):
        read_image(p)


def test_hash_is_of_pixels_not_bytes(tmp_path):
    a = _rgb()
    p1, p2 = tmp_path / "1.png", tmp_path / "2.png"
    Image.fromarray(a).save(p1, compress_level=1)
    write_png(p2, a)
    assert p1.read_bytes() != p2.read_bytes()
    assert pixel_sha256(read_image(p1)) == pixel_sha256(read_image(p2)) == pixel_sha256(a)
    assert pixel_sha256(a) != pixel_sha256(a.reshape(30, 20, 3))  # the shape is part of the hash


def test_crop_to_multiple_numpy_and_torch():
    import torch

    a = np.zeros((37, 50, 3))
    assert crop_to_multiple(a, 16).shape == (32, 48, 3)
    assert tuple(crop_to_multiple(torch.zeros(2, 3, 37, 50), 16).shape) == (2, 3, 32, 48)
    a[2:34, 1:49] = 1.0  # the centre crop keeps exactly this window: rows 2..33, cols 1..48
    assert crop_to_multiple(a, 16).min() == 1.0
    assert crop_to_multiple(a, 0) is a and crop_to_multiple(a, None) is a  # 0 / None: no crop
    t = torch.arange(37 * 50.0).reshape(1, 37, 50)
    assert torch.equal(crop_to_multiple(t, 16)[0], t[0, 2:34, 1:49])
