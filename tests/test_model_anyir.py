"""AnyIR, the comparison model (clusir.model.anyir): config, Algorithm 1 (GatedDA), Algorithm 2 (fusion),
the DAB's channel split, the network's shapes and gradients, registration, a release round trip and size."""

import dataclasses
import json

import pytest
import torch

from clusir.model import build_model, config_from_dict, count_parameters
from clusir.model.anyir import ANYIR_PRESETS, AnyIR, AnyIRConfig, anyir_config
from clusir.model.anyir.dab import DAB, DABMixer, ProjectionFreeMDTA
from clusir.model.anyir.fusion import (SpatialFrequencyFusion, fft_sum, frequency_fusion, skip_split,
                                       spatial_fusion)
from clusir.model.anyir.gated_da import GatedDA, channel_statistics, degradation_statistic
from clusir.model.common import MDTA


# -- configuration ---------------------------------------------------------------------------------------
def test_presets_and_validation():
    assert set(ANYIR_PRESETS) == {"anyir", "anyir_nano"}
    released = ANYIR_PRESETS["anyir"]
    assert (released.dim, released.blocks, released.refinement_blocks) == (28, (3, 5, 5, 7), 4)
    assert released.decoder_blocks == (3, 5, 5)            # levels 1, 2, 3: the released (5, 5, 3) mirrored
    with pytest.raises(ValueError, match="dim"):
        AnyIRConfig(dim=7)
    with pytest.raises(ValueError, match="heads"):
        AnyIRConfig(dim=28, heads=(1, 2, 4, 5))           # 5 does not divide 112 attention channels
    with pytest.raises(ValueError, match="freq_mode"):
        AnyIRConfig(freq_mode="dct")
    with pytest.raises(ValueError, match="unknown AnyIRConfig field"):
        anyir_config("anyir", moe="flat")
    with pytest.raises(ValueError, match="unknown AnyIR preset"):
        anyir_config("anyir_huge")
    assert AnyIRConfig(blocks=[1, 1, 1, 1]).blocks == (1, 1, 1, 1)   # lists from YAML become tuples


def test_build_model_dispatches_and_config_round_trips_through_a_dict():
    model = build_model("anyir_nano", refinement_blocks=0)
    assert isinstance(model, AnyIR) and model.config.refinement_blocks == 0
    stored = json.loads(json.dumps(dataclasses.asdict(model.config)))  # as a checkpoint/JSON holds it
    assert config_from_dict(stored) == model.config
    assert type(build_model("nano")).__name__ == "ClusIR"


# -- Algorithm 1: GatedDA ----------------------------------------------------------------------------------
def test_channel_statistics_on_a_hand_made_input():
    x = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    x[:, 0] = 2.0                                                  # constant: μ = 2, σ = √ε
    x[:, 1, ::2, :] = 3.0                                          # half the rows ±3: μ = 0, σ = 3
    x[:, 1, 1::2, :] = -3.0
    x[1, 2] = torch.arange(16, dtype=torch.float64).reshape(4, 4)  # 0..15: μ = 7.5, var = (16² − 1) / 12
    mu, sigma = channel_statistics(x, eps=1e-6)
    assert mu.shape == sigma.shape == (2, 3, 1, 1)
    torch.testing.assert_close(mu[:, :, 0, 0], torch.tensor([[2.0, 0.0, 0.0], [2.0, 0.0, 7.5]],
                                                            dtype=torch.float64))
    want_sigma = torch.tensor([[1e-3, (9 + 1e-6) ** 0.5, 1e-3], [1e-3, (9 + 1e-6) ** 0.5, (255 / 12 + 1e-6) ** 0.5]],
                              dtype=torch.float64)
    torch.testing.assert_close(sigma[:, :, 0, 0], want_sigma)
    torch.testing.assert_close(degradation_statistic(x), torch.sigmoid(mu + sigma))


def test_gated_da_matches_algorithm_1_step_by_step():
    torch.manual_seed(0)
    gda = GatedDA(dim=6, expansion=8 / 3).double().eval()          # m = 16: γ 6 | β 6 | α 4
    assert gda.split == (6, 6, 4)
    with torch.no_grad():
        gda.norm.running_mean.normal_()
        gda.norm.running_var.uniform_(0.5, 2.0)
        gda.tau.normal_()
    x = torch.randn(2, 6, 9, 7, dtype=torch.float64)
    f_hat = (x - gda.norm.running_mean[:, None, None]) / torch.sqrt(gda.norm.running_var[:, None, None] + 1e-5)
    f_hat = f_hat * gda.norm.weight[:, None, None] + gda.norm.bias[:, None, None]
    mu = f_hat.mean(dim=(2, 3), keepdim=True)
    sigma = torch.sqrt(f_hat.var(dim=(2, 3), unbiased=False, keepdim=True) + 1e-6)
    tau_adj = gda.tau * torch.sigmoid(mu + sigma)                  # (B, 6, 1, 1)
    expanded = gda.expand(f_hat)
    gamma, beta, alpha = expanded[:, :6], expanded[:, 6:12], expanded[:, 12:]
    alpha = gda.depthwise(alpha) * (1 + tau_adj[:, :4])            # only the first a = 4 entries of τ
    want = gda.project(torch.sigmoid(gamma) * gda.merge(torch.cat([beta, alpha], 1)) + x)
    torch.testing.assert_close(gda(x), want)


def test_gated_da_tiles_tau_when_alpha_is_wider_than_the_input():
    gda = GatedDA(dim=3, expansion=4.0)                            # m = 12: a = 6 > h = 3
    with torch.no_grad():
        gda.tau.copy_(torch.tensor([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1))
    delta = torch.full((1, 3, 1, 1), 0.5)
    assert gda.modulation(delta).flatten().tolist() == [1.5, 2.0, 2.5, 1.5, 2.0, 2.5]


# -- Algorithm 2: fusion and the interleaved split ------------------------------------------------------------
@pytest.mark.parametrize("size", [(8, 8), (7, 5), (16, 9)])
def test_frequency_fusion_is_the_spatial_sum_in_float64(size):
    g = torch.Generator().manual_seed(1)
    a, b = (torch.randn(2, 4, *size, generator=g, dtype=torch.float64) for _ in range(2))
    torch.testing.assert_close(fft_sum(a, b), a + b, rtol=0, atol=1e-12)
    torch.testing.assert_close(frequency_fusion(a, b, "fft"), frequency_fusion(a, b, "sum"), rtol=0, atol=1e-12)


def test_skip_split_and_the_two_layouts():
    x = torch.arange(8.0).reshape(1, 8, 1, 1).expand(1, 8, 2, 2)   # channel c holds the value c
    even, odd = skip_split(x)
    assert even[0, :, 0, 0].tolist() == [0, 2, 4, 6] and odd[0, :, 0, 0].tolist() == [1, 3, 5, 7]
    freq = frequency_fusion(even, odd, "sum")[0, :, 0, 0]          # interleaved: sum i at 2i and 2i + 1
    assert freq.tolist() == [1, 1, 5, 5, 9, 9, 13, 13]
    spat = spatial_fusion(even, odd)[0, :, 0, 0]                   # blocked: attention-derived first
    torch.testing.assert_close(spat[:4], even[0, :, 0, 0] + torch.sigmoid(odd[0, :, 0, 0]))
    torch.testing.assert_close(spat[4:], odd[0, :, 0, 0] + torch.sigmoid(even[0, :, 0, 0]))


def test_fusion_weight_lambda_mixes_the_two_halves():
    fusion = SpatialFrequencyFusion("sum")
    a, b = torch.randn(1, 2, 3, 3), torch.randn(1, 2, 3, 3)
    with torch.no_grad():
        fusion.lam.fill_(1.0)
    torch.testing.assert_close(fusion(a, b), spatial_fusion(a, b))
    with torch.no_grad():
        fusion.lam.fill_(0.0)
    torch.testing.assert_close(fusion(a, b), frequency_fusion(a, b, "sum"))


def test_network_fft_and_sum_modes_agree_in_float64():
    torch.manual_seed(0)
    fft = build_model("anyir_nano").double().eval()
    summed = build_model("anyir_nano", freq_mode="sum").double().eval()
    summed.load_state_dict(fft.state_dict())
    x = torch.rand(1, 3, 24, 40, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fft(x).image, summed(x).image, rtol=0, atol=1e-10)


# -- blocks and network ------------------------------------------------------------------------------------
def test_the_attention_half_is_the_shared_mdta_without_projection():
    mixer = DABMixer(dim=12, heads=2)
    assert isinstance(mixer.attention, MDTA) and isinstance(mixer.attention, ProjectionFreeMDTA)
    assert not any("attention.project_out" in n for n, _ in mixer.named_parameters())
    x = torch.randn(2, 12, 8, 8)
    assert DAB(dim=12, heads=2)(x).shape == x.shape


def test_shapes_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = build_model("anyir_nano")
    x = torch.rand(2, 3, 30, 21)                                   # not a multiple of 8: padded, cropped
    out = model(x)
    assert out.image.shape == x.shape and float(out.aux_loss) == 0.0 and out.aux == {}
    out.image.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []


def test_released_size_stage_shapes_at_64():
    model = build_model("anyir").eval()
    widths = {}
    for name in ("encoder.0", "encoder.1", "encoder.2", "latent", "decoder.2", "decoder.1", "decoder.0",
                 "refinement"):
        model.get_submodule(name).register_forward_hook(
            lambda m, i, o, name=name: widths.__setitem__(name, tuple(o.shape[1:])))
    with torch.no_grad():
        assert model(torch.rand(1, 3, 64, 64)).image.shape == (1, 3, 64, 64)
    assert widths == {"encoder.0": (28, 64, 64), "encoder.1": (56, 32, 32), "encoder.2": (112, 16, 16),
                      "latent": (224, 8, 8), "decoder.2": (112, 16, 16), "decoder.1": (56, 32, 32),
                      "decoder.0": (56, 64, 64), "refinement": (56, 64, 64)}
    assert sum(len(model.get_submodule(n)) for n in widths) == 37   # 3+5+5+7 + 5+5+3 + 4 DABs


def test_release_round_trip_through_load_model(tmp_path):
    from clusir.train.checkpoint import export_release, load_model
    from clusir.train.config import TrainConfig, config_to_dict

    torch.manual_seed(0)
    model = build_model("anyir_nano")
    model.train()
    model(torch.rand(4, 3, 16, 16))                                # move the BatchNorm running statistics
    model.eval()
    ckpt = {"model": model.state_dict(), "config": config_to_dict(TrainConfig(model="anyir_nano")),
            "model_config": dataclasses.asdict(model.config), "step": 1}
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        want = model(x).image
    exact, _ = load_model(export_release(ckpt, tmp_path / "full.pt", half=False))
    half, meta = load_model(export_release(ckpt, tmp_path / "half.pt"))
    assert isinstance(exact, AnyIR) and exact.config == model.config and not exact.training
    with torch.no_grad():
        torch.testing.assert_close(exact(x).image, want, rtol=0, atol=0)
        torch.testing.assert_close(half(x).image, want, rtol=0, atol=2e-2)   # float16 weights
    assert meta["model_config"]["arch"] == "anyir"


def test_info_reaches_the_released_size_bar(capsys):
    from clusir.cli import main

    assert main(["info", "--model", "anyir", "--size", "128", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert abs(info["params"] / 5.74e6 - 1) < 0.03, info["params"]
    assert abs(info["macs"] / 8.58e9 - 1) < 0.10, info["macs"]
    assert info["active_params"] == info["params"] == count_parameters(build_model("anyir"))
