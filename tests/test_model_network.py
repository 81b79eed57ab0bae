"""The assembled network (clusir.model.network) and the public API."""

import pytest
import torch

from clusir.model import (PRESETS, ClusIR, ClusIROutput, StageRouting, build_model, count_macs,
                          count_parameters)
from clusir.model.info import TABLE7


def _loss(out, x):
    return (out.image - x).abs().mean() + out.aux_loss


@pytest.mark.parametrize("preset, shape", [
    ("nano", (1, 3, 67, 93)),
    ("tiny", (1, 3, 67, 93)),
    ("small", (1, 3, 35, 47)),
    ("base", (1, 3, 35, 47)),
])
def test_every_preset_runs_forward_and_backward_on_odd_sizes(preset, shape):
    torch.manual_seed(0)
    model = build_model(preset)
    x = torch.rand(*shape)
    out = model(x)
    assert isinstance(out, ClusIROutput) and out.image.shape == shape and torch.isfinite(out.image).all()
    _loss(out, x).backward()
    assert model.embed.weight.grad is not None and torch.isfinite(model.embed.weight.grad).all()


def test_output_structure_and_routing_shapes():
    model = build_model("nano").eval()
    cfg = model.config
    x = torch.rand(2, 3, 40, 56)                                                 # padded to 48 × 64
    out = model(x, return_affinity=True)
    assert out.aux_loss.dim() == 0 and set(out.aux) == {"orth", "balance"}
    torch.testing.assert_close(out.aux_loss, cfg.orth_weight * out.aux["orth"] + cfg.balance_weight * out.aux["balance"])
    assert len(out.routing) == 4 and all(isinstance(r, StageRouting) for r in out.routing)
    for s, r in enumerate(out.routing):
        c, n, k1, k2 = cfg.stage_dims[s], cfg.prototypes[s], cfg.k1_at(s), cfg.k2
        assert r.posterior.shape == (2, n) and r.clusters.shape == (2, k1) and r.cluster_weights.shape == (2, k1)
        assert r.experts.shape == (2, k1, k2) and r.expert_weights.shape == (2, k1, k2)
        assert r.routing_token.shape == (2, c) and r.degradation_prompt.shape == (2, c)
        assert r.affinity.shape == (2, n, 48 // 2**s, 64 // 2**s)
        assert r.clusters.dtype == torch.long and r.experts.dtype == torch.long
        torch.testing.assert_close(r.posterior.sum(-1), torch.ones(2))
        torch.testing.assert_close(r.cluster_weights.sum(-1), torch.ones(2))
        torch.testing.assert_close(r.expert_weights.sum(-1), torch.ones(2, k1))
    assert model(x).routing[0].affinity is None


def test_moe_none_has_no_routing_and_a_zero_aux_loss():
    out = build_model("nano", moe="none", dafmm=False)(torch.rand(1, 3, 32, 32))
    assert out.routing == [] and out.aux == {}
    assert out.aux_loss.dim() == 0 and out.aux_loss.item() == 0.0


def test_flat_router_fills_routing():
    model = build_model("nano", moe="flat")
    out = model(torch.rand(2, 3, 32, 32))
    assert set(out.aux) == {"balance"} and len(out.routing) == 4
    r = out.routing[0]
    assert r.posterior.shape == (2, 3 * model.config.experts_per_cluster) and r.experts.shape == (2, 1, 4)


def test_dafmm_off_removes_its_parameters():
    full, off = build_model("nano"), build_model("nano", dafmm=False)
    assert count_parameters(off) < count_parameters(full)
    assert not any(n.startswith(("dafmm.", "pgb.", "prompt_fusion.")) for n, _ in off.named_parameters())


def test_eval_is_deterministic_and_state_dict_round_trips():
    torch.manual_seed(0)
    a = build_model("nano").eval()
    torch.manual_seed(1)
    b = build_model("nano").eval()
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        ya, ya2, yb = a(x).image, a(x).image, b(x).image
        assert torch.equal(ya, ya2) and not torch.allclose(ya, yb)
        b.load_state_dict(a.state_dict())
        torch.testing.assert_close(b(x).image, ya, atol=0, rtol=0)


def test_one_adam_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = build_model("nano")
    x = torch.rand(2, 3, 32, 32)
    target = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def loss_at(seed):
        torch.manual_seed(seed)                                                  # same ε draws both times
        out = model(x)
        return (out.image - target).abs().mean() + out.aux_loss

    before = loss_at(3)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss_at(3)
    assert after < before


def test_gradients_reach_every_parameter_once_dafmm_is_switched_on():
    """timm-style backward test: every parameter gets a finite, non-zero gradient, except experts that no
    image chose (sparse MoE) — and those get none at all."""
    torch.manual_seed(0)
    model = build_model("nano").train()
    with torch.no_grad():
        for d in model.dafmm:
            d.gamma.fill_(0.1)                                                   # leave identity-at-init
    x = torch.rand(2, 3, 32, 32)
    out = model(x)
    _loss(out, x).backward()
    chosen = [set(r.experts.flatten().tolist()) for r in out.routing]
    for name, p in model.named_parameters():
        if ".experts." in name:
            s, e = int(name.split(".")[1]), int(name.split(".")[3])
            assert (p.grad is not None) == (e in chosen[s]), name
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_bf16_autocast_forward():
    model = build_model("nano").eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.rand(1, 3, 32, 32))
    assert torch.isfinite(out.image.float()).all()
    assert out.routing[0].posterior.dtype == torch.float32                      # routing in float32


@pytest.mark.parametrize("preset", ["tiny", "small", "base"])
def test_size_matches_table7(preset):
    """Bar of issue 3: params within 3 %, MACs at 128² within 15 % of the paper's Table 7."""
    model = build_model(preset)
    params_m, gflops = TABLE7[preset]
    assert abs(count_parameters(model) / 1e6 / params_m - 1) < 0.03
    assert abs(count_macs(model, 128) / 1e9 / gflops - 1) < 0.15


def test_build_model_accepts_configs_and_rejects_bad_overrides():
    assert isinstance(build_model(PRESETS["nano"]), ClusIR)
    with pytest.raises(ValueError, match="k2"):
        build_model("nano", k2=5)
