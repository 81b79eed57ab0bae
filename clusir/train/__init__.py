"""Training: config dataclasses + YAML, the loss, the loop, checkpoints, DDP helpers and run logs.

>>> from clusir.train import load_config, train
>>> cfg = load_config("configs/miniaio/nhr_nano.yaml", ["epochs=1"])
>>> result = train(cfg)                      # doctest: +SKIP

Imports are light: torch is only needed by the sub-modules that use it.
"""

from clusir.train.config import ConfigError, DataConfig, TrainConfig, apply_overrides, load_config

__all__ = [
    "ConfigError",
    "DataConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "train",
    "TrainingDiverged",
    "load_checkpoint",
    "load_model",
]


def __getattr__(name):  # lazy: `import clusir.train` does not import torch
    if name in ("train", "TrainingDiverged", "TrainResult"):
        from clusir.train import trainer

        return getattr(trainer, name)
    if name in ("load_checkpoint", "load_model"):
        from clusir.train import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(name)
