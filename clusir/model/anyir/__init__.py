"""``clusir.model.anyir``: AnyIR (arXiv 2504.14249, TMLR 2026), the comparison system, one concept per module.

    from clusir.model import build_model
    model = build_model("anyir")          # the released size; "anyir_nano" for CPU teaching runs
    out = model(x); out.image, out.aux_loss   # aux_loss is 0: AnyIR has no auxiliary loss

=================================  ========================================================================
``clusir.model.anyir.config``      ``AnyIRConfig``, ``ANYIR_PRESETS`` (anyir, anyir_nano), ``anyir_config``
``clusir.model.anyir.gated_da``    ``GatedDA`` (Algorithm 1), ``channel_statistics``, ``degradation_statistic``
``clusir.model.anyir.fusion``      ``skip_split``, ``spatial_fusion``, ``frequency_fusion``, ``fft_sum``,
                                   ``SpatialFrequencyFusion`` (Algorithm 2)
``clusir.model.anyir.dab``         ``ProjectionFreeMDTA``, ``DABMixer``, ``DAB``
``clusir.model.anyir.network``     ``AnyIR``, ``AnyIROutput``
=================================  ========================================================================

Reconstructed from the authors' released code (Amazingren/AnyIR ``net/anyir.py``, commit 098dcd1); no code of
theirs is reproduced. Shared with ClusIR: ``LayerNorm2d``, ``GDFN``, ``MDTA``, ``Downsample``/``Upsample``.
The GatedDA holds BatchNorm: train with batch ≥ 2.
"""

from __future__ import annotations

from clusir.model.anyir.config import ANYIR_PRESETS, AnyIRConfig, anyir_config
from clusir.model.anyir.network import AnyIR, AnyIROutput


def is_anyir(spec) -> bool:
    """True for an AnyIR preset name, an :class:`AnyIRConfig`, or a stored config dict with arch 'anyir'."""
    if isinstance(spec, AnyIRConfig):
        return True
    if isinstance(spec, dict):
        return spec.get("arch") == "anyir"
    return isinstance(spec, str) and spec in ANYIR_PRESETS


def build_anyir(spec: str | AnyIRConfig | dict = "anyir", **overrides) -> AnyIR:
    """An AnyIR network from a preset name, a config, or a stored config dict (lists become tuples)."""
    if isinstance(spec, dict):
        spec = AnyIRConfig(**spec)
    return AnyIR(anyir_config(spec, **overrides))


__all__ = ["ANYIR_PRESETS", "AnyIR", "AnyIRConfig", "AnyIROutput", "anyir_config", "build_anyir", "is_anyir"]
