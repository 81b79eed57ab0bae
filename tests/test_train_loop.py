"""The training loop's mechanics with a tiny stand-in network (seconds): loss falls, 2 + resume + 2 steps =
4 steps, the NaN/Inf guard stops with a clear message and keeps the last good checkpoint, best.pt follows
validation. The real network is exercised by tests/test_train_resume.py and tests/test_train_ddp_model.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch
from torch import nn

from clusir.train import checkpoint as ck
from clusir.train.config import TrainConfig, apply_overrides
from clusir.train.runlog import read_log
from clusir.train.trainer import TrainingDiverged, train


@dataclass
class Out:
    image: torch.Tensor
    aux_loss: torch.Tensor
    aux: dict = field(default_factory=dict)
    routing: list = field(default_factory=list)


class StandIn(nn.Module):
    """Residual 2-layer CNN with a BatchNorm; ``nan_after`` makes the output NaN from that forward call on."""

    def __init__(self, nan_after: int | None = None):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
        self.nan_after, self.calls = nan_after, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
        y = x + self.body(x)
        if self.nan_after is not None and self.calls > self.nan_after:
            y = y * float("nan")
        return Out(y, (self.body[0].weight.square().sum() * 1e-4))


def _pairs(n=16, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        gt = torch.rand(3, size, size, generator=g)
        lq = (gt + 0.2 * torch.randn(3, size, size, generator=g)).clamp(0, 1)
        out.append({"lq": lq, "gt": gt, "task": "N50" if i % 2 else "N25"})
    return out


def _cfg(tmp_path, **kw):
    items = [f"run_dir={str(tmp_path / 'run')!r}", "batch_size=4", "epochs=2", "lr=1e-2", "deterministic=true",
             "progress=false", "log_every=1", "data.crop=16", "ms_ssim_weight=0.0", "threads=1"]
    items += [f"{k}={v!r}" for k, v in kw.items()]
    return apply_overrides(TrainConfig(), items)


def _weights(path):
    return ck.load_checkpoint(path)["model"]


def test_loss_falls_and_log_written(tmp_path):
    torch.manual_seed(0)
    res = train(_cfg(tmp_path, epochs=6), model=StandIn(), train_set=_pairs(), val_set=_pairs(4, seed=1))
    rows = read_log(res.run_dir)
    losses = [r["loss"] for r in rows if r["kind"] == "train"]
    assert res.step == 6 * 4 and losses[-1] < 0.7 * losses[0]
    assert len([r for r in rows if r["kind"] == "val"]) == 6
    assert res.best is not None and (res.run_dir / "config.yaml").exists() and (res.run_dir / "log.csv").exists()
    best = ck.load_checkpoint(res.best)
    assert best["best_metric"] == max(r["psnr"] for r in res.history)


def test_two_steps_resume_two_steps_equals_four(tmp_path):
    full = train(_cfg(tmp_path / "a", max_steps=6), model=StandIn(), train_set=_pairs(), val_set=[])
    half = train(_cfg(tmp_path / "b", max_steps=3), model=StandIn(), train_set=_pairs(), val_set=[])
    assert half.step == 3
    with pytest.raises(FileExistsError, match="--resume"):
        train(_cfg(tmp_path / "b", max_steps=6), model=StandIn(), train_set=_pairs(), val_set=[])
    rest = train(_cfg(tmp_path / "b", max_steps=6), resume=True, model=StandIn(), train_set=_pairs(), val_set=[])
    assert rest.step == 6
    a, b = _weights(full.last), _weights(rest.last)
    for k in a:
        assert torch.equal(a[k], b[k]), k                    # bit-identical (CPU, deterministic)
    st = ck.load_checkpoint(rest.last)
    assert st["data_position"] == {"epoch": 1, "batch": 2} and len(st["rng"]) == 1
    assert st["optimizer"]["state"] and st["scheduler"]["last_epoch"] == 6


def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = _cfg(tmp_path, save_every=2, epochs=3)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss at step 6 .* last good checkpoint .*last.pt.* step 4"):
        train(cfg, model=StandIn(nan_after=5), train_set=_pairs(), val_set=_pairs(2))
    good = ck.load_checkpoint(cfg.run_path / "last.pt")
    assert good["step"] == 4
    assert all(torch.isfinite(v).all() for v in good["model"].values() if v.is_floating_point())
    events = [r for r in read_log(cfg.run_path) if r["kind"] == "event"]
    assert events[-1]["message"] == "diverged" and events[-1]["last_good_step"] == 4


def test_init_starts_from_another_runs_weights(tmp_path):
    first = train(_cfg(tmp_path / "a", max_steps=4), model=StandIn(), train_set=_pairs(), val_set=[])
    res = train(_cfg(tmp_path / "b", max_steps=1, lr=0.0, init=str(first.run_dir / "last.pt")), model=StandIn(),
                train_set=_pairs(), val_set=[])
    a, b = _weights(first.run_dir / "last.pt"), _weights(res.run_dir / "last.pt")
    for k in ("body.0.weight", "body.3.weight"):                # lr 0: still the first run's weights
        assert torch.equal(a[k], b[k]), k
    start = next(r for r in read_log(res.run_dir) if r.get("message") == "start")
    assert start["init"]["path"].endswith("last.pt") and start["init"]["step"] == 4


def test_init_refuses_a_checkpoint_of_another_model_config(tmp_path):
    import dataclasses

    from clusir.model import build_model
    from clusir.train.trainer import _load_init

    m = build_model("nano")
    path = tmp_path / "nano.pt"
    torch.save({"model": m.state_dict(), "model_config": dataclasses.asdict(m.config)}, path)
    _load_init(build_model("nano"), str(path))                  # same config: fine
    with pytest.raises(ValueError, match=r"nano.pt was trained with another model config; these fields differ: dim"):
        _load_init(build_model("nano", dim=12), str(path))
