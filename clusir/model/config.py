"""Model configuration: one frozen dataclass, named presets and named ablations (style guide §6–§7).

Every ablation switch of the paper is a *field* here (``moe``, ``dafmm``, ``prototypes``, ``k1``,
``experts_per_cluster``, ``k2``, ``proto_init``, ``orth_weight``, ``flat_top_k``, ``temperature``,
``prompt_noise``); :func:`clusir.model.build_model` resolves them once, so the modules' ``forward`` methods
contain no configuration branches. :data:`ABLATIONS` names the paper's rows (and our controlled variants).

Checkpoints should store ``dataclasses.asdict(cfg)`` (plain dicts load under ``torch.load(weights_only=True)``)
and rebuild with ``ModelConfig(**d)``; lists coming back from YAML/JSON are turned into tuples.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any

MOE_KINDS = ("none", "dense", "flat", "pcgrm")
FLAT_ALL = "all"                                         # flat_top_k value: every expert, Eq. (2) as written
PROTO_INITS = ("orthogonal", "random")
NUM_STAGES = 4
_STAGE_TUPLES = ("wtb_blocks", "heads", "sr_ratios", "prototypes")
_LEVEL_TUPLES = ("decoder_blocks", "decoder_heads", "prompt_sizes")


@dataclass(frozen=True)
class ModelConfig:
    """All hyper-parameters of a ClusIR network. Defaults = the Base model (Table 7, dim 48).

    Stage ``s = 0..3`` has ``C_s = dim * 2**s`` channels. Decoder/prompt tuples are listed by level
    ``1..3`` (full-resolution decoder first), the same order as the semantic prompts p̂1, p̂2, p̂3.
    Choices the paper does not state cite ``architecture.md`` §6 (item numbers) and ``docs/design.md``.
    """

    # trunk --------------------------------------------------------------------------------------------
    dim: int = 48                                        # C (Table 7: T/S/B = 16/32/48)
    wtb_blocks: tuple[int, ...] = (1, 1, 1, 1)           # WTBs per encoder stage (arch §6.1)
    heads: tuple[int, ...] = (1, 2, 4, 8)                # WTB / Eq. (8) heads per stage (arch §6.2)
    sr_ratios: tuple[int, ...] = (4, 2, 1, 1)            # Wave-ViT key/value reduction per stage
    ffn_expansion: float = 2.66                          # GDFN width γ (AdaIR family)
    bias: bool = False                                   # conv/linear bias in the trunk (Restormer)
    decoder_blocks: tuple[int, ...] = (4, 6, 6)          # Restormer blocks at decoder levels 1, 2, 3
    decoder_heads: tuple[int, ...] = (1, 2, 4)           # MDTA heads at decoder levels 1, 2, 3
    refinement_blocks: int = 2                           # AdaIR uses 4; 2 fits Table 7 MACs (design.md)
    # mixture of experts (§3.2) -----------------------------------------------------------------------
    moe: str = "pcgrm"                                   # "pcgrm" Eqs. (3)–(10) | "flat" Eqs. (1)–(2) | "none"
                                                         # | "dense" (one GDFN of K1·K2 experts' width, dense.py)
    prototypes: tuple[int, ...] = (3, 3, 3, 3)           # N per stage (paper §4.1, Table 5)
    k1: int | tuple[int, ...] = 2                        # active clusters K1, Eq. (6) (int or per stage)
    experts_per_cluster: int | tuple[int, ...] = 7       # E (arch §6.4) (int or per stage)
    k2: int = 2                                          # active experts per cluster K2, Eq. (10)
    expert_expansion: float = 2.7                        # GDFN width of one expert (2.66 + Table-7 fit, design.md)
    proto_init: str = "orthogonal"                       # "orthogonal" | "random" (Table 9)
    temperature: float = 1.0                             # τ of Eq. (5); the paper has none (arch §6.7)
    prompt_noise: bool = True                            # ε of the degradation prompt, Eq. (7), in training
    sigma_init: float = 0.1                              # σ_c at initialisation, Eq. (7)
    flat_experts: int | None = None                      # M of Eq. (1); None = N_s · E (same parameters)
    flat_top_k: int | str | None = None                  # experts run by the flat router; None = K1·K2;
                                                         # "all" = every expert, weights = Eq. (1)'s softmax
    # semantic prompts, PGB and DAFMM (§3.1, §3.3) ---------------------------------------------------
    dafmm: bool = True                                   # Table 4 (c) vs (b)
    prompt_dim: int = 256                                # width D of the semantic prompt space (arch §6.10)
    prompt_heads: int = 8                                # heads of the semantic prompt fusion attention
    prompt_components: int = 3                           # L, PGB components of the prompt maps (arch §6.11)
    prompt_sizes: tuple[int, ...] = (64, 32, 16)         # PGB component size S for p̂1, p̂2, p̂3
    fsb_groups: int = 8                                  # FSB filter groups (SFNet), Eq. (11)
    fsb_kernel: int = 3                                  # FSB kernel k, Eq. (12)
    # auxiliary losses owned by the model -------------------------------------------------------------
    orth_weight: float = 0.01                            # λ of ‖P̂P̂ᵀ − I‖²_F (arch §4.6)
    balance_weight: float = 0.0                          # load-balance CV² weight (off: ablation only)

    def __post_init__(self) -> None:
        for name in (*_STAGE_TUPLES, *_LEVEL_TUPLES):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in ("k1", "experts_per_cluster"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        _validate(self)

    # derived quantities -----------------------------------------------------------------------------
    @property
    def stage_dims(self) -> tuple[int, ...]:
        """C_s for s = 0..3."""
        return tuple(self.dim * 2**s for s in range(NUM_STAGES))

    def k1_at(self, stage: int) -> int:
        """K1 of one stage."""
        return self.k1 if isinstance(self.k1, int) else self.k1[stage]

    def experts_per_cluster_at(self, stage: int) -> int:
        """E of one stage."""
        e = self.experts_per_cluster
        return e if isinstance(e, int) else e[stage]

    def flat_experts_at(self, stage: int) -> int:
        """M of Eq. (1) at one stage (default: as many experts as PCGRM has there, N_s · E_s)."""
        return self.flat_experts or self.prototypes[stage] * self.experts_per_cluster_at(stage)

    def flat_top_k_at(self, stage: int) -> int:
        """Experts the flat router runs per image (default: as many as PCGRM runs, K1·K2; "all": M)."""
        if self.flat_top_k == FLAT_ALL:
            return self.flat_experts_at(stage)
        return self.flat_top_k or self.k1_at(stage) * self.k2

    def active_experts_at(self, stage: int) -> int:
        """Expert widths one image runs at one stage: K1·K2 (pcgrm, and dense, which matches it), the flat
        router's top-k, 0 for ``moe="none"``."""
        if self.moe == "flat":
            return self.flat_top_k_at(stage)
        return 0 if self.moe == "none" else self.k1_at(stage) * self.k2

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples kept), safe for ``torch.save`` + ``weights_only=True`` loading."""
        return dataclasses.asdict(self)


def _fail(name: str, value: Any, why: str) -> None:
    raise ValueError(f"ModelConfig.{name}={value!r}: {why}")


def _positive_int(name: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        _fail(name, value, "must be a " + ("non-negative" if allow_zero else "positive") + " integer")


def _per_stage(c: ModelConfig, name: str) -> tuple[Any, ...]:
    """An int-or-per-stage field as a tuple of NUM_STAGES values (fails on a wrong type or length)."""
    value = getattr(c, name)
    values = (value,) * NUM_STAGES if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, tuple) or len(values) != NUM_STAGES:
        _fail(name, value, f"must be an integer or a tuple of {NUM_STAGES} integers")
    return values


def _validate(c: ModelConfig) -> None:
    _positive_int("dim", c.dim)
    if c.dim % 4:
        _fail("dim", c.dim, "must be a multiple of 4 (the WTB reduces channels by 4 before its DWT)")
    for name in _STAGE_TUPLES:
        value = getattr(c, name)
        if not isinstance(value, tuple) or len(value) != NUM_STAGES:
            _fail(name, value, f"must be a tuple of {NUM_STAGES} integers, one per encoder stage")
        for v in value:
            _positive_int(name, v, allow_zero=(name == "wtb_blocks"))
    for name in _LEVEL_TUPLES:
        value = getattr(c, name)
        if not isinstance(value, tuple) or len(value) != 3:
            _fail(name, value, "must be a tuple of 3 integers (decoder levels 1, 2, 3)")
        for v in value:
            _positive_int(name, v, allow_zero=(name == "decoder_blocks"))
    _positive_int("refinement_blocks", c.refinement_blocks, allow_zero=True)
    for s, (ch, h) in enumerate(zip(c.stage_dims, c.heads)):
        if ch % h:
            _fail("heads", c.heads, f"stage {s} has {ch} channels, not divisible by {h} heads")
    for lvl, (ch, h) in enumerate(zip((2 * c.dim, 2 * c.dim, 4 * c.dim), c.decoder_heads), start=1):
        if ch % h:
            _fail("decoder_heads", c.decoder_heads, f"decoder level {lvl} has {ch} channels, not divisible by {h}")
    for name in ("ffn_expansion", "expert_expansion", "temperature", "sigma_init"):
        value = getattr(c, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or math.isinf(value):
            _fail(name, value, "must be a positive finite number")
    for name in ("orth_weight", "balance_weight"):
        value = getattr(c, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or math.isinf(value):
            _fail(name, value, "must be a non-negative finite number")
    if c.moe not in MOE_KINDS:
        _fail("moe", c.moe, f"must be one of {MOE_KINDS}")
    if c.proto_init not in PROTO_INITS:
        _fail("proto_init", c.proto_init, f"must be one of {PROTO_INITS}")
    _positive_int("k2", c.k2)
    for s, e in enumerate(_per_stage(c, "experts_per_cluster")):
        _positive_int("experts_per_cluster", e)
        if c.k2 > e:
            _fail("k2", c.k2, f"stage {s}: cannot exceed its experts_per_cluster={e}")
    if c.moe == "pcgrm" and c.k2 == 1:
        warnings.warn("k2=1: the renormalised expert weight of Eq. (10) is identically 1, so the expert gates "
                      "and the cross-attention of Eq. (8) receive no gradient and never learn (book chapter 05)",
                      UserWarning, stacklevel=3)
    for s, (k, n) in enumerate(zip(_per_stage(c, "k1"), c.prototypes)):
        _positive_int("k1", k)
        if k > n:
            _fail("k1", c.k1, f"stage {s} activates {k} clusters but has only {n} prototypes")
    if c.flat_experts is not None:
        _positive_int("flat_experts", c.flat_experts)
    if c.flat_top_k not in (None, FLAT_ALL):
        _positive_int("flat_top_k", c.flat_top_k)
    for s in range(NUM_STAGES):
        if c.flat_top_k_at(s) > c.flat_experts_at(s):
            _fail("flat_top_k", c.flat_top_k, f"stage {s}: more than the {c.flat_experts_at(s)} flat experts")
    _positive_int("prompt_dim", c.prompt_dim)
    _positive_int("prompt_heads", c.prompt_heads)
    if c.prompt_dim % c.prompt_heads:
        _fail("prompt_heads", c.prompt_heads, f"must divide prompt_dim={c.prompt_dim}")
    _positive_int("prompt_components", c.prompt_components)
    _positive_int("fsb_groups", c.fsb_groups)
    for ch in (2 * c.dim, 4 * c.dim, 8 * c.dim):
        if ch % c.fsb_groups:
            _fail("fsb_groups", c.fsb_groups, f"must divide the DAFMM channel counts {2 * c.dim}/{4 * c.dim}/{8 * c.dim}")
    _positive_int("fsb_kernel", c.fsb_kernel)
    if c.fsb_kernel % 2 == 0:
        _fail("fsb_kernel", c.fsb_kernel, "must be odd")
    for name in ("bias", "prompt_noise", "dafmm"):
        if not isinstance(getattr(c, name), bool):
            _fail(name, getattr(c, name), "must be True or False")


#: Named model sizes. base/small/tiny are Table 7; nano is a CPU teaching size (fwd+bwd, batch 4 @ 64², ≤ 0.5 s).
PRESETS: dict[str, ModelConfig] = {
    "base": ModelConfig(dim=48),
    "small": ModelConfig(dim=32),
    "tiny": ModelConfig(dim=16),
    "nano": ModelConfig(
        dim=8, heads=(1, 1, 2, 2), experts_per_cluster=2, decoder_blocks=(1, 1, 1), decoder_heads=(1, 1, 2),
        refinement_blocks=0, prompt_dim=32, prompt_heads=4, prompt_sizes=(32, 16, 8),
    ),
}

#: Paper ablations as config deltas (Tables 4, 5, 9 and flat vs two-stage routing), each valid as overrides on
#: any preset. "Literal" rows change what the paper's switch changes; "controlled" rows hold the capacity fixed
#: so that only the studied factor varies (issue 10 §2). Parameter counts per preset: ``clusir info --set``.
ABLATIONS: dict[str, dict[str, Any]] = {
    # Table 4 — components. (a) literal: no MoE at all (removes the experts' capacity with the routing).
    "t4a_wtb_only": dict(moe="none", dafmm=False),
    # (a) controlled: one dense GDFN of the active width per image of (b), K1·K2 experts' (dense.py).
    "t4a_dense_matched": dict(moe="dense", dafmm=False),
    "t4b_plus_pcgrm": dict(dafmm=False),
    "t4c_full": dict(),
    # Table 5 — prototypes per stage, literal: experts belong to clusters, so N·E experts per stage change too.
    "t5_2346": dict(prototypes=(2, 3, 4, 6)),
    "t5_6432": dict(prototypes=(6, 4, 3, 2)),
    # Table 5 controlled: N_s · E_s = 12 experts per stage and K1·K2 = 4 active, whatever N_s. These set E
    # explicitly, so they are the same on every preset (12 ≠ the preset's 3·E: nano 6, tiny..base 21);
    # compare them with t5c_3333, not with t4c_full. They need K1 ≤ 2 and K2 ≤ 2 (the defaults).
    "t5c_3333": dict(prototypes=(3, 3, 3, 3), experts_per_cluster=4),
    "t5c_2346": dict(prototypes=(2, 3, 4, 6), experts_per_cluster=(6, 4, 3, 2)),
    "t5c_6432": dict(prototypes=(6, 4, 3, 2), experts_per_cluster=(2, 3, 4, 6)),
    # Table 9 — prototype initialisation: random with the orthogonality loss kept (weight as the preset's)
    # and with it off (orth_weight=0 only zeroes its weight in aux_loss; aux["orth"] is still reported).
    "t9_random_orth": dict(proto_init="random"),
    "t9_random_no_orth": dict(proto_init="random", orth_weight=0.0),
    # Routing — flat router over M = N·E experts: Eq. (2) as written (dense softmax, every expert runs) and
    # the sparse top-k (K1·K2 experts, PCGRM's active width). Compare with t4c_full.
    "flat_dense": dict(moe="flat", flat_top_k=FLAT_ALL),
    "flat_topk": dict(moe="flat"),
}


def model_config(name: str | ModelConfig = "base", **overrides: Any) -> ModelConfig:
    """A preset (or a given config) with fields replaced; raises ``ValueError`` naming a bad field or value.

    >>> model_config("tiny", moe="flat").moe
    'flat'
    """
    if isinstance(name, ModelConfig):
        base = name
    else:
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
        base = PRESETS[name]
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown ModelConfig field(s) {unknown}; known fields: {sorted(known)}")
    return dataclasses.replace(base, **overrides)
