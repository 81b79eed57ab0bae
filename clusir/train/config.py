"""Training configuration: frozen dataclasses are the source of truth, YAML is only an I/O format.

The defaults are the paper's recipe (ClusIR §4.1): Adam (β = 0.9, 0.999), learning rate 2e-4 halved after half
of the epochs, a global batch of 48, 128×128 random crops with flips, loss ℓ1 + MS-SSIM, 150 epochs (200 for the
composite CDD-11 setting). Everything the paper does not state is marked ``[choice]`` below and in
``docs/training.md``.

A YAML file mirrors the dataclasses (unknown keys are errors)::

    name: nhr_nano_quick
    model: nano                  # a preset of clusir.model.PRESETS ...
    epochs: 12
    data:
      setting: nhr
      crop: 64

or, with model fields changed on the preset (any :class:`~clusir.model.ModelConfig` field)::

    model:
      preset: nano
      moe: none
      prototypes: [2, 3, 4, 6]

and command-line overrides use dotted keys (minGPT style)::

    clusir train --config configs/miniaio/nhr_nano.yaml --set epochs=2 data.crop=48 model.moe=none

Values are parsed with :func:`ast.literal_eval` (a bare word stays a string); a type change, e.g. ``epochs=0.5``,
is an error, as is an unknown key. Setting the preset (``model: tiny``, ``model.preset=tiny``, ``--preset``)
keeps the fields already changed on the previous preset. Configs are written in the same form
(``model: {preset: nano, moe: none}``: the preset and the fields that differ from it). Old configs and
checkpoints with ``model: NAME`` plus ``model_overrides: {...}`` are still read; the overrides are merged into
the model config.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from clusir.model.anyir.config import ANYIR_PRESETS, AnyIRConfig
from clusir.model.config import PRESETS, ModelConfig

#: every preset a training config can name: ClusIR's (Table 7 + nano) and the comparison model AnyIR's
MODEL_PRESETS = {**PRESETS, **ANYIR_PRESETS}
MODEL_CONFIGS = (ModelConfig, AnyIRConfig)

__all__ = [
    "DataConfig",
    "TrainConfig",
    "ConfigError",
    "load_config",
    "merge_config",
    "model_name",
    "apply_overrides",
    "config_to_dict",
    "config_from_dict",
    "save_config",
]


class ConfigError(ValueError):
    """A configuration a user can fix: unknown key, wrong type, impossible combination."""


@dataclass(frozen=True)
class DataConfig:
    """Where training pairs come from.

    ``source="miniaio"`` uses the offline MiniAIO benchmark (``clusir.data.TrainPairs``); ``source="real"`` the
    paper's datasets under ``root`` (``clusir.data.real``, layouts in degradations.md §1.8).
    """

    setting: str = "nhr"                 # a key of clusir.data.SETTINGS ("nhr", "nhrbl", "cdd11", one task ...)
    source: str = "miniaio"              # "miniaio" | "real"
    root: str | None = None              # dataset root for source="real" (also `clusir train --root DIR`)
    crop: int = 128                      # square training crop, paper: 128
    samples_per_epoch: int | None = None # None: the data sets found × their expansion ratios (clusir.data.recipe)
    scene: int | None = 256              # MiniAIO: degrade a scene×scene window, then crop (None: degrade the crop)
    synthetic: bool = False              # TrainPairs(synthetic=True): half the crops from fresh dead-leaves images
    mix: str | dict | None = None        # task sampling: "uniform" | "paper" | {task: weight}; None: the loader's
                                         # default (MiniAIO uniform, real data the paper's expansion ratios)
    ratios: dict | None = None           # real data: expansion ratio per task family, e.g. {lowlight: 200}
                                         # (None: clusir.data.recipe.EXPANSION_RATIOS; low-light ×20, why there)
    num_workers: int = 0                 # DataLoader workers per process
    val_split: str | None = "val"        # split used for `best.pt` selection; None: no validation
    val_limit: int | None = None         # validate on at most this many images per task (None: all)


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults = ClusIR §4.1; quick MiniAIO variants live in ``configs/miniaio/``."""

    name: str = "clusir"
    model: ModelConfig | AnyIRConfig = PRESETS["base"]   # the network; YAML: a preset name or {preset: NAME, ...}
    model_preset: str = "base"                           # the preset `model` starts from (YAML: model.preset)
    data: DataConfig = field(default_factory=DataConfig)
    # optimisation (paper)
    init: str | None = None                              # start from these weights (a training or released
                                                         # checkpoint; optimiser and schedule start afresh)
    epochs: int = 150                                    # 200 for the composite setting
    batch_size: int = 48                                 # global batch: split evenly over DDP processes
    optimizer: str = "adam"                              # "adam" (paper) | "adamw" (AnyIR's recipe)
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    lr_schedule: str = "step"                            # "step" (paper) | "cosine" | "constant"
    lr_milestones: tuple[float, ...] = (0.5,)            # step schedule: fractions of all steps where lr *= lr_gamma
    lr_gamma: float = 0.5
    warmup_steps: int = 0                                # linear warm-up [choice; paper: none]
    # loss: "l1_msssim": ℓ1 + ms_ssim_weight · (1 − MS-SSIM); "l1_fft" (AnyIR): ℓ1 + fft_weight · FFT-ℓ1;
    # plus the model's aux losses (clusir.train.recipe.build_criterion)
    loss: str = "l1_msssim"
    fft_weight: float = 0.1
    l1_weight: float = 1.0
    ms_ssim_weight: float = 0.2                          # [choice] architecture.md §4.6
    ms_ssim_win: int | None = None                       # None: largest odd window ≤ 7 valid for the crop
    # numerics and speed
    grad_clip: float = 1.0                               # max global grad norm; 0 = off [choice]
    amp: str = "auto"                                    # "auto" (bf16 on CUDA, off on CPU) | "bf16" | "fp16" | "off"
    compile: bool = False                                # torch.compile the model
    deterministic: bool = False                          # torch.use_deterministic_algorithms(True)
    seed: int = 0
    device: str = "auto"                                 # "auto" | "cpu" | "cuda"
    threads: int | None = None                           # torch CPU threads (None: clusir.runtime.default_threads())
    # bookkeeping
    run_dir: str = "runs/{name}"                         # `{name}` is replaced by `name`
    save_every: int = 0                                  # also save last.pt every N steps (0: at epoch ends only)
    eval_every: int = 1                                  # validate every N epochs and after the last (0: never); best.pt by val PSNR
    log_every: int = 10                                  # JSONL/CSV row every N steps
    max_steps: int | None = None                         # stop early after N optimiser steps (tests, smoke runs)
    progress: bool = True                                # tqdm bars (rank 0 only)

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir.format(name=self.name))


def _check_value(key: str, old: Any, new: Any) -> Any:
    """Coerce ``new`` to the type of ``old`` where that is lossless; raise ConfigError otherwise."""
    if old is None or new is None:
        return new
    if isinstance(old, bool):
        if isinstance(new, bool):
            return new
    elif isinstance(old, float):
        if isinstance(new, (int, float)) and not isinstance(new, bool):
            return float(new)
    elif isinstance(old, int):
        if isinstance(new, int) and not isinstance(new, bool):
            return new
    elif isinstance(old, tuple):
        if isinstance(new, (list, tuple)):
            return tuple(new)
    elif isinstance(old, type(new)) or isinstance(new, type(old)):
        return new
    raise ConfigError(f"{key}: expected {type(old).__name__}, got {type(new).__name__} ({new!r})")


_OPTIONAL = {  # fields whose default is None: the type a value must have
    "samples_per_epoch": int, "root": str, "val_split": str, "val_limit": int,
    "ms_ssim_win": int, "threads": int, "max_steps": int, "mix": (str, dict), "ratios": dict,
}


_MODEL_KEYS = ("model", "model_preset", "model_overrides")   # model_overrides: read from old configs only


def _model_delta(model, preset: str) -> dict:
    """The fields of ``model`` that differ from ``MODEL_PRESETS[preset]`` (field order kept); everything
    but the preset when ``model`` is of another family (ClusIR vs AnyIR)."""
    ref = MODEL_PRESETS[preset]
    if type(ref) is not type(model):
        return {}
    ref = dataclasses.asdict(ref)
    return {k: v for k, v in dataclasses.asdict(model).items() if v != ref[k]}


def _replace_model(model, values: dict):
    """``model`` with fields replaced; unknown fields and bad values are ConfigErrors naming ``model.<field>``."""
    known = {f.name for f in fields(model)}
    kw = {}
    for key, new in values.items():
        if key not in known:
            raise ConfigError(f"unknown config key {'model.' + key!r} (known: preset, {', '.join(sorted(known))})")
        old = getattr(model, key)
        if isinstance(new, list):
            new = tuple(new)                                   # YAML/JSON lists: the configs want tuples
        elif isinstance(old, float) and isinstance(new, int) and not isinstance(new, bool):
            new = float(new)
        kw[key] = new
    try:
        return replace(model, **kw)
    except (ValueError, TypeError) as exc:                      # the config's own checks name the field
        raise ConfigError(str(exc).replace(f"{type(model).__name__}.", "model.", 1)) from exc


def _model_part(cfg: TrainConfig, values: dict) -> tuple[ModelConfig | AnyIRConfig, str]:
    """Resolve the model keys of a config mapping against ``cfg``: ``(model, preset)``.

    ``model`` may be a preset name, a mapping ``{preset: NAME, field: value, ...}`` or a ModelConfig. A new
    preset keeps the fields ``cfg.model`` changed on its old preset; then the mapping's fields, then (old
    configs) ``model_overrides``, are applied."""
    model, preset = cfg.model, cfg.model_preset
    value, new_preset, changes = values.get("model"), values.get("model_preset"), {}
    if isinstance(value, MODEL_CONFIGS):
        model = value
    elif isinstance(value, str):
        new_preset = value
    elif isinstance(value, dict):
        changes = dict(value)
        new_preset = changes.pop("preset", new_preset)
    elif "model" in values:
        raise ConfigError(f"model: expected a preset name or a mapping {{preset: NAME, field: value}}, got {value!r}")
    old = values.get("model_overrides")
    if old is not None and not isinstance(old, dict):
        raise ConfigError(f"model_overrides: expected a mapping, got {old!r}")
    changes |= old or {}
    if new_preset is not None:
        if not isinstance(new_preset, str) or new_preset not in MODEL_PRESETS:
            raise ConfigError(f"model.preset: unknown preset {new_preset!r}; choose one of "
                              f"{', '.join(MODEL_PRESETS)}")
        model = _replace_model(MODEL_PRESETS[new_preset], _model_delta(model, preset))
        preset = new_preset
    return (_replace_model(model, changes) if changes else model), preset


def _replace_checked(obj, prefix: str, values: dict):
    kw = {}
    if isinstance(obj, TrainConfig) and any(k in values for k in _MODEL_KEYS):
        kw["model"], kw["model_preset"] = _model_part(obj, values)
        values = {k: v for k, v in values.items() if k not in _MODEL_KEYS}
    names = {f.name for f in fields(obj)}
    for key, new in values.items():
        if key not in names:
            raise ConfigError(f"unknown config key {prefix + key!r} (known: {', '.join(sorted(names))})")
        old = getattr(obj, key)
        if dataclasses.is_dataclass(old):
            if not isinstance(new, dict):
                raise ConfigError(f"{prefix + key}: expected a mapping, got {new!r}")
            kw[key] = _replace_checked(old, f"{prefix}{key}.", new)
            continue
        if new is not None and key in _OPTIONAL:
            want = _OPTIONAL[key]
            if not isinstance(new, want) or isinstance(new, bool):
                names = " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
                raise ConfigError(f"{prefix + key}: expected {names} or null, got {new!r}")
            kw[key] = float(new) if want is float else new
            continue
        kw[key] = _check_value(prefix + key, old, new)
    cfg = replace(obj, **kw)
    _validate(cfg)
    return cfg


def _validate(cfg) -> None:
    if isinstance(cfg, TrainConfig):
        if cfg.model_preset not in MODEL_PRESETS:
            raise ConfigError(f"model_preset must be one of {', '.join(MODEL_PRESETS)}, got {cfg.model_preset!r}")
        if type(cfg.model) is not type(MODEL_PRESETS[cfg.model_preset]):
            raise ConfigError(f"model: a {type(cfg.model).__name__} cannot have the preset {cfg.model_preset!r}")
        if cfg.lr_schedule not in ("step", "cosine", "constant"):
            raise ConfigError(f"lr_schedule must be step|cosine|constant, got {cfg.lr_schedule!r}")
        if cfg.amp not in ("auto", "bf16", "fp16", "off"):
            raise ConfigError(f"amp must be auto|bf16|fp16|off, got {cfg.amp!r}")
        if cfg.epochs < 1 or cfg.batch_size < 1:
            raise ConfigError("epochs and batch_size must be >= 1")
        if cfg.optimizer not in ("adam", "adamw"):
            raise ConfigError(f"optimizer must be adam|adamw, got {cfg.optimizer!r}")
        if cfg.loss not in ("l1_msssim", "l1_fft"):
            raise ConfigError(f"loss must be l1_msssim|l1_fft, got {cfg.loss!r}")
        if cfg.fft_weight < 0:
            raise ConfigError(f"fft_weight must be >= 0, got {cfg.fft_weight!r}")
        if cfg.ms_ssim_win is not None and cfg.ms_ssim_win % 2 == 0:
            raise ConfigError("ms_ssim_win must be odd")
    if isinstance(cfg, DataConfig) and cfg.source not in ("miniaio", "real"):
        raise ConfigError(f"data.source must be miniaio|real, got {cfg.source!r}")


def merge_config(cfg: TrainConfig, values: dict) -> TrainConfig:
    """``cfg`` with the keys of a nested mapping replaced (``{"epochs": 2, "model": {"moe": "none"}}``),
    checking every key and type like a YAML file."""
    return _replace_checked(cfg, "", dict(values))


def config_from_dict(d: dict) -> TrainConfig:
    """Build a TrainConfig from a (YAML or checkpoint) mapping, checking every key and type. Reads both the
    current form and the old ``model: NAME`` + ``model_overrides: {...}``."""
    return merge_config(TrainConfig(), d)


def config_to_dict(cfg: TrainConfig) -> dict:
    """Plain dict (tuples kept): loads under ``torch.load(weights_only=True)``, unlike a dataclass instance.

    The model is written as ``{"preset": NAME, <fields that differ from the preset>}``."""
    out = dataclasses.asdict(cfg)
    out.pop("model_preset")
    out["model"] = {"preset": cfg.model_preset, **_model_delta(cfg.model, cfg.model_preset)}
    return out


def model_name(config: TrainConfig | dict) -> str:
    """A label for tables and manifests: ``"nano"``, or ``"nano (moe=none)"`` when fields differ from the preset.
    Takes a TrainConfig or a config mapping of either form (a checkpoint's ``config``)."""
    d = config_to_dict(config) if isinstance(config, TrainConfig) else config
    m = d.get("model", "?")
    if isinstance(m, dict):
        m = dict(m)
        preset, delta = m.pop("preset", "base"), m
    else:
        preset, delta = str(m), dict(d.get("model_overrides") or {})
    return preset + (f" ({', '.join(f'{k}={v}' for k, v in delta.items())})" if delta else "")


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"data.crop=64"`` → (["data", "crop"], 64); a value that is not a Python literal stays a string."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not KEY=VALUE")
    key, raw = item.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    if raw in ("null", "None"):
        value = None
    elif raw in ("true", "false"):
        value = raw == "true"
    return key.strip().split("."), value


def apply_overrides(cfg: TrainConfig, items: list[str] | tuple[str, ...]) -> TrainConfig:
    """Apply ``KEY=VALUE`` strings (dotted keys reach nested configs)."""
    for item in items:
        path, value = parse_override(item)
        nested: Any = value
        for part in reversed(path[1:]):
            nested = {part: nested}
        cfg = _replace_checked(cfg, "", {path[0]: nested})
    return cfg


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML config (or start from the paper defaults when ``path`` is None) and apply overrides."""
    cfg = TrainConfig()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        cfg = config_from_dict(raw)
    return apply_overrides(cfg, overrides)


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def dump_yaml(cfg: TrainConfig) -> str:
    return yaml.safe_dump(_plain(config_to_dict(cfg)), sort_keys=False)


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    """Write the resolved config next to the run (timm writes ``args.yaml``)."""
    Path(path).write_text(dump_yaml(cfg))
