"""The training loop: :func:`train`, readable top to bottom (nanoGPT/minGPT style, no framework).

``clusir train --config CFG`` calls it, the book calls it with the nano/tiny presets, and ``torchrun`` runs one
copy per device. What it does, in order:

1. set up the process (DDP environment, threads, seeds, deterministic mode);
2. build the model, the optimiser (Adam; AdamW for AnyIR's recipe) and the learning-rate schedule
   (:func:`build_run`); resume them from ``last.pt`` if asked (:func:`restore_run`);
3. loop over epochs and batches (:func:`train_epoch`, :func:`train_step`): forward under autocast,
   loss (ℓ1 + λ·(1 − MS-SSIM), or AnyIR's ℓ1 + FFT) + model aux losses, backward, clip, NaN/Inf guard
   (:func:`non_finite`), step;
4. log running means (:class:`RunningMeans`), validate at epoch ends, save ``last.pt`` (and ``best.pt``)
   atomically (:func:`checkpoint_state` is what is saved).

The run is resumable at any optimiser step: the checkpoint holds model, optimiser, scheduler, grad scaler, the
RNG states of every process and the step, from which the sampler recomputes the data position
(:mod:`clusir.train.sampler`). With ``deterministic: true`` on CPU a run killed by SIGKILL and resumed ends
with bit-identical weights (tests/test_train_resume.py).
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from clusir import __version__
from clusir.data import TrainPairs, test_set
from clusir.data.real import RealTestSet, RealTrainPairs
from clusir.evaluate import evaluate_model, limit_per_task
from clusir.model import build_model
from clusir.runtime import default_threads, seed_everything
from clusir.train import checkpoint as ckpt_io
from clusir.train.config import TrainConfig, config_from_dict, config_to_dict, save_config
from clusir.train.distributed import (
    DistEnv,
    all_reduce_sum,
    barrier,
    broadcast_object,
    cleanup_distributed,
    convert_sync_batchnorm,
    gather_objects,
    setup_distributed,
    wrap_ddp,
)
from clusir.train.recipe import build_criterion, build_optimizer
from clusir.train.runlog import RunLogger
from clusir.train.sampler import EpochBatchSampler

__all__ = ["train", "TrainResult", "TrainingDiverged", "LRSchedule", "resolve_amp", "build_train_set",
           "RunningMeans", "checkpoint_state"]

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN/Inf; the last good checkpoint was kept."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    last: Path | None
    best: Path | None
    best_metric: float | None
    history: list[dict] = field(default_factory=list)  # validation rows


class LRSchedule:
    """Learning-rate factor per optimiser step (a callable object, so LambdaLR can save it).

    ``step``: ×``gamma`` at each milestone (fractions of all steps; paper: ×0.5 at half the epochs).
    ``cosine``: half-cosine from 1 to 0. ``constant``: 1. An optional linear warm-up multiplies all of them.
    """

    def __init__(self, kind: str, total_steps: int, milestones=(0.5,), gamma: float = 0.5, warmup: int = 0):
        self.kind, self.total, self.gamma, self.warmup = kind, max(1, total_steps), gamma, warmup
        self.milestones = tuple(int(round(m * self.total)) for m in milestones)

    def __call__(self, step: int) -> float:
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup else 1.0
        if self.kind == "step":
            return warm * self.gamma ** sum(step >= m for m in self.milestones)
        if self.kind == "cosine":
            return warm * 0.5 * (1 + math.cos(math.pi * min(step, self.total) / self.total))
        return warm


#: dynamo compiles every block instance and each train/eval or shape variant separately (the routing's top-k
#: and scatter break the graph, so blocks are compiled frame by frame); the default limit of 8 is too low
COMPILE_RECOMPILE_LIMIT = 64


def compile_model(net: nn.Module) -> nn.Module:
    """``torch.compile`` for ClusIR: static shapes (``dynamic=False``) and a higher recompile limit.

    Static shapes because automatic dynamic shapes make dynamo mark the channel dimension symbolic once it sees
    the same block class at two widths, and inductor (torch 2.13, CPU) then fails on the symbolic strides
    ("cannot determine truth value of Relational"). Training crops have one size, so nothing is lost
    (validation runs the eager model). ``tests/test_train_compile.py`` checks a compiled training step against
    eager on CPU."""
    import torch._dynamo  # lazy: ~4 s to import, and only compile=True needs it

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, COMPILE_RECOMPILE_LIMIT)
    return torch.compile(net, dynamic=False)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """``auto`` → bfloat16 on CUDA, no autocast on CPU (bf16 on CPU is slow and hurts FFT accuracy)."""
    if amp == "auto":
        amp = "bf16" if device.type == "cuda" else "off"
    return AMP_DTYPES.get(amp)


def build_train_set(cfg: TrainConfig):
    """The training data for ``cfg.data``: ``(dataset, samples_per_epoch, fresh_every_epoch)``.

    Items of both ``clusir.data.TrainPairs`` (MiniAIO) and ``clusir.data.real.RealTrainPairs`` are a pure function
    of ``(seed, index)``, so the dataset is made ``epochs`` times longer than an epoch and epoch ``e`` reads
    indices ``e·n … e·n + n − 1``: new crops, flips and degradation draws every epoch, still reproducible and
    resumable. ``n`` = ``data.samples_per_epoch``, else the dataset's own length.
    """
    d = cfg.data
    mix = {"mix": d.mix} if d.mix is not None else {}
    if d.source == "miniaio":
        def make(length):
            return TrainPairs(d.setting, crop=d.crop, split="train", length=length, seed=cfg.seed,
                              synthetic=d.synthetic, scene=d.scene, **mix)
    else:
        if not d.root:
            raise ValueError("data.source=real needs data.root (or `clusir train --root DIR`)")

        def make(length):
            return RealTrainPairs(d.setting, d.root, crop=d.crop, length=length, seed=cfg.seed, ratios=d.ratios,
                                  **mix)
    n = d.samples_per_epoch or len(make(None))
    return make(n * cfg.epochs), n, True


def build_val_set(cfg: TrainConfig) -> list[dict]:
    d = cfg.data
    if not d.val_split:
        return []
    if d.source == "miniaio":
        samples = test_set(d.setting, split=d.val_split)
    else:  # the real data sets have no validation split: the papers select on the test sets too
        samples = RealTestSet(d.setting, d.root)
    return limit_per_task(samples, d.val_limit)


# -- the run's state -----------------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything one training run holds: built once by :func:`build_run`, advanced by the loop."""

    cfg: TrainConfig
    env: DistEnv
    log: RunLogger | None
    model: nn.Module                     # the plain model: saved, validated
    net: nn.Module                       # what the loop calls: ``model``, wrapped in DDP and/or compiled
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    criterion: nn.Module                 # clusir.train.recipe.build_criterion: (loss, parts), describe()
    amp_dtype: torch.dtype | None
    sampler: EpochBatchSampler
    train_set: Any
    val_set: list[dict]
    total_steps: int                     # epochs × steps per epoch (what the schedule spans)
    end_step: int                        # where this run stops (``max_steps`` may end it early)
    init_info: dict | None = None        # where ``cfg.init`` weights came from
    step: int = 0                        # optimiser steps done
    best_metric: float | None = None     # best validation PSNR so far
    last_saved: int = 0                  # the step ``last.pt`` holds
    history: list[dict] = field(default_factory=list)

    @property
    def steps_per_epoch(self) -> int:
        return self.sampler.batches_per_epoch

    @property
    def last_path(self) -> Path:
        return self.cfg.run_path / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.cfg.run_path / "best.pt"


def build_run(cfg: TrainConfig, env: DistEnv, log: RunLogger | None, *, model=None, train_set=None,
              val_set=None, resuming: bool = False) -> Run:
    """Model (on its device), data, sampler, the optimiser, the schedule, the grad scaler and the loss of ``cfg``."""
    if model is None:
        model = build_model(cfg.model)
    init_info = _load_init(model, cfg.init) if cfg.init and not resuming else None   # resume wins over init
    model = model.to(env.device)
    if env.distributed:
        model = convert_sync_batchnorm(model, env.device)
    if train_set is None:
        train_set, epoch_samples, fresh = build_train_set(cfg)
    else:
        epoch_samples, fresh = len(train_set), False
    if val_set is None:
        val_set = build_val_set(cfg) if env.is_main else []
    sampler = EpochBatchSampler(epoch_samples, cfg.batch_size, rank=env.rank, world_size=env.world_size,
                                seed=cfg.seed, fresh_every_epoch=fresh)
    total_steps = cfg.epochs * sampler.batches_per_epoch
    optimizer = build_optimizer(cfg, model.parameters())                # Adam (paper) or AdamW (AnyIR)
    schedule = LRSchedule(cfg.lr_schedule, total_steps, cfg.lr_milestones, cfg.lr_gamma, cfg.warmup_steps)
    amp_dtype = resolve_amp(cfg.amp, env.device)
    return Run(
        cfg=cfg, env=env, log=log, model=model, net=model, optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, schedule),
        scaler=torch.amp.GradScaler(env.device.type, enabled=amp_dtype is torch.float16),
        criterion=build_criterion(cfg),                                  # ℓ1 + MS-SSIM or ℓ1 + FFT-ℓ1
        amp_dtype=amp_dtype, sampler=sampler, train_set=train_set, val_set=val_set, total_steps=total_steps,
        end_step=min(total_steps, cfg.max_steps) if cfg.max_steps else total_steps, init_info=init_info,
    )


def checkpoint_state(run: Run, rngs: list[dict]) -> dict:
    """What ``last.pt`` holds: everything an exact resume needs (weights, optimiser, scheduler, grad scaler,
    the RNG states of every process, the step) and the configs that describe the run. Plain types only, so
    it loads under ``torch.load(weights_only=True)``."""
    epoch, batch = divmod(run.step, run.steps_per_epoch)
    return {
        "format": ckpt_io.FORMAT,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "scaler": run.scaler.state_dict(),
        "step": run.step,
        "epoch": epoch,
        "data_position": {"epoch": epoch, "batch": batch},
        "best_metric": run.best_metric,
        "config": config_to_dict(run.cfg),
        "model_config": _model_config_dict(run.model),
        "rng": rngs,
        "world_size": run.env.world_size,
        "clusir_version": __version__,
        "torch_version": str(torch.__version__),
    }


def save_checkpoint(run: Run) -> None:
    """Write ``last.pt`` atomically. Collective: every rank calls it (the RNG states are gathered)."""
    rngs = gather_objects(ckpt_io.rng_state())
    if run.env.is_main:
        ckpt_io.atomic_save(checkpoint_state(run, rngs), run.last_path)
    run.last_saved = run.step


def restore_run(run: Run, state: dict) -> None:
    """Continue from a :func:`checkpoint_state` dict: weights, optimiser, scheduler, scaler, step, RNG."""
    run.model.load_state_dict(ckpt_io.strip_prefixes(state["model"]))
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(dict(state["scheduler"], lr_lambdas=[None]))  # keep this run's schedule
    run.scaler.load_state_dict(state["scaler"])
    run.step = run.last_saved = int(state["step"])
    run.best_metric = state.get("best_metric")
    env, rngs = run.env, state["rng"]
    if len(rngs) == env.world_size:
        ckpt_io.set_rng_state(rngs[env.rank])
    else:  # a different number of processes: reproducible, but not bit-identical to the original run
        seed_everything(run.cfg.seed + env.rank + 7919 * run.step)
    if run.log:
        run.log.event("resume", step=run.step, from_checkpoint=str(run.last_path),
                      changed_keys=_config_changes(state.get("config"), run.cfg),
                      same_world_size=len(rngs) == env.world_size)


class RunningMeans:
    """Per-sample means of the training figures since the last log row (nanoGPT's ``estimate_loss``, but over
    the batches just trained on), summed over processes when read; also the samples per second."""

    NAMES = ("loss", "l1", "ms_ssim", "aux", "psnr")

    def __init__(self, device: torch.device):
        self.sums = torch.zeros(len(self.NAMES) + 1, dtype=torch.float64, device=device)  # NAMES…, samples
        self.since = time.time()

    def add(self, samples: int, **sums: float) -> None:
        """Add one batch: ``sums[name]`` is the figure summed over the batch's ``samples`` images."""
        row = [sums[k] for k in self.NAMES] + [samples]
        self.sums += torch.tensor(row, dtype=torch.float64, device=self.sums.device)

    def pop(self) -> dict[str, float]:
        """The means over every process, ``samples_per_s`` and ``time``; then start afresh. Collective."""
        all_reduce_sum(self.sums)
        dt = time.time() - self.since
        n = self.sums[-1].item()
        out = {k: self.sums[i].item() / n for i, k in enumerate(self.NAMES)}
        out |= {"samples_per_s": n / max(dt, 1e-9), "time": round(dt, 3)}
        self.sums.zero_()
        self.since = time.time()
        return out


def non_finite(total: torch.Tensor, grad_norm: torch.Tensor, scaler: torch.amp.GradScaler,
               device: torch.device) -> str | None:
    """The NaN/Inf guard: ``"loss"`` or ``"gradient norm"`` if that is non-finite on *any* process (every rank
    must agree, the loss may be bad on one rank only), else None. Under fp16 loss scaling an Inf gradient is
    not an error: the scaler skips that step and lowers its scale."""
    bad = torch.tensor([0.0 if torch.isfinite(total.detach()).item() else 1.0,
                        0.0 if torch.isfinite(grad_norm).item() else 1.0], device=device)
    all_reduce_sum(bad)
    if bad[0] > 0:
        return "loss"
    if bad[1] > 0 and not scaler.is_enabled():
        return "gradient norm"
    return None


def _diverged(run: Run, what: str) -> TrainingDiverged:
    epoch = run.step // run.steps_per_epoch
    kept = run.last_path if run.last_path.exists() else "(none written yet)"
    if run.log:
        run.log.event("diverged", step=run.step + 1, what=what, last_good_step=run.last_saved)
    return TrainingDiverged(f"non-finite {what} at step {run.step + 1} (epoch {epoch + 1}); training stopped. "
                            f"The last good checkpoint is {kept} at step {run.last_saved}. "
                            "Try a lower lr, grad_clip > 0, or amp=off.")


# -- the loop ----------------------------------------------------------------------------------------------


def _batch_psnr(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Sum over images of PSNR (dB) of the clamped prediction, data range 1."""
    mse = (pred.detach().float().clamp(0, 1) - gt.float()).square().flatten(1).mean(1)
    return (-10 * torch.log10(mse.clamp(min=1e-10))).sum()


def _stat_device(env: DistEnv) -> torch.device:
    return env.device if env.backend == "nccl" else torch.device("cpu")   # NCCL reduces CUDA tensors only


def train_step(run: Run, batch: dict) -> tuple[dict[str, float], int, torch.Tensor]:
    """One optimiser step on ``batch``. Returns the batch's figure sums (for :class:`RunningMeans`), its
    number of images and the gradient norm before clipping. Raises :class:`TrainingDiverged`."""
    env, cfg = run.env, run.cfg
    lq = batch["lq"].to(env.device, non_blocking=True)   # (B, 3, crop, crop)
    gt = batch["gt"].to(env.device, non_blocking=True)
    amp = run.amp_dtype
    with torch.autocast(env.device.type, dtype=amp or torch.float32, enabled=amp is not None):
        out = run.net(lq)
        loss, parts = run.criterion(out.image, gt)
        aux = out.aux_loss if torch.is_tensor(out.aux_loss) else torch.tensor(float(out.aux_loss or 0.0))
        total = loss + aux
    run.scaler.scale(total).backward()
    run.scaler.unscale_(run.optimizer)
    max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
    params = [p for p in run.model.parameters() if p.requires_grad]
    grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    what = non_finite(total, grad_norm, run.scaler, _stat_device(env))
    if what:
        raise _diverged(run, what)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.step += 1
    n = lq.shape[0]
    sums = {"loss": total.item() * n, "l1": parts["l1"].item() * n,
            "ms_ssim": parts.get("ms_ssim", torch.tensor(float("nan"))).item() * n,
            "aux": float(aux.detach()) * n, "psnr": _batch_psnr(out.image, gt).item()}
    return sums, n, grad_norm


def train_epoch(run: Run, means: RunningMeans) -> None:
    """Train from ``run.step`` to the end of its epoch (or ``end_step``): log rows, mid-epoch saves."""
    cfg, env, per_epoch = run.cfg, run.env, run.steps_per_epoch
    epoch, start = divmod(run.step, per_epoch)
    run.sampler.set_epoch(epoch, start)
    loader = torch.utils.data.DataLoader(
        run.train_set, batch_sampler=run.sampler, num_workers=cfg.data.num_workers,
        pin_memory=env.device.type == "cuda",
        generator=torch.Generator().manual_seed(cfg.seed * 7919 + epoch),  # worker seeds, not the global RNG
    )
    bar = None
    if env.is_main and cfg.progress:
        bar = tqdm(total=per_epoch, initial=start, desc=f"epoch {epoch + 1}/{cfg.epochs}", dynamic_ncols=True,
                   leave=False, file=sys.stderr)
    ep_psnr, ep_n = 0.0, 0
    run.model.train()
    for batch in loader:
        sums, n, grad_norm = train_step(run, batch)
        means.add(n, **sums)
        ep_psnr, ep_n = ep_psnr + sums["psnr"], ep_n + n
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{sums['loss'] / n:.4f}", psnr=f"{ep_psnr / ep_n:.2f}")
        if run.step % cfg.log_every == 0 or run.step == run.end_step:
            row = means.pop()
            if run.log:
                run.log.train(step=run.step, epoch=run.step / per_epoch, lr=run.scheduler.get_last_lr()[0],
                              **{k: row[k] for k in RunningMeans.NAMES}, grad_norm=float(grad_norm),
                              samples_per_s=row["samples_per_s"], time=row["time"])
        if cfg.save_every and run.step % cfg.save_every == 0 and run.step < run.end_step and run.step % per_epoch:
            save_checkpoint(run)
        if run.step >= run.end_step:
            break
    if bar is not None:
        bar.close()


def end_epoch(run: Run) -> None:
    """At an epoch's end: validate when due (every ``eval_every`` epochs and after the last), save ``last.pt``,
    and copy it to ``best.pt`` when validation PSNR improved."""
    done = run.step // run.steps_per_epoch
    every = run.cfg.eval_every
    metric = None
    if every and (done % every == 0 or done == run.cfg.epochs) and run.val_set:
        metric = _validate(run, done)
    metric = broadcast_object(metric)
    improved = metric is not None and (run.best_metric is None or metric > run.best_metric)
    if improved:
        run.best_metric = metric
    save_checkpoint(run)
    if improved and run.env.is_main:
        tmp = run.cfg.run_path / ".best.tmp"
        shutil.copyfile(run.last_path, tmp)
        os.replace(tmp, run.best_path)


def train(
    cfg: TrainConfig,
    *,
    resume: bool = False,
    model: nn.Module | None = None,
    train_set=None,
    val_set: list[dict] | None = None,
) -> TrainResult:
    """Train ``cfg``; return where the checkpoints are.

    Args:
        cfg: the run (see :class:`~clusir.train.config.TrainConfig`; defaults are the paper's recipe).
        resume: continue from ``<run>/last.pt`` if it exists (else start; with a note in the log).
        model, train_set, val_set: injected instead of being built from ``cfg`` (book cells, tests).
    Raises:
        TrainingDiverged: non-finite loss/gradient; ``last.pt`` still holds the last good state.
    """
    env = setup_distributed(cfg.device)
    before = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    try:
        return _train(cfg, env, resume=resume, model=model, train_set=train_set, val_set=val_set)
    finally:
        cleanup_distributed()
        torch.use_deterministic_algorithms(before[0])       # leave the process as we found it (book, tests)
        torch.set_num_threads(before[1])


def _set_determinism(cfg: TrainConfig) -> None:
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    elif torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True


def _resume_state(last_path: Path, resume: bool) -> dict | None:
    """The checkpoint to continue from, None to start afresh; an existing run is never overwritten."""
    if not last_path.exists():
        return None
    if not resume:
        raise FileExistsError(f"{last_path} exists: pass --resume to continue it, or choose another run_dir/name")
    return ckpt_io.load_checkpoint(last_path)


def _train(cfg: TrainConfig, env: DistEnv, *, resume, model, train_set, val_set) -> TrainResult:
    # -- 1. the process ------------------------------------------------------------------------------------
    torch.set_num_threads(cfg.threads or default_threads())
    _set_determinism(cfg)
    seed_everything(cfg.seed + env.rank)
    state = _resume_state(cfg.run_path / "last.pt", resume)
    barrier()
    log = RunLogger(cfg.run_path) if env.is_main else None
    if env.is_main:
        save_config(cfg, cfg.run_path / "config.yaml")

    # -- 2. model, optimiser, schedule; resume -------------------------------------------------------------
    run = build_run(cfg, env, log, model=model, train_set=train_set, val_set=val_set, resuming=state is not None)
    if state is not None:
        restore_run(run, state)
    elif log:
        log.event("start", init=run.init_info, world_size=env.world_size, device=str(env.device),
                  total_steps=run.total_steps, steps_per_epoch=run.steps_per_epoch, loss=run.criterion.describe(),
                  amp=str(run.amp_dtype).replace("torch.", "") if run.amp_dtype else "off")
    run.net = wrap_ddp(run.model, env)
    if cfg.compile:
        run.net = compile_model(run.net)

    # -- 3. the loop; 4. epoch ends ------------------------------------------------------------------------
    means = RunningMeans(_stat_device(env))
    try:
        while run.step < run.end_step:
            train_epoch(run, means)
            if run.step % run.steps_per_epoch == 0:
                end_epoch(run)
        if run.last_saved != run.step:
            save_checkpoint(run)
        if log:
            log.event("done", step=run.step, best_metric=run.best_metric)
    finally:
        barrier()
    return TrainResult(cfg.run_path, run.step, run.last_path if run.last_path.exists() else None,
                       run.best_path if run.best_path.exists() else None, run.best_metric, run.history)


@torch.no_grad()
def _load_init(model: nn.Module, path: str) -> dict:
    """Load the weights of ``path`` (``cfg.init``) into ``model``; the model configs must agree."""
    ckpt = ckpt_io.load_checkpoint(path)
    if "model" not in ckpt:
        raise ValueError(f"init checkpoint {path}: no 'model' weights in it (not written by clusir?)")
    mine, theirs = _model_config_dict(model), ckpt.get("model_config")
    if mine and theirs:
        differ = sorted(k for k in set(mine) | set(theirs) if _norm(mine.get(k)) != _norm(theirs.get(k)))
        if differ:
            raise ValueError(f"init checkpoint {path} was trained with another model config; "
                             f"these fields differ: {', '.join(differ)}")
    model.load_state_dict(ckpt_io.strip_prefixes(ckpt["model"]))   # float16 release weights are cast on copy
    return {"path": str(path), "sha256": ckpt_io.sha256_file(path), "step": ckpt.get("step")}


def _norm(v):
    return list(v) if isinstance(v, tuple) else v


def _validate(run: Run, epoch: int) -> float | None:
    """Mean over tasks of the mean PSNR per task (rank 0 only; RNG untouched)."""
    env = run.env
    if not env.is_main:
        return None
    with torch.random.fork_rng(devices=[env.device] if env.device.type == "cuda" else []):
        res = evaluate_model(run.model, run.val_set, device=env.device, ssim=False, amp_dtype=run.amp_dtype)
    run.model.train()
    row = {"step": run.step, "epoch": epoch, "psnr": res["mean"]["psnr"],
           "per_task": {t: v["psnr"] for t, v in res["tasks"].items()}}
    run.history.append(row)
    if run.log:
        run.log.val(**row)
    return row["psnr"]


def _model_config_dict(model: nn.Module) -> dict | None:
    cfg = getattr(model, "config", None) or getattr(model, "cfg", None)
    return dataclasses.asdict(cfg) if cfg is not None and dataclasses.is_dataclass(cfg) else None


def _config_changes(old: dict | None, cfg: TrainConfig) -> list[str]:
    """The keys (``data.crop``, ``model.moe``, ...) whose values differ from a checkpoint's config."""
    if not old:
        return []
    try:
        prev = config_to_dict(config_from_dict(old))
    except ValueError:
        return ["<unreadable>"]
    now = config_to_dict(cfg)
    out = []
    for k in dict.fromkeys([*now, *prev]):
        a, b = now.get(k), prev.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{k}.{j}" for j in dict.fromkeys([*a, *b]) if a.get(j) != b.get(j)]
        elif a != b:
            out.append(k)
    return out
