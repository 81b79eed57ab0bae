"""``tools/gpu_check.sh --device cpu --dry-run``: every step of the GPU session runs on the CPU with tiny sizes
and writes its figures (bench, dispatch, chapter table, float16 checkpoint, MiniAIO evaluation)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _tsv(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.run(["bash", str(ROOT / "tools" / "gpu_check.sh"), "--device", "cpu", "--dry-run", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    steps = {r["step"]: r for r in _tsv(out / "steps.tsv")}
    failed = {k: r["exit"] for k, r in steps.items() if r["exit"] != "0"}
    logs = {k: (out / f"{k}.log").read_text()[-1500:] for k in failed if (out / f"{k}.log").exists()}
    assert p.returncode == 0 and not failed, f"failed steps {failed}\n{logs}\n{p.stderr[-3000:]}"
    check_dry_run_outputs(out, steps)


def check_dry_run_outputs(out: Path, steps: dict) -> None:
    """What every step of the dry run must have written."""
    assert set(steps) == {"env", "bench_eager", "dispatch", "chapters", "train", "export", "eval",
                          "bench_compile_nano"}

    bench = json.loads((out / "bench_eager.json").read_text())["rows"]
    assert [r["preset"] for r in bench] == ["nano"] and bench[0]["amp"] == "bfloat16"
    assert bench[0]["train_samples_s"] > 0 and bench[0]["train_hours_paper_nhr"] > 0
    assert json.loads((out / "bench_compile_nano.json").read_text())["rows"][0]["compile"] is True
    assert "| preset | params |" in (out / "bench_eager.md").read_text()

    disp = json.loads((out / "dispatch.json").read_text())["rows"]
    assert {r["preset"] for r in disp} == {"tiny", "base"}
    for r in disp:                                   # equal active FLOPs, as the benchmark claims
        assert r["sparse_gflop_fwd"] == pytest.approx(r["dense_gflop_fwd"], rel=0.01)
        assert r["sparse_ms"] > 0 and r["dense_ms"] > 0 and r["sparse_calls"] > 0

    chapters = _tsv(out / "chapters.tsv")
    assert [c["chapter"] for c in chapters] == ["00_introduction"] and chapters[0]["exit"] == "0"
    assert "smoke run" in (out / "chapters" / "00_introduction.ipynb").read_text()

    release = torch.load(out / "nhr_tiny_gpu.pt", map_location="cpu", weights_only=True)
    floats = [v for v in release["model"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats) and release["step"] == 2
    ev = json.loads((out / "eval.json").read_text())
    assert ev["setting"] == "nhr" and ev["split"] == "test" and ev["model"]["mean"]["psnr"] > 0
    assert "torch" in (out / "env.txt").read_text()
