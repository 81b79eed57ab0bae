"""Training: config dataclasses + YAML, the loss, the loop, checkpoints, DDP helpers and run logs.

>>> from clusir.train import load_config, train
>>> cfg = load_config("configs/miniaio/nhr_nano.yaml", ["epochs=1"])
>>> result = train(cfg)                      # doctest: +SKIP
"""

from clusir.train.checkpoint import load_checkpoint, load_model
from clusir.train.config import ConfigError, DataConfig, TrainConfig, apply_overrides, load_config
from clusir.train.trainer import TrainingDiverged, TrainResult, train

__all__ = [
    "ConfigError",
    "DataConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "train",
    "TrainingDiverged",
    "TrainResult",
    "load_checkpoint",
    "load_model",
]

