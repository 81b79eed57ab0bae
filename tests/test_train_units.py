"""Unit tests of the training machinery that do not need the ClusIR network: config, schedule, loss,
checkpoints (atomic writes, weights_only loads, RNG states), the resumable sampler and the run log."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from clusir.model import model_config
from clusir.train import checkpoint as ck
from clusir.train.config import (
    ConfigError,
    TrainConfig,
    merge_config,
    model_name,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    dump_yaml,
    load_config,
)
from clusir.train.losses import RestorationLoss, ms_ssim_window
from clusir.train.sampler import EpochBatchSampler
from clusir.train.trainer import LRSchedule

ROOT = Path(__file__).resolve().parents[1]


# -- config ------------------------------------------------------------------------------------------------

def test_defaults_are_the_paper_recipe():
    c = TrainConfig()
    assert (c.lr, c.betas, c.batch_size, c.data.crop, c.epochs) == (2e-4, (0.9, 0.999), 48, 128, 150)
    assert (c.lr_schedule, c.lr_milestones, c.lr_gamma) == ("step", (0.5,), 0.5)
    assert c.l1_weight > 0 and c.ms_ssim_weight > 0


def test_overrides_nested_and_typed():
    c = apply_overrides(TrainConfig(), ["epochs=3", "data.crop=64", "lr=1e-3", "model.dim=8",
                                        "data.root=/tmp/x", "max_steps=5", "betas=[0.8, 0.9]"])
    assert (c.epochs, c.data.crop, c.lr, c.model.dim, c.data.root, c.max_steps) == (3, 64, 1e-3, 8, "/tmp/x", 5)
    assert c.betas == (0.8, 0.9)
    assert apply_overrides(c, ["lr=1"]).lr == 1.0  # int → float is lossless
    with pytest.raises(ConfigError, match="unknown config key 'data.cropp'"):
        apply_overrides(c, ["data.cropp=3"])
    with pytest.raises(ConfigError, match="epochs"):
        apply_overrides(c, ["epochs=0.5"])
    with pytest.raises(ConfigError, match="amp"):
        apply_overrides(c, ["amp=fp8"])
    with pytest.raises(ConfigError, match="max_steps"):
        apply_overrides(c, ["max_steps=abc"])


def test_yaml_round_trip(tmp_path):
    c = apply_overrides(TrainConfig(), ["name=x", "data.setting=nhrbl", "epochs=7", "model=nano", "model.moe=flat",
                                        "model.prototypes=[2,3,4,6]"])
    p = tmp_path / "c.yaml"
    p.write_text(dump_yaml(c))
    assert load_config(p) == c
    assert config_from_dict(config_to_dict(c)) == c
    written = yaml.safe_load(p.read_text())
    assert written["model"] == {"preset": "nano", "moe": "flat", "prototypes": [2, 3, 4, 6]}   # only the new form
    assert "model_overrides" not in written and "model_preset" not in written


def test_model_config_nested_in_train_config(tmp_path):
    """``model: NAME`` and ``model: {preset: NAME, field: value}`` give the same ModelConfig as clusir.model."""
    p = tmp_path / "c.yaml"
    p.write_text("model: nano\n")
    assert load_config(p).model == model_config("nano")
    p.write_text("model:\n  preset: nano\n  moe: none\n  prototypes: [2, 3, 4, 6]\n")
    c = load_config(p)
    assert c.model == model_config("nano", moe="none", prototypes=(2, 3, 4, 6)) and c.model_preset == "nano"
    assert model_name(c) == "nano (moe=none, prototypes=(2, 3, 4, 6))"
    assert apply_overrides(c, ["model.moe=pcgrm"]).model == model_config("nano", prototypes=(2, 3, 4, 6))
    assert merge_config(c, {"model": {"temperature": 2}}).model.temperature == 2.0
    # a new preset keeps the fields changed on the old one (here moe and prototypes), whichever way it is set
    tiny = model_config("tiny", moe="none", prototypes=(2, 3, 4, 6))
    for items in (["model=tiny"], ["model.preset=tiny"]):
        assert apply_overrides(c, items).model == tiny
    assert apply_overrides(TrainConfig(), ["model.dim=8"]).model == model_config("base", dim=8)


@pytest.mark.parametrize("item, message", [
    ("model.router=flat", "unknown config key 'model.router'"),
    ("model.moe=bad", r"model.moe='bad': must be one of"),
    ("model.dim=7", r"model.dim=7: must be a multiple of 4"),
    ("model=huge", "model.preset: unknown preset 'huge'"),
    ("model=3", "model: expected a preset name or a mapping"),
    ("model_overrides={'router': 'flat'}", "unknown config key 'model.router'"),
])
def test_bad_model_fields_are_errors_naming_the_key(item, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(TrainConfig(), [item])


def test_old_model_plus_model_overrides_still_loads(tmp_path):
    """Configs and checkpoints written before the nesting: ``model: NAME`` + ``model_overrides: {...}``."""
    p = tmp_path / "old.yaml"
    p.write_text("model: nano\nmodel_overrides:\n  moe: flat\n  prototypes: [2, 3, 4, 6]\n")
    assert load_config(p).model == model_config("nano", moe="flat", prototypes=(2, 3, 4, 6))
    assert model_name({"model": "nano", "model_overrides": {"moe": "flat"}}) == "nano (moe=flat)"
    manifest = json.loads((ROOT / "checkpoints" / "manifest.json").read_text())
    for entry in manifest["checkpoints"]:                    # the released nhr_nano, written in the old form
        cfg = config_from_dict(entry["config"])
        assert dataclasses.asdict(cfg.model) == {k: tuple(v) if isinstance(v, list) else v
                                                 for k, v in entry["model_config"].items()}
        assert model_name(entry["config"]) == entry["model"]
    released = ck.load_checkpoint(ROOT / "checkpoints" / "nhr_nano.pt")
    assert config_from_dict(released["config"]).model == model_config("nano")


def test_every_shipped_config_loads():
    files = sorted(f for f in (ROOT / "configs").rglob("*.yaml") if "experiments" not in f.parts)  # specs: own tests
    assert files, "configs/ is empty"
    names = set()
    for f in files:
        c = load_config(f)
        assert c.name not in names, f"duplicate run name {c.name} in {f}"
        names.add(c.name)
    paper = {c.data.setting: c for c in map(load_config, (ROOT / "configs" / "paper").rglob("*.yaml"))
             if not c.model_preset.startswith("anyir")}                   # ClusIR's recipe (AnyIR's: own tests)
    assert {"nhr", "nhrbl", "cdd11"} <= set(paper)
    assert paper["nhr"].epochs == 150 and paper["cdd11"].epochs == 200
    for c in paper.values():
        assert (c.lr, c.batch_size, c.data.crop, c.data.source) == (2e-4, 48, 128, "real")


# -- schedule and loss ---------------------------------------------------------------------------------------

def test_lr_halved_at_half_the_steps():
    s = LRSchedule("step", total_steps=100, milestones=(0.5,), gamma=0.5)
    assert [s(0), s(49), s(50), s(99)] == [1.0, 1.0, 0.5, 0.5]
    c = LRSchedule("cosine", 10)
    assert c(0) == 1.0 and abs(c(10)) < 1e-12
    assert LRSchedule("constant", 10, warmup=4)(1) == 0.5


@pytest.mark.parametrize("size, win", [(128, 7), (97, 7), (96, 5), (80, 5), (64, 3), (33, 3), (32, None)])
def test_ms_ssim_window_is_valid_for_the_crop(size, win):
    assert ms_ssim_window(size) == win


def test_loss_terms_and_data_range():
    torch.manual_seed(0)
    gt = torch.rand(2, 3, 64, 64)
    pred = (gt + 0.1 * torch.randn_like(gt)).clamp(0, 1)
    crit = RestorationLoss(1.0, 0.2, crop=64)
    loss, parts = crit(pred, gt)
    from pytorch_msssim import ms_ssim

    expect = (pred - gt).abs().mean() + 0.2 * (1 - ms_ssim(pred, gt, data_range=1, win_size=3))
    torch.testing.assert_close(loss, expect)
    assert 0.3 < parts["ms_ssim"] < 0.99       # with data_range=255 it would read ≈ 1.0 (the silent bug)
    with pytest.warns(UserWarning, match="no MS-SSIM window"):
        small = RestorationLoss(1.0, 0.2, crop=32)
    loss32, parts32 = small(pred[..., :32, :32], gt[..., :32, :32])
    assert "ms_ssim" not in parts32 and "MS-SSIM off" in small.describe()


# -- checkpoints --------------------------------------------------------------------------------------------

def test_atomic_save_keeps_the_old_file_when_a_write_dies(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    ck.atomic_save({"step": 1, "w": torch.ones(3)}, path)

    def dying_save(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        ck.atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert ck.load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_weights_only_refuses_pickled_objects(tmp_path):
    torch.save({"config": TrainConfig()}, tmp_path / "bad.pt")
    with pytest.raises(ck.CheckpointError, match=r"bad\.pt: it stores Python objects .* refuses to load"):
        ck.load_checkpoint(tmp_path / "bad.pt")
    torch.save({"config": config_to_dict(TrainConfig())}, tmp_path / "good.pt")
    assert config_from_dict(ck.load_checkpoint(tmp_path / "good.pt")["config"]) == TrainConfig()


def test_rng_state_round_trip(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    ck.atomic_save({"rng": [ck.rng_state()]}, tmp_path / "r.pt")
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    ck.set_rng_state(ck.load_checkpoint(tmp_path / "r.pt")["rng"][0])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_strip_prefixes():
    sd = {"module._orig_mod.a.weight": 1, "_orig_mod.b": 2, "c": 3}
    assert ck.strip_prefixes(sd) == {"a.weight": 1, "b": 2, "c": 3}


# -- sampler ------------------------------------------------------------------------------------------------

def test_sampler_ranks_partition_the_global_batch_and_resume_skips():
    one = EpochBatchSampler(20, 4, seed=5)
    two = [EpochBatchSampler(20, 4, rank=r, world_size=2, seed=5) for r in range(2)]
    for s in (one, *two):
        s.set_epoch(3)
    full = list(one)
    halves = list(zip(*(list(s) for s in two)))
    assert len(full) == 5 and [a + b for a, b in halves] == full
    one.set_epoch(3, start=2)
    assert list(one) == full[2:] and len(one) == 3
    one.set_epoch(4)
    assert list(one) != full                      # a new shuffle per epoch
    fresh = EpochBatchSampler(20, 4, seed=5, fresh_every_epoch=True)
    fresh.set_epoch(2)
    assert min(min(b) for b in fresh) >= 40       # epoch 2 draws indices 40..59: new crops/degradations


# -- run log ------------------------------------------------------------------------------------------------

def test_run_log_and_plot(tmp_path):
    from clusir.train.runlog import RunLogger, plot_log, read_log

    log = RunLogger(tmp_path)
    for s in (1, 2, 3):
        log.train(step=s, epoch=s / 3, lr=1e-3, loss=1.0 / s, l1=0.5, ms_ssim=0.9, aux=0.0, psnr=20 + s,
                  grad_norm=1.0, samples_per_s=10.0, time=0.1)
    log.val(step=3, epoch=1, psnr=24.0, per_task={"N25": 24.0})
    log.event("done", step=3)
    rows = read_log(tmp_path)
    assert [r["kind"] for r in rows] == ["train"] * 3 + ["val", "event"]
    assert (tmp_path / "log.csv").read_text().splitlines()[0].startswith("step,epoch,lr,loss")
    fig = plot_log(tmp_path)
    assert len(fig.axes) == 2


# -- CLI ----------------------------------------------------------------------------------------------------

def test_train_cli_dry_run_and_errors(capsys):
    import yaml

    from clusir.cli import main

    assert main(["train", "--config", str(ROOT / "configs/miniaio/nhr_nano.yaml"), "--set", "epochs=3",
                 "--preset", "tiny", "--ablation", "t4b_plus_pcgrm", "--root", "/data", "--dry-run"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert (cfg["epochs"], cfg["model"], cfg["data"]["root"]) == (3, {"preset": "tiny", "dafmm": False}, "/data")
    assert main(["train", "--set", "nope=1", "--dry-run"]) == 2
    assert "unknown config key 'nope'" in capsys.readouterr().err
    assert main(["train", "--config", "missing.yaml", "--dry-run"]) == 2


# -- running means ------------------------------------------------------------------------------------------

def test_running_means_are_per_sample_and_start_afresh():
    from clusir.train.trainer import RunningMeans

    means = RunningMeans(torch.device("cpu"))
    means.add(2, loss=2 * 1.0, l1=2 * 0.5, ms_ssim=2 * 0.9, aux=0.0, psnr=2 * 20.0)    # a batch of 2 ...
    means.add(6, loss=6 * 3.0, l1=6 * 0.5, ms_ssim=6 * 0.7, aux=6 * 0.1, psnr=6 * 24.0)  # ... and one of 6
    row = means.pop()
    assert row["loss"] == pytest.approx(2.5) and row["psnr"] == pytest.approx(23.0)
    assert row["ms_ssim"] == pytest.approx(0.75) and row["aux"] == pytest.approx(0.075) and row["samples_per_s"] > 0
    means.add(1, loss=7.0, l1=0.0, ms_ssim=0.0, aux=0.0, psnr=30.0)
    assert means.pop()["loss"] == 7.0                                                  # the old sums are gone


def test_data_ratios_reach_the_real_training_pairs(monkeypatch):
    """The low-light expansion ratio (×20 default, ×200 in the paper's text) is a config value."""
    from clusir.train import trainer

    seen = {}

    class Recorder:
        def __init__(self, setting, root, **kw):
            seen.update(kw, setting=setting)

        def __len__(self):
            return 10

    monkeypatch.setattr(trainer, "RealTrainPairs", Recorder)
    cfg = load_config(ROOT / "configs/paper/nhrbl.yaml", ["data.root=/nowhere", "data.ratios={'lowlight': 200}"])
    trainer.build_train_set(cfg)
    assert seen["ratios"] == {"lowlight": 200} and seen["setting"] == "nhrbl"
    with pytest.raises(ConfigError, match="ratios"):
        load_config(None, ["data.ratios=5"])
