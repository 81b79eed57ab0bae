"""The public data API the trainer and the book code against: SETTINGS, TrainPairs, test_set."""

import numpy as np
import pytest
import torch

import clusir.data as cd
from clusir.data import SETTINGS, TrainPairs, degradations
from clusir.data.settings import PAPER_SAMPLES, task_weights


def test_settings_mirror_the_paper():
    assert SETTINGS["nhr"] == ["noise15", "noise25", "noise50", "haze", "rain"]
    assert SETTINGS["nhrbl"] == ["noise25", "haze", "rain", "blur", "lowlight"]
    assert SETTINGS["denoise"] == ["noise15", "noise25", "noise50"]
    assert len(SETTINGS["cdd11"]) == 11 and all(t.startswith("cdd_") for t in SETTINGS["cdd11"])
    for one in ("derain", "dehaze", "deblur", "lowlight", "jpeg"):
        assert one in SETTINGS
    for tasks in SETTINGS.values():
        assert set(tasks) <= set(degradations.TASKS)
    assert set(cd.SETTING_DESCRIPTIONS) == set(SETTINGS)


def test_trainpairs_items_and_determinism():
    ds = TrainPairs("nhrbl", crop=48, split="ci", length=12, seed=3)
    assert len(ds) == 12
    a, b = ds[5], TrainPairs("nhrbl", crop=48, split="ci", length=12, seed=3)[5]
    assert set(a) >= {"lq", "gt", "task"} and a["task"] in SETTINGS["nhrbl"]
    assert a["lq"].shape == a["gt"].shape == (3, 48, 48) and a["lq"].dtype == torch.float32
    assert torch.equal(a["lq"], b["lq"]) and torch.equal(a["gt"], b["gt"])
    c = TrainPairs("nhrbl", crop=48, split="ci", length=12, seed=4)[5]
    assert not torch.equal(a["gt"], c["gt"]) or a["task"] != c["task"]
    assert 0 <= float(a["lq"].min()) and float(a["lq"].max()) <= 1
    with pytest.raises(IndexError):
        ds[12]
    # default_collate works (the trainer uses a plain DataLoader)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["lq"].shape == (4, 3, 48, 48) and len(batch["task"]) == 4


def test_trainpairs_covers_tasks_and_default_length():
    ds = TrainPairs("nhr", crop=32, split="ci", seed=0)
    assert len(ds) == 8 * 4 * 5
    tasks = {ds[i]["task"] for i in range(40)}
    assert tasks == set(SETTINGS["nhr"])


def test_trainpairs_blur_margin_and_crop_too_large():
    ds = TrainPairs("deblur", crop=64, split="ci", length=3)
    it = ds[0]
    assert it["task"] == "blur" and it["lq"].shape == (3, 64, 64)
    with pytest.raises(ValueError, match="crop 128 is larger than these ci images"):
        TrainPairs("nhr", crop=128, split="ci")
    with pytest.raises(ValueError, match="unknown setting"):
        TrainPairs("n+h+r")


def test_trainpairs_synthetic_dead_leaves():
    ds = TrainPairs("denoise25", crop=32, split="ci", length=6, synthetic=True, synthetic_fraction=1.0)
    it = ds[0]
    assert it["name"].startswith("deadleaves_") and it["gt"].shape == (3, 32, 32)
    assert torch.equal(ds[0]["gt"], it["gt"])


def test_task_mix():
    w = task_weights(SETTINGS["nhr"], "paper")
    total = sum(PAPER_SAMPLES[t] for t in SETTINGS["nhr"])
    assert w[3] == pytest.approx(72135 / total)  # haze dominates the real N+H+R mixture
    assert np.allclose(task_weights(SETTINGS["nhr"], "uniform"), 0.2)
    ds = TrainPairs("nhr", crop=32, split="ci", length=30, mix={"rain": 1.0})
    assert {ds[i]["task"] for i in range(10)} == {"rain"}
    with pytest.raises(ValueError, match="mix"):
        task_weights(["rain"], "adair")


def test_test_set_is_not_collected_by_pytest():
    assert cd.test_set.__test__ is False


def _streak_heights(ds, n=6):
    """Heights of the rain streaks (connected components of the added layer) in ``n`` training crops."""
    from scipy import ndimage

    heights = []
    for i in range(n):
        it = ds[i]
        assert it["task"] == "rain"
        layer = (it["lq"] - it["gt"]).mean(0).numpy() > 0.05
        labels, k = ndimage.label(layer)
        heights += [s[0].stop - s[0].start for s in ndimage.find_objects(labels)]
    return np.array(heights)


def test_trainpairs_degrades_the_scene_then_crops():
    """Rain streaks are a fraction of the image side long: crops cut from a degraded 256-px window (the size
    of the test photographs) have the test-time streaks, crops degraded on their own have streaks 4x shorter
    (median component heights when written: 18 vs 7 px)."""
    scene = _streak_heights(TrainPairs("nhr", crop=64, length=6, mix={"rain": 1.0}, seed=2))
    own = _streak_heights(TrainPairs("nhr", crop=64, length=6, mix={"rain": 1.0}, seed=2, scene=None))
    assert np.median(scene) >= 2 * np.median(own), (np.median(scene), np.median(own))
    assert np.median(scene) >= 12  # 0.06-0.14 x 256 px x U(0.7, 1), cut by the crop border
    ds = TrainPairs("nhr", crop=48, split="ci", length=2)  # the scene is clamped to the (smaller) photographs
    assert ds[0]["lq"].shape == (3, 48, 48)
    with pytest.raises(ValueError, match="scene"):
        TrainPairs("nhr", crop=32, split="ci", scene=4)
