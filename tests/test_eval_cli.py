"""`clusir eval` / `clusir restore` / evaluation helpers: paper-shaped tables with labelled SSIM conventions,
JSON output, tiled restoration of a 1000×700 photograph on CPU within bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from clusir.cli import main
from clusir.evaluate import IdentityRestorer, evaluate_model, format_table, paper_table_name, task_order
from clusir.train.checkpoint import atomic_save, export_release, load_model
from clusir.train.config import TrainConfig, apply_overrides, config_to_dict

ROOT = Path(__file__).resolve().parents[1]
#: run the CLI in a child that reports its own peak resident set size
PEAK = ("import resource, sys; from clusir.cli import main; rc = main(sys.argv[1:]); "
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")


@pytest.fixture(scope="module")
def nano_ckpt(tmp_path_factory) -> Path:
    """An untrained nano checkpoint in the training format (what `clusir train` writes)."""
    from clusir.model import build_model

    torch.manual_seed(0)
    model = build_model("nano")
    cfg = apply_overrides(TrainConfig(), ["model=nano", "data.setting=nhr"])
    path = tmp_path_factory.mktemp("ckpt") / "last.pt"
    atomic_save({"model": model.state_dict(), "config": config_to_dict(cfg), "model_config": model.config.to_dict(),
                 "step": 0}, path)
    return path


def _fake(tasks, psnr0=20.0):
    return {"tasks": {t: {"psnr": psnr0 + i, "ssim_skimage7": 0.5 + i / 100, "ssim_gaussian11": 0.4 + i / 100, "n": 1}
                      for i, t in enumerate(tasks)}}


@pytest.mark.parametrize("setting, table, first, last", [
    ("nhr", "Table 1 (N+H+R)", "σ=15", "rain"),
    ("nhrbl", "Table 2 (N+H+R+B+L)", "σ=25", "low-light"),
    ("cdd11", "Table 6 (composite, CDD-11)", "L", "L+H+S"),
    ("derain", "Table 3 (one-by-one, derain)", "rain", "rain"),
])
def test_tables_are_shaped_like_the_paper(setting, table, first, last):
    from clusir.data import SETTINGS

    tasks = list(SETTINGS[setting])
    text = format_table({"Input": _fake(tasks[::-1], 10.0), "ClusIR-nano": _fake(tasks)}, setting, convention="gaussian11")
    lines = text.splitlines()
    assert lines[0].startswith(table) and paper_table_name(setting) == table
    assert "SSIM convention: gaussian11" in lines[1] and "Wang" in lines[1]
    header = [c.strip() for c in lines[3].split("|")]
    assert header[0] == "Method" and header[1] == first and header[-2] == last and header[-1] == "Average"
    assert task_order(setting, tasks[::-1]) == tasks          # columns in the paper's order
    row = [c.strip() for c in lines[-1].split("|")]
    assert row[1] == "20.00/0.400"                             # PSNR/SSIM cells
    n = len(tasks)
    assert row[-1] == f"{20 + (n - 1) / 2:.2f}/{0.4 + (n - 1) / 200:.3f}"


def test_evaluate_model_protocol_crops_to_16_and_clamps():
    class Over(IdentityRestorer):
        def restore(self, x):
            return x * 3                                       # out of range: must be clamped

    gt = torch.full((3, 40, 37), 0.5)
    res = evaluate_model(Over(), [{"name": "a", "task": "haze", "lq": gt.clone(), "gt": gt}], ssim=True)
    row = res["images"][0]
    assert abs(row["psnr"] - 10 * np.log10(1 / 0.25)) < 1e-9    # clamp(1.5) = 1 → error 0.5
    assert set(res["conventions"]) == {"psnr", "ssim_skimage7", "ssim_gaussian11"}
    assert "multiple of 16" in res["protocol"]


@pytest.mark.slow
def test_eval_cli_prints_tables_and_writes_json(nano_ckpt, tmp_path, capsys):
    out = tmp_path / "res.json"
    assert main(["eval", "--checkpoint", str(nano_ckpt), "--limit", "1", "--json", str(out), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "Table 1 (N+H+R)" in text and "SSIM convention: skimage7" in text and "SSIM convention: gaussian11" in text
    assert "Input (degraded)" in text and "ClusIR-nano (last.pt)" in text
    data = json.loads(out.read_text())
    assert data["setting"] == "nhr" and len(data["sha256"]) == 64
    assert set(data["model"]["tasks"]) == {"noise15", "noise25", "noise50", "haze", "rain"}
    assert all(v["n"] == 1 for v in data["model"]["tasks"].values())


def test_release_export_is_fp16_and_reloads(nano_ckpt, tmp_path):
    from clusir.train.checkpoint import load_checkpoint

    rel = export_release(load_checkpoint(nano_ckpt), tmp_path / "r.pt", metrics={"mean": {"psnr": 1.0}})
    st = load_checkpoint(rel)
    assert all(v.dtype == torch.float16 for v in st["model"].values() if v.is_floating_point())
    assert rel.stat().st_size < 0.6 * nano_ckpt.stat().st_size
    model, meta = load_model(rel)
    assert meta["metrics"]["mean"]["psnr"] == 1.0 and next(model.parameters()).dtype == torch.float32
    x = torch.rand(1, 3, 32, 32)
    ref, _ = load_model(nano_ckpt)
    with torch.no_grad():
        torch.testing.assert_close(model(x).image, ref(x).image, atol=2e-2, rtol=0)


def _restore_peak_mb(ckpt: Path, tmp_path: Path, h: int, w: int, tile: int) -> tuple[float, str]:
    """Restore an (h, w) photo-like image in a fresh process; return its peak RSS (MB) and stdout."""
    from clusir.data.io import read_image, write_png

    rng = np.random.RandomState(0)
    img = np.clip(np.linspace(0, 1, w)[None, :, None] * np.ones((h, 1, 3)) + 0.1 * rng.randn(h, w, 3), 0, 1)
    src = tmp_path / f"photo_{h}x{w}.png"
    write_png(src, img)
    env = dict(os.environ, OMP_NUM_THREADS="1", CLUSIR_THREADS="1")
    out = subprocess.run([sys.executable, "-c", PEAK, "restore", str(src), "--checkpoint", str(ckpt),
                          "--tile", str(tile), "--device", "cpu"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert read_image(tmp_path / f"photo_{h}x{w}_restored.png").shape == (h, w, 3)
    return int(out.stdout.split("PEAK_KB")[1]) / 1024, out.stdout


@pytest.mark.slow
def test_restore_1000x700_photo_on_cpu_tiled_with_bounded_memory(nano_ckpt, tmp_path):
    big_mb, stdout = _restore_peak_mb(nano_ckpt, tmp_path, 700, 1000, 256)
    assert "256-px tiles" in stdout
    small_mb, _ = _restore_peak_mb(nano_ckpt, tmp_path, 350, 500, 256)
    # Memory is set by the tile, not the photo: 4x the pixels adds only the image-sized buffers (input, output,
    # blending weights: tens of MB), whereas an untiled nano forward grows by hundreds of MB per megapixel.
    assert big_mb - small_mb < 150, f"peak RSS {small_mb:.0f} MB at 500x350 but {big_mb:.0f} MB at 1000x700"
    assert big_mb < 1500, f"peak RSS {big_mb:.0f} MB"
    print(f"restore peak RSS: 500x350 {small_mb:.0f} MB, 1000x700 {big_mb:.0f} MB (256-px tiles)")


def test_restore_cli_errors_are_clear(nano_ckpt, tmp_path, capsys):
    assert main(["restore", str(tmp_path / "missing.png"), "--checkpoint", str(nano_ckpt)]) == 2
    assert "missing.png" in capsys.readouterr().err
    assert main(["restore", "x.png", "--checkpoint", str(nano_ckpt), "--tile", "100"]) == 2
