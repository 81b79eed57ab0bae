"""The training loop: one function, :func:`train`, readable top to bottom (nanoGPT/minGPT style, no framework).

``clusir train --config CFG`` calls it, the book calls it with the nano/tiny presets, and ``torchrun`` runs one
copy per device. What it does, in order:

1. set up the process (DDP environment, threads, seeds, deterministic mode);
2. build the model, Adam and the learning-rate schedule; resume them from ``last.pt`` if asked;
3. loop over epochs and batches: forward under autocast, loss = ℓ1 + λ·(1 − MS-SSIM) + model aux losses,
   backward, clip, NaN/Inf guard, step;
4. log (tqdm, JSONL/CSV), validate at epoch ends, save ``last.pt`` (and ``best.pt``) atomically.

The run is resumable at any optimiser step: the checkpoint holds model, optimiser, scheduler, grad scaler, the
RNG states of every process and the step, from which the sampler recomputes the data position
(:mod:`clusir.train.sampler`). With ``deterministic: true`` on CPU a run killed by SIGKILL and resumed ends
with bit-identical weights (tests/test_train_resume.py).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

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

__all__ = ["train", "TrainResult", "TrainingDiverged", "LRSchedule", "resolve_amp", "build_train_set"]

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
    import torch._dynamo

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
        from clusir.data import TrainPairs

        def make(length):
            return TrainPairs(d.setting, crop=d.crop, split="train", length=length, seed=cfg.seed,
                              synthetic=d.synthetic, scene=d.scene, **mix)
    else:
        from clusir.data.real import RealTrainPairs

        if not d.root:
            raise ValueError("data.source=real needs data.root (or `clusir train --root DIR`)")

        def make(length):
            return RealTrainPairs(d.setting, d.root, crop=d.crop, length=length, seed=cfg.seed, **mix)
    n = d.samples_per_epoch or len(make(None))
    return make(n * cfg.epochs), n, True


def build_val_set(cfg: TrainConfig) -> list[dict]:
    d = cfg.data
    if not d.val_split:
        return []
    if d.source == "miniaio":
        from clusir.data import test_set

        samples = test_set(d.setting, split=d.val_split)
    else:  # the real data sets have no validation split: the papers select on the test sets too
        from clusir.data.real import RealTestSet

        samples = RealTestSet(d.setting, d.root)
    from clusir.evaluate import limit_per_task

    return limit_per_task(samples, d.val_limit)


def _set_determinism(cfg: TrainConfig) -> None:
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    elif torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True


def _batch_psnr(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Sum over images of PSNR (dB) of the clamped prediction, data range 1."""
    mse = (pred.detach().float().clamp(0, 1) - gt.float()).square().flatten(1).mean(1)
    return (-10 * torch.log10(mse.clamp(min=1e-10))).sum()


def _progress(total: int, initial: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True, leave=False, file=sys.stderr)


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


def _train(cfg: TrainConfig, env: DistEnv, *, resume, model, train_set, val_set) -> TrainResult:
    from clusir.book import default_threads, seed_everything

    # -- 1. the process ------------------------------------------------------------------------------------
    torch.set_num_threads(cfg.threads or default_threads())
    _set_determinism(cfg)
    seed_everything(cfg.seed + env.rank)
    run_dir = cfg.run_path
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    state = None
    if last_path.exists():
        if not resume:
            raise FileExistsError(f"{last_path} exists: pass --resume to continue it, or choose another run_dir/name")
        state = ckpt_io.load_checkpoint(last_path)
    barrier()
    log = RunLogger(run_dir) if env.is_main else None
    if env.is_main:
        save_config(cfg, run_dir / "config.yaml")

    # -- 2. model, optimiser, schedule ---------------------------------------------------------------------
    if model is None:
        from clusir.model import build_model

        model = build_model(cfg.model, **cfg.model_overrides)
    init_info = _load_init(model, cfg.init) if cfg.init and state is None else None   # resume wins over init
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
    steps_per_epoch = sampler.batches_per_epoch
    total_steps = cfg.epochs * steps_per_epoch
    end_step = min(total_steps, cfg.max_steps) if cfg.max_steps else total_steps

    optimizer = build_optimizer(cfg, model.parameters())                # Adam (paper) or AdamW (AnyIR)
    schedule = LRSchedule(cfg.lr_schedule, total_steps, cfg.lr_milestones, cfg.lr_gamma, cfg.warmup_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    amp_dtype = resolve_amp(cfg.amp, env.device)
    scaler = torch.amp.GradScaler(env.device.type, enabled=amp_dtype is torch.float16)
    criterion = build_criterion(cfg)                                     # ℓ1 + MS-SSIM or ℓ1 + FFT-ℓ1

    step, best_metric = 0, None
    if state is not None:
        model.load_state_dict(ckpt_io.strip_prefixes(state["model"]))
        optimizer.load_state_dict(state["optimizer"])
        sched_state = dict(state["scheduler"], lr_lambdas=[None])  # keep this run's schedule object
        scheduler.load_state_dict(sched_state)
        scaler.load_state_dict(state["scaler"])
        step, best_metric = int(state["step"]), state.get("best_metric")
        rngs = state["rng"]
        if len(rngs) == env.world_size:
            ckpt_io.set_rng_state(rngs[env.rank])
        else:  # a different number of processes: reproducible, but not bit-identical to the original run
            seed_everything(cfg.seed + env.rank + 7919 * step)
        changed = _config_changes(state.get("config"), cfg)
        if log:
            log.event("resume", step=step, from_checkpoint=str(last_path), changed_keys=changed,
                      same_world_size=len(rngs) == env.world_size)
    elif log:
        log.event("start", init=init_info, world_size=env.world_size, device=str(env.device), total_steps=total_steps,
                  steps_per_epoch=steps_per_epoch, loss=criterion.describe(),
                  amp=str(amp_dtype).replace("torch.", "") if amp_dtype else "off")

    net = wrap_ddp(model, env)
    if cfg.compile:
        net = compile_model(net)
    model_config = _model_config_dict(model)

    def save(path: Path, metric: float | None) -> None:
        rngs = gather_objects(ckpt_io.rng_state())          # collective: every rank calls save()
        if not env.is_main:
            return
        ckpt_io.atomic_save({
            "format": ckpt_io.FORMAT,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "step": step,
            "epoch": step // steps_per_epoch,
            "data_position": {"epoch": step // steps_per_epoch, "batch": step % steps_per_epoch},
            "best_metric": metric,
            "config": config_to_dict(cfg),
            "model_config": model_config,
            "rng": rngs,
            "world_size": env.world_size,
            "clusir_version": _version(),
            "torch_version": str(torch.__version__),
        }, path)

    # -- 3. the loop ---------------------------------------------------------------------------------------
    history: list[dict] = []
    params = [p for p in model.parameters() if p.requires_grad]
    max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
    stat_dev = env.device if env.backend == "nccl" else torch.device("cpu")   # NCCL reduces CUDA tensors only
    acc = torch.zeros(6, dtype=torch.float64, device=stat_dev)  # loss·n, l1·n, msssim·n, aux·n, psnr sum, n
    t_log, last_saved = time.time(), step
    try:
        while step < end_step:
            epoch, start = divmod(step, steps_per_epoch)
            sampler.set_epoch(epoch, start)
            loader = torch.utils.data.DataLoader(
                train_set, batch_sampler=sampler, num_workers=cfg.data.num_workers,
                pin_memory=env.device.type == "cuda",
                generator=torch.Generator().manual_seed(cfg.seed * 7919 + epoch),  # worker seeds, not the global RNG
            )
            bar = _progress(steps_per_epoch, start, f"epoch {epoch + 1}/{cfg.epochs}", env.is_main and cfg.progress)
            ep_psnr, ep_n = 0.0, 0
            model.train()
            for batch in loader:
                lq = batch["lq"].to(env.device, non_blocking=True)   # (B, 3, crop, crop)
                gt = batch["gt"].to(env.device, non_blocking=True)
                with torch.autocast(env.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                    out = net(lq)
                    loss, parts = criterion(out.image, gt)
                    aux = out.aux_loss if torch.is_tensor(out.aux_loss) else torch.tensor(float(out.aux_loss or 0.0))
                    total = loss + aux
                scaler.scale(total).backward()
                scaler.unscale_(optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
                # NaN/Inf guard: every rank must agree (the loss may be bad on one rank only)
                bad = torch.tensor([0.0 if torch.isfinite(total.detach()).item() else 1.0,
                                    0.0 if torch.isfinite(grad_norm).item() else 1.0], device=stat_dev)
                all_reduce_sum(bad)
                if bad[0] > 0 or (bad[1] > 0 and not scaler.is_enabled()):
                    what = "loss" if bad[0] > 0 else "gradient norm"
                    msg = (f"non-finite {what} at step {step + 1} (epoch {epoch + 1}); training stopped. "
                           f"The last good checkpoint is {last_path if last_path.exists() else '(none written yet)'}"
                           f" at step {last_saved}. Try a lower lr, grad_clip > 0, or amp=off.")
                    if log:
                        log.event("diverged", step=step + 1, what=what, last_good_step=last_saved)
                    raise TrainingDiverged(msg)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1

                n = lq.shape[0]
                psnr_sum = _batch_psnr(out.image, gt).item()
                acc += torch.tensor([total.item() * n, parts["l1"].item() * n,
                                     parts.get("ms_ssim", torch.tensor(float("nan"))).item() * n,
                                     float(aux.detach()) * n, psnr_sum, n], dtype=torch.float64, device=stat_dev)
                ep_psnr, ep_n = ep_psnr + psnr_sum, ep_n + n
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{total.item():.4f}", psnr=f"{ep_psnr / ep_n:.2f}")
                if step % cfg.log_every == 0 or step == end_step:
                    all_reduce_sum(acc)
                    if log:
                        dt = time.time() - t_log
                        k = acc[5].item()
                        log.train(step=step, epoch=step / steps_per_epoch, lr=scheduler.get_last_lr()[0],
                                  loss=acc[0].item() / k, l1=acc[1].item() / k, ms_ssim=acc[2].item() / k,
                                  aux=acc[3].item() / k, psnr=acc[4].item() / k, grad_norm=float(grad_norm),
                                  samples_per_s=k / max(dt, 1e-9), time=round(dt, 3))
                    acc.zero_()
                    t_log = time.time()
                if cfg.save_every and step % cfg.save_every == 0 and step < end_step and step % steps_per_epoch:
                    save(last_path, best_metric)
                    last_saved = step
                if step >= end_step:
                    break
            if bar is not None:
                bar.close()

            # -- 4. epoch end: validate, save --------------------------------------------------------------
            if step % steps_per_epoch == 0:
                done_epochs = step // steps_per_epoch
                metric = None
                due = bool(cfg.eval_every) and (done_epochs % cfg.eval_every == 0 or done_epochs == cfg.epochs)
                if due and val_set:                                 # every eval_every epochs, and the last one
                    metric = _validate(model, val_set, env, amp_dtype, log, step, done_epochs, history)
                metric = broadcast_object(metric)
                improved = metric is not None and (best_metric is None or metric > best_metric)
                if improved:
                    best_metric = metric
                save(last_path, best_metric)
                last_saved = step
                if improved and env.is_main:
                    import shutil

                    shutil.copyfile(last_path, run_dir / ".best.tmp")
                    os.replace(run_dir / ".best.tmp", best_path)
        if last_saved != step:
            save(last_path, best_metric)
        if log:
            log.event("done", step=step, best_metric=best_metric)
    finally:
        barrier()
    return TrainResult(run_dir, step, last_path if last_path.exists() else None,
                       best_path if best_path.exists() else None, best_metric, history)


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


def _validate(model, val_set, env, amp_dtype, log, step, epoch, history) -> float | None:
    """Mean over tasks of the mean PSNR per task (rank 0 only; RNG untouched)."""
    if not env.is_main:
        return None
    from clusir.evaluate import evaluate_model

    with torch.random.fork_rng(devices=[env.device] if env.device.type == "cuda" else []):
        res = evaluate_model(model, val_set, device=env.device, ssim=False, amp_dtype=amp_dtype)
    model.train()
    row = {"step": step, "epoch": epoch, "psnr": res["mean"]["psnr"],
           "per_task": {t: v["psnr"] for t, v in res["tasks"].items()}}
    history.append(row)
    if log:
        log.val(**row)
    return row["psnr"]


def _model_config_dict(model: nn.Module) -> dict | None:
    import dataclasses

    cfg = getattr(model, "config", None) or getattr(model, "cfg", None)
    return dataclasses.asdict(cfg) if cfg is not None and dataclasses.is_dataclass(cfg) else None


def _config_changes(old: dict | None, cfg: TrainConfig) -> list[str]:
    if not old:
        return []
    try:
        prev = config_to_dict(config_from_dict(old))
    except ValueError:
        return ["<unreadable>"]
    now = config_to_dict(cfg)
    out = []
    for k in now:
        if isinstance(now[k], dict) and isinstance(prev.get(k), dict):
            out += [f"{k}.{j}" for j in now[k] if now[k][j] != prev[k].get(j)]
        elif now[k] != prev.get(k):
            out.append(k)
    return out


def _version() -> str:
    from clusir import __version__

    return __version__
