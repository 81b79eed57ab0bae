"""The paper's data recipe: samples per epoch = sum over data sets of size x expansion ratio, for every paper
config, from one table (clusir.data.recipe), with no hard-coded totals."""

from pathlib import Path

import pytest

from clusir.data import SETTINGS, recipe
from clusir.data.layouts import DATASETS
from clusir.data.real import RealTrainPairs
from clusir.data.settings import PAPER_SAMPLES, paper_samples_per_epoch
from clusir.train.config import load_config

PAPER_DIR = Path(__file__).resolve().parents[1] / "configs" / "paper"
PAPER = sorted(PAPER_DIR.rglob("*.yaml"))
# the paper's §4.1 ratios (low light: AdaIR's code, see recipe) and the supplement's training-set sizes
RATIO = {"denoise": 3, "rain": 120, "haze": 1, "blur": 5, "lowlight": 20, "cdd11": 1}
SIZE = {"denoise": 400 + 4744, "rain": 200, "haze": 72135, "blur": 2103, "lowlight": 485, "cdd11": 1183}


def by_hand(setting: str, lowlight: int = 20) -> int:
    ratio = {**RATIO, "lowlight": lowlight}
    return sum(SIZE[recipe.family(t)] * ratio[recipe.family(t)] for t in SETTINGS[setting])


def test_every_paper_config_gets_its_epoch_from_sizes_and_ratios():
    assert len(PAPER) >= 8  # ClusIR's 8 settings (and AnyIR's N+H+R recipe)
    for path in PAPER:
        cfg = load_config(path)
        assert cfg.data.samples_per_epoch is None, f"{path}: hard-coded samples per epoch"
        assert paper_samples_per_epoch(cfg.data.setting) == by_hand(cfg.data.setting), path
    assert paper_samples_per_epoch("nhr") == 3 * 5144 * 3 + 200 * 120 + 72135 == 142431
    assert paper_samples_per_epoch("derain") == 24000  # 500 steps of 48 per epoch, not 4
    assert paper_samples_per_epoch("nhrbl", ratios={"lowlight": 200}) == by_hand("nhrbl", lowlight=200)


def test_one_table():
    assert {d.task for d in DATASETS.values()} == set(RATIO)
    assert {f: recipe.EXPANSION_RATIOS[f] for f in RATIO} == RATIO
    assert PAPER_SAMPLES["noise25"] == 5144 * 3 and PAPER_SAMPLES["lowlight"] == 485 * 20
    assert recipe.LOWLIGHT_RATIO_PAPER_TEXT == 200
    with pytest.raises(ValueError, match="unknown task"):
        recipe.family("snow")


def test_real_train_pairs_epoch_is_found_sizes_times_ratios(tmp_path):
    from tests.test_data_real import adair_tree

    root = adair_tree(tmp_path / "d")  # 4 clean, 2 rain pairs, 2 hazy, 1 blur, 1 low-light
    ds = RealTrainPairs("nhrbl", root, crop=16)
    assert ds.samples_per_epoch == len(ds) == 4 * 3 + 2 * 120 + 2 * 1 + 1 * 5 + 1 * 20
    w = dict(zip(ds.tasks, ds.weights))
    assert w["rain"] == pytest.approx(240 / len(ds))  # uniform over the expanded list
    ds200 = RealTrainPairs("nhrbl", root, crop=16, ratios={"lowlight": 200})
    assert len(ds200) == len(ds) - 20 + 200
    assert len(RealTrainPairs("derain", root, crop=16, length=7)) == 7


def test_trainer_epoch_on_real_data_uses_the_ratios(tmp_path):
    """The paper derain config on a tree with 2 Rain100L pairs: an epoch is 2 x 120 samples, not 2."""
    from tests.test_data_real import adair_tree
    from clusir.train.config import apply_overrides
    from clusir.train.trainer import build_train_set

    root = adair_tree(tmp_path / "d")
    cfg = apply_overrides(load_config(PAPER_DIR / "one_by_one" / "derain.yaml"),
                          [f"data.root={root}", "data.crop=16"])
    _, n, _ = build_train_set(cfg)
    assert n == 2 * 120
