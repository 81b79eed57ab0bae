"""``clusir.model``: the ClusIR network, one paper concept per module.

Public API::

    from clusir.model import (ModelConfig, PRESETS, ABLATIONS, model_config, build_model, ClusIR,
                              ClusIROutput, StageRouting, tiled_forward, count_parameters, count_macs)

    model = build_model("nano")                     # or build_model("base", moe="flat"), build_model(cfg)
    out = model(x)                                  # x (B, 3, H, W) in [0, 1], any H, W
    out.image, out.aux_loss, out.aux, out.routing   # see ClusIROutput / StageRouting

Modules (each constructible on its own with small dims, e.g. for a teaching copy in a chapter):

=========================  ==================================================================================
``clusir.model.config``    ``ModelConfig``, ``PRESETS`` (base/small/tiny/nano), ``ABLATIONS``, ``model_config``
``clusir.model.wavelets``  ``haar_dwt``, ``haar_idwt`` (orthonormal Haar, = pywt ``dwt2(·, "haar")``)
``clusir.model.common``    ``LayerNorm2d``, ``GDFN`` (also the expert), ``MDTA``, ``TransformerBlock``,
                           ``CrossAttention``, ``Downsample``, ``Upsample``, ``Passthrough``, ``pad_to_multiple``
``clusir.model.wtb``       ``WaveAttention``, ``WTB`` (Wave-ViT block)
``clusir.model.flat_moe``  ``FlatRouter`` (top-k), ``DenseFlatRouter`` (Eq. (2) as written), ``FlatMoE`` — (1)–(2)
``clusir.model.pcgrm``     ``ClusterPosterior`` (4)–(6), ``GaussianPrompt`` (7), ``GateAttention`` (8),
                           ``ClusterGate`` (9)–(10), ``PCGRMMoE`` (3)
``clusir.model.routing``   ``StageRouting``, ``RoutedOutput``, ``dispatch`` (sparse sub-batch dispatch),
                           ``UnroutedBlock``
``clusir.model.dense``     ``DenseBlock`` (``moe="dense"``: capacity-matched stand-in, controlled Table 4 (a))
``clusir.model.prompts``   ``SemanticPromptFusion``, ``PromptGenBlock`` (PGB)
``clusir.model.dafmm``     ``FSB`` (11)–(13), ``LowFreqModulation`` (14), ``HighFreqModulation`` (15), ``DAFMM``
``clusir.model.aux_losses`` ``prototype_orthogonality``, ``cv_squared`` (load balance)
``clusir.model.network``   ``ClusIR``, ``ClusIROutput``
``clusir.model.tiling``    ``tiled_forward``
``clusir.model.info``      ``count_parameters``, ``count_active_parameters``, ``count_macs``, ``macs_by_op``,
                           ``TABLE7``
=========================  ==================================================================================

Shape legend (comments everywhere): B batch, C channels at this stage (C_s = dim · 2^s), H, W spatial,
N prototypes per stage, K1 active clusters, E experts per cluster, K2 active experts per cluster, D semantic
prompt width (256), L PGB components, k FSB kernel size.

Training notes: unselected experts get no gradient in a step, so DDP needs ``find_unused_parameters=True``;
the FSB and WTB contain BatchNorm (use batch ≥ 2 when training; batch-1 training falls back to running
statistics in the FSB).
"""

from __future__ import annotations

from clusir.model.config import ABLATIONS, PRESETS, ModelConfig, model_config
from clusir.model.info import count_macs, count_parameters
from clusir.model.network import ClusIR, ClusIROutput
from clusir.model.routing import StageRouting
from clusir.model.tiling import tiled_forward


def build_model(cfg_or_preset_name: ModelConfig | str = "base", **overrides) -> ClusIR:
    """A ClusIR network from a preset name (``base``/``small``/``tiny``/``nano``) or a :class:`ModelConfig`,
    with optional field overrides (``build_model("tiny", moe="flat")``). Raises ``ValueError`` on bad fields.
    AnyIR presets (``anyir``, ``anyir_nano``) and configs build the comparison model (``clusir.model.anyir``)."""
    from clusir.model.anyir import build_anyir, is_anyir

    if is_anyir(cfg_or_preset_name):
        return build_anyir(cfg_or_preset_name, **overrides)
    return ClusIR(model_config(cfg_or_preset_name, **overrides))


def config_from_dict(d: dict):
    """The model config stored in a checkpoint (``dataclasses.asdict``): AnyIR when ``arch == "anyir"``."""
    from clusir.model.anyir import AnyIRConfig

    d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    return AnyIRConfig(**d) if d.get("arch") == "anyir" else ModelConfig(**d)


__all__ = [
    "ABLATIONS", "PRESETS", "ClusIR", "ClusIROutput", "ModelConfig", "StageRouting", "build_model",
    "config_from_dict", "count_macs", "count_parameters", "model_config", "tiled_forward",
]
