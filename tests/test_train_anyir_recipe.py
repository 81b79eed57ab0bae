"""AnyIR's training recipe as trainer options: TrainConfig.optimizer/loss/fft_weight, the ℓ1 + FFT-ℓ1 loss,
build_optimizer/build_criterion, the two AnyIR configs, and one short training run lowering the loss."""

from pathlib import Path

import pytest
import torch

from clusir.model import build_model
from clusir.model.anyir import ANYIR_PRESETS
from clusir.train.config import ConfigError, load_config
from clusir.train.losses import L1FFTLoss, RestorationLoss, fft_l1
from clusir.train.recipe import build_criterion, build_optimizer

ROOT = Path(__file__).resolve().parents[1]


def test_fft_l1_of_a_constant_offset_is_the_dc_term_only():
    # pred − gt = c everywhere: rfft2 is c·H·W at (0, 0) and 0 elsewhere; the mean runs over
    # B·C·H·(W/2 + 1)·2 real/imaginary entries
    b, ch, h, w, c = 2, 3, 6, 8, 0.25
    gt = torch.rand(b, ch, h, w)
    got = fft_l1(gt + c, gt)
    torch.testing.assert_close(got, torch.tensor(c * h * w / (h * (w // 2 + 1) * 2)), rtol=1e-5, atol=1e-6)
    assert float(fft_l1(gt, gt)) == 0.0


def test_l1_fft_loss_combines_the_two_terms():
    pred, gt = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    loss, parts = L1FFTLoss(l1_weight=1.0, fft_weight=0.1)(pred, gt)
    torch.testing.assert_close(loss, (pred - gt).abs().mean() + 0.1 * fft_l1(pred, gt))
    assert set(parts) == {"l1", "fft_l1"}
    assert "FFT" in L1FFTLoss().describe()


def test_config_fields_validate_and_build():
    cfg = load_config(None, ["optimizer=adamw", "loss=l1_fft", "fft_weight=0.2", "weight_decay=0.01"])
    opt = build_optimizer(cfg, [torch.nn.Parameter(torch.zeros(2))])
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["weight_decay"] == 0.01
    crit = build_criterion(cfg)
    assert isinstance(crit, L1FFTLoss) and crit.fft_weight == 0.2
    default = load_config(None)
    assert (default.optimizer, default.loss) == ("adam", "l1_msssim")
    assert isinstance(build_optimizer(default, [torch.nn.Parameter(torch.zeros(2))]), torch.optim.Adam)
    assert isinstance(build_criterion(default), RestorationLoss)
    for bad in ("optimizer=sgd", "loss=l2", "fft_weight=-1.0"):
        with pytest.raises(ConfigError):
            load_config(None, [bad])


def test_anyir_configs_load_and_the_teaching_one_has_the_nano_budget():
    paper = load_config(ROOT / "configs/paper/anyir_nhr.yaml")
    assert (paper.model_preset, paper.optimizer, paper.loss, paper.lr_schedule) == ("anyir", "adamw", "l1_fft",
                                                                                   "cosine")
    assert paper.model == ANYIR_PRESETS["anyir"]
    from clusir.data.settings import paper_samples_per_epoch

    assert paper.data.samples_per_epoch is None  # computed from the data found (clusir.data.recipe)
    assert paper.warmup_steps == 15 * -(-paper_samples_per_epoch("nhr") // paper.batch_size)  # 15 epochs
    nano = load_config(ROOT / "configs/miniaio/anyir_nano.yaml")
    ref = load_config(ROOT / "configs/miniaio/nhr_nano.yaml")
    assert (nano.model_preset, nano.optimizer, nano.loss) == ("anyir_nano", "adamw", "l1_fft")
    assert nano.model == ANYIR_PRESETS["anyir_nano"]
    same = ("epochs", "batch_size", "lr", "lr_schedule", "warmup_steps", "grad_clip", "threads")
    assert [getattr(nano, k) for k in same] == [getattr(ref, k) for k in same]
    assert nano.data == ref.data


def test_a_few_steps_on_a_fixed_batch_lower_the_loss():
    torch.manual_seed(0)
    model = build_model("anyir_nano")
    cfg = load_config(ROOT / "configs/miniaio/anyir_nano.yaml", ["lr=1e-3"])
    opt, crit = build_optimizer(cfg, model.parameters()), build_criterion(cfg)
    gt = torch.rand(4, 3, 32, 32)
    x = (gt + 0.2 * torch.randn_like(gt)).clamp(0, 1)
    losses = []
    for _ in range(6):
        out = model(x)
        loss = crit(out.image, gt)[0] + out.aux_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses
