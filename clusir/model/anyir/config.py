"""AnyIR configuration: one frozen dataclass and its named presets (anyir.md §3.1, §6.1).

``arch="anyir"`` marks a stored config as AnyIR's (a checkpoint's ``model_config`` dict carries it, so
:func:`clusir.model.config_from_dict` rebuilds the right network). Presets:

* ``anyir`` — the released network (Amazingren/AnyIR ``net/anyir.py``, 02/2026): width 28, encoder blocks
  (3, 5, 5, 7), decoder (5, 5, 3) mirrored from them, 4 refinement blocks, heads (1, 2, 4, 8), GDFN ×2,
  GatedDA ×8/3 with a 7×7 depth-wise kernel. 5.74 M parameters, 8.57 G MACs at 128².
* ``anyir_nano`` — a CPU teaching size of about the parameters and training-step cost of ClusIR ``nano``
  (docs/benchmarks.md): width 12, blocks (1, 1, 2, 6), no refinement block (like ``nano``), heads
  (1, 1, 2, 2); 0.78 M parameters. Same block design, fewer and narrower blocks. Ours, not the authors'.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

FREQ_MODES = ("fft", "sum")
_TUPLES = ("blocks", "heads")


@dataclass(frozen=True)
class AnyIRConfig:
    """All hyper-parameters of an AnyIR network. Defaults = the released model.

    Level ``s = 0..3`` of the encoder has ``C_s = dim · 2**s`` channels and ``blocks[s]`` DABs with
    ``heads[s]`` attention heads. The decoder mirrors the encoder: levels 3, 2, 1 run ``blocks[2]``,
    ``blocks[1]``, ``blocks[0]`` DABs (the released (5, 5, 3)); level 1 and the refinement run at 2C.
    """

    arch: str = "anyir"                      # marks the config family (checkpoints, build_model)
    dim: int = 28                            # C
    blocks: tuple[int, ...] = (3, 5, 5, 7)   # DABs per encoder level (decoder mirrors levels 1–3)
    refinement_blocks: int = 4               # DABs after decoder level 1 (at 2C)
    heads: tuple[int, ...] = (1, 2, 4, 8)    # MDTA heads per level (on C_s / 2 channels)
    ffn_expansion: float = 2.0               # GDFN hidden width int(2 · C)
    gda_expansion: float = 8 / 3             # GatedDA expansion m = round(8/3 · h)
    gda_kernel: int = 7                      # GatedDA depth-wise kernel
    bias: bool = False                       # conv bias everywhere (released: none)
    freq_mode: str = "fft"                   # "fft": Algorithm 2 as released; "sum": its exact equal
                                             # F_att + F_gate (linearity of the DFT; chapter 15)

    def __post_init__(self) -> None:
        for name in _TUPLES:
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        _validate(self)

    @property
    def stage_dims(self) -> tuple[int, ...]:
        """C_s for s = 0..3."""
        return tuple(self.dim * 2**s for s in range(4))

    @property
    def decoder_blocks(self) -> tuple[int, ...]:
        """DABs at decoder levels 1, 2, 3 (= encoder levels 1, 2, 3)."""
        return tuple(self.blocks[:3])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fail(name: str, value: Any, why: str) -> None:
    raise ValueError(f"AnyIRConfig.{name}={value!r}: {why}")


def _validate(c: AnyIRConfig) -> None:
    if c.arch != "anyir":
        _fail("arch", c.arch, "must be 'anyir'")
    if not isinstance(c.dim, int) or isinstance(c.dim, bool) or c.dim < 2 or c.dim % 2:
        _fail("dim", c.dim, "must be an even integer >= 2 (the DAB splits channels in halves)")
    for name in _TUPLES:
        value = getattr(c, name)
        if len(value) != 4 or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in value):
            _fail(name, value, "must be 4 positive integers (one per level)")
    if not isinstance(c.refinement_blocks, int) or c.refinement_blocks < 0:
        _fail("refinement_blocks", c.refinement_blocks, "must be a non-negative integer")
    for s, (ch, h) in enumerate(zip(c.stage_dims, c.heads)):
        if (ch // 2) % h:
            _fail("heads", c.heads, f"level {s + 1}: {h} heads do not divide the {ch // 2} attention channels")
    if c.dim % c.heads[0]:  # decoder level 1 / refinement: 2C channels, half = C
        _fail("heads", c.heads, f"{c.heads[0]} heads do not divide the {c.dim} channels of decoder level 1")
    hidden = round(c.gda_expansion * c.dim / 2)
    if hidden - c.dim <= 0:
        _fail("gda_expansion", c.gda_expansion, "leaves no channels for the depth-wise part α (need > 2)")
    if c.gda_kernel % 2 == 0 or c.gda_kernel < 1:
        _fail("gda_kernel", c.gda_kernel, "must be a positive odd integer")
    if c.ffn_expansion <= 0:
        _fail("ffn_expansion", c.ffn_expansion, "must be positive")
    if c.freq_mode not in FREQ_MODES:
        _fail("freq_mode", c.freq_mode, f"must be one of {FREQ_MODES}")
    if not isinstance(c.bias, bool):
        _fail("bias", c.bias, "must be True or False")


#: Named AnyIR sizes (names start with "anyir" so they never clash with ClusIR's presets).
ANYIR_PRESETS: dict[str, AnyIRConfig] = {
    "anyir": AnyIRConfig(),
    "anyir_nano": AnyIRConfig(dim=12, blocks=(1, 1, 2, 6), refinement_blocks=0, heads=(1, 1, 2, 2)),
}


def anyir_config(name: str | AnyIRConfig = "anyir", **overrides: Any) -> AnyIRConfig:
    """An AnyIR preset (or a given config) with fields replaced; ``ValueError`` names a bad field."""
    if isinstance(name, AnyIRConfig):
        base = name
    elif name in ANYIR_PRESETS:
        base = ANYIR_PRESETS[name]
    else:
        raise ValueError(f"unknown AnyIR preset {name!r}; choose one of {sorted(ANYIR_PRESETS)}")
    known = {f.name for f in dataclasses.fields(AnyIRConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown AnyIRConfig field(s) {unknown}; known fields: {sorted(known)}")
    return dataclasses.replace(base, **overrides)
