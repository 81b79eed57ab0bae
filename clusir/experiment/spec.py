"""An experiment is data: a YAML file under ``configs/experiments/`` read into :class:`ExperimentSpec`.

One file names a base training config, a budget shared by every variant (steps, batch, crop), the seeds, the
reference variant that the others are compared with, and the variants. A variant is a named set of model and
training overrides, optionally taken from :data:`clusir.model.ABLATIONS`::

    name: table4
    title: "Table 4: what each component adds"
    base_config: configs/miniaio/nhr_nano.yaml
    budget: {steps: 200, batch_size: 8, crop: 64}
    seeds: [0, 1, 2]
    reference: t4c_full
    keep_checkpoints: [t4c_full, t4a_wtb_only]       # seed-0 weights kept in checkpoints/experiments/
    paper_source: "ClusIR Table 4 (Base model, full N+H+R data, one run)"
    variants:
      - name: t4a_wtb_only
        label: "(a) WTB only (literal: no experts)"
        ablation: t4a_wtb_only                       # a clusir.model.ABLATIONS entry ...
        model: {}                                    # ... plus (or instead) ModelConfig overrides
        train: {}                                    # TrainConfig overrides (dotted keys allowed)
        paper: {avg: [32.68, 0.922]}                 # as reported by the paper (PSNR, SSIM)
      - name: t4c_full
        same_as: table4/t4c_full                     # reuse another experiment's runs (configs must agree)

:func:`resolve_config` turns (spec, variant, seed) into the :class:`~clusir.train.config.TrainConfig` that
runs; two variants are "the same run" exactly when their resolved configs agree (``same_as`` is checked so).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clusir.model import ABLATIONS
from clusir.runtime import repo_root
from clusir.train.config import ConfigError, apply_overrides, config_to_dict, load_config

__all__ = [
    "Budget", "Variant", "ExperimentSpec", "load_spec", "spec_to_dict", "spec_from_dict", "list_specs",
    "experiments_dir", "resolve_config", "config_key", "config_differences", "model_config_of",
]


def experiments_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "configs" / "experiments"


@dataclass(frozen=True)
class Budget:
    """What every variant of one experiment gets: the same optimiser steps of the same batch and crop."""

    steps: int = 200
    batch_size: int = 8
    crop: int = 64
    val_limit: int | None = None      # validation images per task after training (None: the whole split)
    test_limit: int | None = None     # test images per task (None: the whole MiniAIO test split; tests use 1–2)
    save_every: int = 50              # last.pt every N steps, so a killed run loses at most N steps

    def __post_init__(self) -> None:
        for k in ("steps", "batch_size", "crop", "save_every"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"budget.{k} must be a positive integer, got {v!r}")


@dataclass(frozen=True)
class Variant:
    name: str
    label: str = ""
    ablation: str | None = None                       # a key of clusir.model.ABLATIONS
    model: dict = field(default_factory=dict)         # ModelConfig overrides; "preset" picks the size
    train: dict = field(default_factory=dict)         # TrainConfig overrides (dotted keys)
    same_as: str | None = None                        # "experiment/variant": reuse those runs
    steps: int | None = None                          # this variant's own step budget (compute-matched
                                                      # pairs); None: the experiment's budget.steps
    paper: dict = field(default_factory=dict)         # {"avg": [psnr, ssim], "tasks": {task: [psnr, ssim]}}

    def model_overrides(self) -> dict:
        """ABLATIONS entry (if any) then ``model`` on top; ``preset`` excluded."""
        out: dict[str, Any] = {}
        if self.ablation is not None:
            if self.ablation not in ABLATIONS:
                raise ConfigError(f"variant {self.name}: unknown ablation {self.ablation!r} "
                                  f"(known: {', '.join(sorted(ABLATIONS))})")
            out.update(ABLATIONS[self.ablation])
        out.update({k: v for k, v in self.model.items() if k != "preset"})
        return {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    base_config: str
    variants: tuple[Variant, ...]
    reference: str
    title: str = ""
    description: str = ""
    budget: Budget = field(default_factory=Budget)
    seeds: tuple[int, ...] = (0, 1)
    train: dict = field(default_factory=dict)         # TrainConfig overrides for every variant
    keep_checkpoints: tuple[str, ...] = ()
    paper_source: str = ""

    def __post_init__(self) -> None:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ConfigError(f"experiment {self.name}: variant names repeat: {names}")
        if self.reference not in names:
            raise ConfigError(f"experiment {self.name}: reference {self.reference!r} is not a variant")
        for k in self.keep_checkpoints:
            if k not in names:
                raise ConfigError(f"experiment {self.name}: keep_checkpoints names unknown variant {k!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"experiment {self.name}: seeds must be distinct and non-empty")

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise ConfigError(f"experiment {self.name} has no variant {name!r} "
                          f"(variants: {', '.join(v.name for v in self.variants)})")


def spec_from_dict(d: dict, source: str = "<dict>") -> ExperimentSpec:
    """Build a spec from a YAML mapping; unknown keys are errors naming the file."""
    d = dict(d)
    try:
        _only(d, {f.name for f in dataclasses.fields(ExperimentSpec)}, source)
        variants = []
        for i, v in enumerate(d.pop("variants", None) or []):
            if not isinstance(v, dict) or "name" not in v:
                raise ConfigError(f"variant #{i + 1} needs a mapping with a name")
            _only(v, {f.name for f in dataclasses.fields(Variant)}, f"{source}: variant {v['name']}")
            variants.append(Variant(**v))
        budget = d.pop("budget", None) or {}
        _only(budget, {f.name for f in dataclasses.fields(Budget)}, f"{source}: budget")
        return ExperimentSpec(
            variants=tuple(variants), budget=Budget(**budget),
            seeds=tuple(d.pop("seeds", (0, 1))), keep_checkpoints=tuple(d.pop("keep_checkpoints", ())), **d)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def _only(d: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} (known: {', '.join(sorted(known))})")


def spec_to_dict(spec: ExperimentSpec) -> dict:
    """Plain mapping (lists, not tuples) that :func:`spec_from_dict` reads back to an equal spec."""
    return _plain(dataclasses.asdict(spec))


def load_spec(name_or_path: str | Path, root: Path | None = None) -> ExperimentSpec:
    """``table4`` (a file of ``configs/experiments/``) or a path to a YAML file."""
    p = Path(name_or_path)
    if not p.suffix:
        p = experiments_dir(root) / f"{name_or_path}.yaml"
    if not p.is_file():
        known = ", ".join(list_specs(root)) or "none"
        raise ConfigError(f"no experiment file {p} (experiments: {known})")
    raw = yaml.safe_load(p.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level")
    return spec_from_dict(raw, source=str(p))


def list_specs(root: Path | None = None) -> list[str]:
    d = experiments_dir(root)
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def _dotted(prefix: str, d: dict) -> list[str]:
    items = []
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("mix", "model_overrides"):
            items += _dotted(f"{prefix}{k}.", v)
        else:
            items.append(f"{prefix}{k}={v!r}")
    return items


def resolve_config(spec: ExperimentSpec, variant: Variant | str, seed: int, *, runs_dir: Path | str,
                   root: Path | None = None):
    """The TrainConfig of one run: base config, experiment and variant overrides, the budget, the seed.

    The budget is one epoch of ``steps × batch`` samples, so the learning-rate schedule completes within it.
    Validation during training is off (``eval_every=0``): the run is scored once, at its last step.
    """
    v = spec.variant(variant) if isinstance(variant, str) else variant
    if v.same_as:
        exp, _, var = v.same_as.partition("/")
        other = load_spec(exp, root)
        return resolve_config(other, var, seed, runs_dir=runs_dir, root=root)
    base = Path(spec.base_config)
    if not base.is_absolute():
        base = (root or repo_root()) / base
    cfg = load_config(base)
    for part in (spec.train, v.train):
        cfg = apply_overrides(cfg, _dotted("", part))
    b = spec.budget
    steps = v.steps or b.steps
    model = v.model.get("preset")
    run_dir = Path(runs_dir) / spec.name / v.name / f"seed{seed}"
    items = [f"name={spec.name}-{v.name}-s{seed}", f"run_dir={str(run_dir)!r}", f"seed={seed}", "epochs=1",
             f"batch_size={b.batch_size}", f"data.crop={b.crop}", f"data.samples_per_epoch={steps * b.batch_size}",
             "max_steps=None", "eval_every=0", "progress=False", f"save_every={b.save_every}",
             "deterministic=True"]
    if model:
        items.append(f"model={model}")
    cfg = apply_overrides(cfg, items)
    overrides = v.model_overrides()
    if overrides:
        cfg = _with_model_overrides(cfg, overrides)
    return cfg


def _with_model_overrides(cfg, overrides: dict):
    """Merge ModelConfig overrides into ``cfg`` (through the config's own checked path)."""
    from clusir.train.config import config_from_dict

    d = config_to_dict(cfg)
    if isinstance(d.get("model"), dict):                 # TrainConfig with a nested ModelConfig
        d["model"] = {**d["model"], **overrides}
    else:
        d["model_overrides"] = {**(d.get("model_overrides") or {}), **overrides}
    return config_from_dict(d)


#: TrainConfig fields that do not change what a run computes
_BOOKKEEPING = ("name", "run_dir", "progress", "log_every", "save_every", "threads", "device", "model",
                "model_overrides")


def model_config_of(cfg) -> dict:
    """The resolved ModelConfig of a TrainConfig, as a plain dict (a preset name plus overrides, or nested)."""
    from clusir.model import ModelConfig, model_config

    m = cfg.model
    if dataclasses.is_dataclass(m):
        return dataclasses.asdict(m)
    extra = getattr(cfg, "model_overrides", None) or {}
    return dataclasses.asdict(model_config(m, **extra) if isinstance(m, str) else ModelConfig(**extra))


def config_differences(recorded: dict, recorded_model: dict, cfg) -> list[str]:
    """Fields in which a result's recorded config and model config differ from ``cfg`` (empty: the same run).

    A field that exists on one side only (added to the code since) counts as equal when it holds its default.
    """
    from clusir.model import ModelConfig
    from clusir.train.config import TrainConfig

    def diff(old: dict, new: dict, defaults: dict, prefix: str) -> list[str]:
        out = []
        for k in sorted(set(old) | set(new)):
            if k in _BOOKKEEPING and not prefix:
                continue
            a, b = old.get(k, defaults.get(k)), new.get(k, defaults.get(k))
            if isinstance(a, dict) and isinstance(b, dict) and isinstance(defaults.get(k), dict):
                out += diff(a, b, defaults[k], f"{prefix}{k}.")
            elif _plain(a) != _plain(b):
                out.append(prefix + k)
        return out

    train_defaults = config_to_dict(TrainConfig())
    return (diff(recorded, config_to_dict(cfg), train_defaults, "")
            + diff(recorded_model, model_config_of(cfg), dataclasses.asdict(ModelConfig()), "model."))


def _plain(x):
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def config_key(cfg) -> str:
    """A hash of what determines a run's outcome: the resolved config without its name and run_dir."""
    d = {k: v for k, v in config_to_dict(cfg).items() if k not in _BOOKKEEPING}
    d["model"] = model_config_of(cfg)
    blob = json.dumps(d, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
