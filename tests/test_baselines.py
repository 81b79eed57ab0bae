"""Classical baselines: each beats its input where it should, BM3D is skipped gracefully, the committed
table was produced by the command and covers every task."""

import json
from pathlib import Path

import numpy as np
import pytest

from clusir import baselines as B
from clusir import metrics
from clusir.data import test_set
from clusir.data.settings import all_tasks

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _gain(setting, task, method):
    items = [it for it in test_set(setting, "ci") if it["task"] == task]
    fn = B.baselines_for(task)[method]
    g = []
    for it in items:
        lq = it["lq"].permute(1, 2, 0).numpy().astype(np.float64)
        gt = it["gt"].permute(1, 2, 0).numpy().astype(np.float64)
        out = np.clip(fn(lq, it["params"]), 0, 1)
        assert out.shape == lq.shape
        g.append(metrics.psnr(out, gt) - metrics.psnr(lq, gt))
    return float(np.mean(g))


@pytest.mark.parametrize("setting,task,method,min_gain", [
    ("denoise25", "noise25", "NLM", 5.0),
    ("denoise25", "noise25", "TV", 5.0),
    ("denoise25", "noise25", "wavelet", 4.0),
    ("dehaze", "haze", "DCP", 2.0),
    ("deblur", "blur", "Richardson-Lucy (oracle PSF)", 2.0),
    ("deblur", "blur", "Wiener (oracle PSF)", 1.0),
    ("lowlight", "lowlight", "auto-gamma", 4.0),
    ("jpeg", "jpeg10", "TV deblock", 0.2),
    ("derain", "rain", "opening3", 0.0),
])
def test_baseline_beats_input(setting, task, method, min_gain):
    assert _gain(setting, task, method) > min_gain


def test_every_task_has_baselines_and_bm3d_is_optional():
    for task in all_tasks():
        methods = B.baselines_for(task)
        assert "input" in methods and len(methods) >= 2, task
    assert ("CBM3D" in B.baselines_for("noise25")) == B.bm3d_available()


def test_committed_table_covers_every_task():
    rep = json.loads((DOCS / "baselines.json").read_text())
    assert rep["command"].startswith("clusir data baselines") and rep["split"] == "test"
    assert set(rep["results"]) == set(all_tasks())
    for task, methods in rep["results"].items():
        assert set(methods) == set(B.baselines_for(task)), task
    md = (DOCS / "baselines.md").read_text()
    assert rep["command"] in md and "| noise25 | input |" in md


def test_markdown_table_format():
    rep = {"split": "test", "images": 2, "bm3d": "skipped", "environment": {"numpy": "x", "scipy": "y",
           "scikit-image": "z"}, "results": {"rain": {"input": {"psnr": 25.0, "ssim": 0.8, "sec_per_image": 0.0},
                                                     "median3": {"psnr": 26.0, "ssim": 0.85, "sec_per_image": 0.01}}}}
    md = B.markdown_table(rep, "clusir data baselines", "a machine", 3.0)
    assert "| rain | **median3** | 26.00 | 0.8500 | 0.010 |" in md
    rep["results"]["rain"]["median3"]["psnr"] = 24.0
    assert "**" not in B.markdown_table(rep, "c", "m", 1.0).split("|---|")[-1].split("Bold")[0]
