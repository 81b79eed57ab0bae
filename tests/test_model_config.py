"""ModelConfig, presets and validation (clusir.model.config)."""

import dataclasses

import pytest

from clusir.model import ABLATIONS, PRESETS, ModelConfig, model_config


def test_presets_have_the_table7_widths():
    assert {k: PRESETS[k].dim for k in ("base", "small", "tiny")} == {"base": 48, "small": 32, "tiny": 16}
    assert PRESETS["nano"].dim < PRESETS["tiny"].dim
    assert PRESETS["base"].prototypes == (3, 3, 3, 3) and PRESETS["base"].k1 == 2   # paper §4.1


def test_overrides_and_round_trip_through_a_plain_dict():
    cfg = model_config("tiny", moe="flat", prototypes=[2, 3, 4, 6])
    assert cfg.moe == "flat" and cfg.prototypes == (2, 3, 4, 6)              # lists become tuples
    assert ModelConfig(**cfg.to_dict()) == cfg
    assert model_config(cfg, dafmm=False).dafmm is False                    # a config can be the base too


def test_every_ablation_is_a_valid_config():
    for name, delta in ABLATIONS.items():
        assert isinstance(model_config("nano", **delta), ModelConfig), name


@pytest.mark.parametrize("overrides, field", [
    (dict(moe="cluster"), "moe"),
    (dict(proto_init="xavier"), "proto_init"),
    (dict(k1=4), "k1"),                                  # more active clusters than prototypes
    (dict(prototypes=(3, 3, 3)), "prototypes"),          # wrong length
    (dict(k2=8), "k2"),                                  # more than experts_per_cluster
    (dict(dim=30), "dim"),                               # not a multiple of 4
    (dict(heads=(1, 2, 4, 7)), "heads"),                 # does not divide 8C
    (dict(temperature=0.0), "temperature"),
    (dict(sigma_init=-1.0), "sigma_init"),
    (dict(orth_weight=-0.1), "orth_weight"),
    (dict(fsb_kernel=4), "fsb_kernel"),
    (dict(fsb_groups=7), "fsb_groups"),
    (dict(prompt_heads=3), "prompt_heads"),
    (dict(dafmm="yes"), "dafmm"),
    (dict(flat_top_k=50), "flat_top_k"),
])
def test_bad_values_raise_a_value_error_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=rf"ModelConfig\.{field}="):
        model_config("base", **overrides)


def test_unknown_preset_and_unknown_field():
    with pytest.raises(ValueError, match="unknown model preset 'huge'"):
        model_config("huge")
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        model_config("base", num_experts=3)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["base"].dim = 8
