"""`clusir restore`: restore your own photograph (any size, tiled so that memory stays bounded).

    clusir restore photo.jpg                               # → photo_restored.png, released nhr/nano weights
    clusir restore photo.jpg out.png --checkpoint runs/x/best.pt --tile 256 --overlap 32
    clusir restore logo.png out.png --alpha white          # transparent pixels composited on white

The input is never overwritten: OUT may not be IN, an existing OUT is refused unless --force, and OUT is
written atomically in the format its extension names (.png, .jpg/.jpeg at quality 95, .bmp, .tif/.tiff,
.webp lossless); another extension is refused before any work is done.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="restore an image file with a trained checkpoint",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, ...)")
    p.add_argument("output", metavar="OUT", nargs="?",
                   help="output image; its extension picks the format (default: IN_restored.png)")
    p.add_argument("--checkpoint", help="training or released checkpoint (default: the released default)")
    p.add_argument("--tile", type=int, default=256, help="tile side in pixels, 0 = whole image (default 256)")
    p.add_argument("--overlap", type=int, default=32, help="overlap between tiles (default 32)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--alpha", choices=("white", "black", "drop"), default=None,
                   help="for an input with transparent pixels: composite on white or black, or drop the alpha "
                        "channel (default: refuse such an input)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists (never IN)")
    p.set_defaults(func=_run)


def default_checkpoint(setting: str | None = None) -> Path:
    """The released checkpoint marked ``default`` in checkpoints/manifest.json (or the first for ``setting``)."""
    import json

    from clusir.runtime import repo_root
    from clusir.cli import CLIError

    manifest = repo_root() / "checkpoints" / "manifest.json"
    if not manifest.is_file():
        raise CLIError(f"no --checkpoint given and no released checkpoints ({manifest} missing)")
    entries = json.loads(manifest.read_text())["checkpoints"]
    pick = [e for e in entries if (setting is None and e.get("default")) or (setting and e["setting"] == setting)]
    if not pick:
        raise CLIError(f"no released checkpoint for setting {setting!r}; pass --checkpoint")
    return manifest.parent / pick[0]["file"]


def _output_path(src: Path, output: str | None, force: bool) -> Path:
    """Where to write: refuse IN itself, an existing file without ``--force``, and formats we cannot write."""
    from clusir.cli import CLIError
    from clusir.data.io import WRITE_FORMATS

    out = Path(output) if output else src.with_name(src.stem + "_restored.png")
    if out.suffix.lower() not in WRITE_FORMATS:
        raise CLIError(f"{out}: cannot write a {out.suffix or 'extension-less'} file; "
                       f"use one of {', '.join(WRITE_FORMATS)}")
    if out.resolve() == src.resolve() or (out.exists() and src.exists() and out.samefile(src)):
        raise CLIError(f"{out} is the input file; refusing to overwrite your original. Name another OUT.")
    if out.exists() and not force:
        raise CLIError(f"{out} already exists; pass --force to overwrite it, or name another OUT")
    return out


def _read_input(src: Path, alpha: str | None):
    from clusir.cli import CLIError
    from clusir.data.io import TransparencyError, read_image

    try:
        return read_image(src, alpha=alpha or "error")            # float32 (H, W, 3) in [0, 1]
    except TransparencyError as exc:
        raise CLIError(f"{exc.args[0].split(';')[0]}; pass --alpha white or --alpha black to composite it on "
                       "that colour, or --alpha drop to ignore the alpha channel") from exc
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def _run(args) -> int:
    import torch

    from clusir.runtime import default_threads, resolve_device
    from clusir.cli import CLIError
    from clusir.data.io import write_image
    from clusir.evaluate import restore_image
    from clusir.train.checkpoint import load_model

    torch.set_num_threads(default_threads())
    src = Path(args.input)
    out = _output_path(src, args.output, args.force)
    ckpt = Path(args.checkpoint) if args.checkpoint else default_checkpoint()
    if args.tile and (args.tile % 16 or not 0 <= args.overlap < args.tile):
        raise CLIError("--tile must be a multiple of 16 and --overlap in [0, tile)")
    img = _read_input(src, args.alpha)
    try:
        model, _ = load_model(ckpt, device=resolve_device(args.device))
    except (ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    dev = next(model.parameters()).device
    x = torch.from_numpy(img).permute(2, 0, 1)[None].to(dev)  # (1, 3, H, W)
    t0 = time.perf_counter()
    y = restore_image(model, x, tile=args.tile or None, overlap=args.overlap)
    dt = time.perf_counter() - t0
    write_image(out, y[0].permute(1, 2, 0).cpu().numpy())
    h, w = img.shape[:2]
    print(f"restored {src} ({w}×{h}) with {ckpt.name} in {dt:.1f} s"
          + (f", {args.tile}-px tiles" if args.tile and max(h, w) > args.tile else "") + f" → {out}")
    return 0
