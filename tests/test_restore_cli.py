"""`clusir restore` with bad input, as a new user would try it: every case ends in a clear one-line error
(exit 2) or the documented behaviour, and the user's input file is never changed."""

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clusir.cli import main
from clusir.model import build_model
from clusir.train.checkpoint import atomic_save


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    """An untrained nano checkpoint in the training format."""
    torch.manual_seed(0)
    model = build_model("nano")
    path = tmp_path_factory.mktemp("ckpt") / "last.pt"
    atomic_save({"model": model.state_dict(), "model_config": model.config.to_dict(), "step": 0}, path)
    return path


def photo(path: Path, mode: str = "RGB", size=(40, 36)) -> Path:
    rng = np.random.RandomState(0)
    a = rng.randint(0, 256, (size[1], size[0], len(mode))).astype(np.uint8)
    if mode == "RGBA":
        a[..., 3] = 255
        a[:10, :10, 3] = 0  # transparent corner
    Image.fromarray(a, mode).save(path)
    return path


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def run(capsys, *argv) -> tuple[int, str]:
    rc = main(["restore", *map(str, argv), "--device", "cpu"])
    cap = capsys.readouterr()
    return rc, cap.err + cap.out


def test_never_overwrites_the_input(tmp_path, capsys, ckpt):
    src = photo(tmp_path / "photo.png")
    before = digest(src)
    rc, msg = run(capsys, src, src, "--checkpoint", ckpt)
    assert rc == 2 and "is the input file" in msg and "photo.png" in msg
    rc, msg = run(capsys, src, tmp_path / "." / "photo.png", "--checkpoint", ckpt, "--force")
    assert rc == 2 and "is the input file" in msg  # --force never allows it either
    (tmp_path / "link.png").symlink_to(src)
    rc, msg = run(capsys, src, tmp_path / "link.png", "--checkpoint", ckpt, "--force")
    assert rc == 2 and "is the input file" in msg
    assert digest(src) == before


def test_existing_output_needs_force(tmp_path, capsys, ckpt):
    src = photo(tmp_path / "photo.png")
    out = tmp_path / "out.png"
    out.write_bytes(b"my other picture")
    rc, msg = run(capsys, src, out, "--checkpoint", ckpt)
    assert rc == 2 and "already exists" in msg and "--force" in msg
    assert out.read_bytes() == b"my other picture"
    assert run(capsys, src, out, "--checkpoint", ckpt, "--force")[0] == 0
    assert Image.open(out).format == "PNG"


def test_output_format_follows_the_extension(tmp_path, capsys, ckpt):
    src = photo(tmp_path / "photo.png")
    before = digest(src)
    for name, fmt in (("out.jpg", "JPEG"), ("out.jpeg", "JPEG"), ("out.webp", "WEBP"), ("out.tif", "TIFF"),
                      ("out.bmp", "BMP")):
        assert run(capsys, src, tmp_path / name, "--checkpoint", ckpt)[0] == 0
        with Image.open(tmp_path / name) as im:
            assert im.format == fmt and im.size == (40, 36)
    rc, msg = run(capsys, src, tmp_path / "out.gif", "--checkpoint", ckpt)
    assert rc == 2 and "cannot write a .gif" in msg and ".png" in msg
    assert not (tmp_path / "out.gif").exists() and not list(tmp_path.glob(".*.part"))
    assert digest(src) == before


@pytest.mark.parametrize("kind", ["garbage", "tiny", "truncated", "foreign_pickle", "not_a_dict", "no_model"])
def test_bad_checkpoint_is_one_clear_line(tmp_path, capsys, ckpt, kind):
    src = photo(tmp_path / "photo.png")
    bad = tmp_path / "bad.pt"
    if kind == "garbage":
        bad.write_bytes(b"this is not a checkpoint")
    elif kind == "tiny":
        bad.write_bytes(b"junk")
    elif kind == "truncated":
        bad.write_bytes(ckpt.read_bytes()[:5000])
    elif kind == "foreign_pickle":
        bad.write_bytes(pickle.dumps({"model": Path("/etc")}))  # a Python object torch's safe loader refuses
    elif kind == "not_a_dict":
        torch.save(torch.zeros(3), bad)
    else:
        torch.save({"weights": torch.zeros(3)}, bad)
    before = digest(src)
    rc, msg = run(capsys, src, tmp_path / "out.png", "--checkpoint", bad)
    assert rc == 2 and str(bad) in msg
    assert "weights_only" not in msg and "Traceback" not in msg
    assert len(msg.strip().splitlines()) == 1, msg
    assert not (tmp_path / "out.png").exists() and digest(src) == before


def test_transparent_input_needs_alpha(tmp_path, capsys, ckpt):
    src = photo(tmp_path / "logo.png", "RGBA")
    before = digest(src)
    rc, msg = run(capsys, src, tmp_path / "out.png", "--checkpoint", ckpt)
    assert rc == 2 and "--alpha white" in msg and "--alpha drop" in msg and "logo.png" in msg
    assert "read_image" not in msg  # advice a CLI user can follow
    for mode in ("white", "black", "drop"):
        out = tmp_path / f"out_{mode}.png"
        assert run(capsys, src, out, "--checkpoint", ckpt, "--alpha", mode)[0] == 0
        assert Image.open(out).mode == "RGB"
    assert digest(src) == before
