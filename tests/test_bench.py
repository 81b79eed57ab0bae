"""`clusir bench`: the figures exist, are positive, and the isolated per-preset worker runs (nano, tiny sizes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clusir.bench import PAPER_NHR_SAMPLES, _peak_tflops, bench_preset, markdown_bench

ROOT = Path(__file__).resolve().parents[1]


def test_bench_preset_nano_figures():
    r = bench_preset("nano", batch=2, crop=32, infer_size=32, train_steps=1, infer_steps=1, warmup=0, threads=1)
    for key in ("infer_ms", "infer_img_s", "train_s_step", "train_samples_s", "params_M"):
        assert r[key] > 0, key
    assert r["amp"] == "off" and "mfu" not in r                    # CPU: no autocast, no MFU
    assert r["train_hours_paper_nhr"] == pytest.approx(PAPER_NHR_SAMPLES / r["train_samples_s"] / 3600)
    md = markdown_bench([r], "clusir bench --presets nano")
    assert "Command: `clusir bench --presets nano`" in md and "Date: " in md and "| nano |" in md


def test_peak_lookup():
    assert _peak_tflops("NVIDIA H100 80GB HBM3") == 989.0 and _peak_tflops("NVIDIA A100-SXM4-40GB") == 312.0
    assert _peak_tflops("Some GPU") is None


@pytest.mark.slow
def test_bench_cli_isolated_worker(tmp_path):
    out = tmp_path / "b.json"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "clusir", "bench", "--presets", "nano", "--device", "cpu", "--batch", "nano=2",
                        "--crop", "32", "--infer-size", "32", "--train-steps", "1", "--infer-steps", "1", "--warmup", "0",
                        "--threads", "1", "--json", str(out), "--markdown"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert rows[0]["preset"] == "nano" and rows[0]["train_peak_MB"] >= 0
    assert "| preset | params |" in p.stdout
