"""The named ablations (clusir.model.config.ABLATIONS): capacity matching, controlled Table 5, Eq. (2), Table 9."""

import pytest
import torch

from clusir.model import ABLATIONS, build_model, count_parameters, model_config
from clusir.model.common import GDFN
from clusir.model.dense import DenseBlock
from clusir.model.flat_moe import DenseFlatRouter, FlatRouter
from clusir.model.info import count_active_parameters
from clusir.model.pcgrm import PCGRMMoE


def _active_expert_params(model, s):
    """Parameters of the experts one image runs at stage s (the whole block for a dense stand-in)."""
    block = model.moe[s]
    if isinstance(block, DenseBlock):
        return count_parameters(block.ffn)
    return model.config.active_experts_at(s) * count_parameters(block.experts[0])


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_every_ablation_runs_forward_and_backward_on_nano(name):
    torch.manual_seed(0)
    model = build_model("nano", **ABLATIONS[name]).train()
    x = torch.rand(2, 3, 32, 32)
    out = model(x)
    assert out.image.shape == x.shape and torch.isfinite(out.image).all()
    assert len(out.routing) == (4 if model.config.moe in ("pcgrm", "flat") else 0)
    ((out.image - x).abs().mean() + out.aux_loss).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert model.embed.weight.grad is not None and all(torch.isfinite(g).all() for g in grads)


def test_dense_stand_in_has_the_active_width_and_expert_parameters_of_pcgrm():
    dense = build_model("nano", **ABLATIONS["t4a_dense_matched"])
    pcgrm = build_model("nano", **ABLATIONS["t4b_plus_pcgrm"])
    cfg = pcgrm.config
    for s, (d, p) in enumerate(zip(dense.moe, pcgrm.moe)):
        assert isinstance(d, DenseBlock) and isinstance(p, PCGRMMoE)
        k = cfg.k1_at(s) * cfg.k2
        assert d.ffn.hidden == k * p.experts[0].hidden == k * int(cfg.stage_dims[s] * cfg.expert_expansion)
        assert count_parameters(d.ffn) == k * count_parameters(p.experts[0])        # bias=False: exact
    # the networks differ only in the MoE blocks; the dense one lacks just PCGRM's router (< 15 % per block)
    assert count_parameters(dense) - sum(map(count_parameters, dense.moe)) == \
        count_parameters(pcgrm) - sum(map(count_parameters, pcgrm.moe))
    assert count_active_parameters(dense) == count_parameters(dense)                 # every image uses it all
    gap = count_active_parameters(pcgrm) - count_active_parameters(dense)
    assert 0 < gap < 0.15 * sum(_active_expert_params(pcgrm, s) for s in range(4))


def test_dense_block_with_bias_is_still_matched_up_to_the_output_bias():
    d, e = DenseBlock(dim=16, active_experts=4, expert_expansion=2.7, bias=True), GDFN(16, 2.7, bias=True)
    assert count_parameters(d.ffn) == 4 * count_parameters(e) - 3 * 16                # one project_out bias


def test_controlled_table5_variants_hold_experts_and_active_parameters_fixed():
    names = ("t5c_3333", "t5c_2346", "t5c_6432")
    models = {n: build_model("nano", **ABLATIONS[n]) for n in names}
    assert len({m.config.prototypes for m in models.values()}) == 3                  # N_s does vary
    for s in range(4):
        assert {len(m.moe[s].experts) for m in models.values()} == {12}             # N_s · E_s = 12
        assert {m.config.active_experts_at(s) for m in models.values()} == {4}      # K1 · K2
        assert len({_active_expert_params(m, s) for m in models.values()}) == 1
    totals = [count_parameters(m) for m in models.values()]
    actives = [count_active_parameters(m) for m in models.values()]
    # only the prototypes and σ (2 · N_s · C_s per stage) depend on N_s: < 0.1 % of the network
    assert max(totals) - min(totals) < 1e-3 * min(totals)
    assert max(actives) - min(actives) < 1e-3 * min(actives)
    # the literal Table 5 rows change the expert count with N_s
    lit = build_model("nano", **ABLATIONS["t5_2346"])
    assert [len(b.experts) for b in lit.moe] == [n * 2 for n in (2, 3, 4, 6)]


@pytest.mark.parametrize("overrides, field", [
    (dict(experts_per_cluster=(2, 2, 2)), "experts_per_cluster"),                  # wrong length
    (dict(experts_per_cluster=(2, 2, 0, 2)), "experts_per_cluster"),
    (dict(experts_per_cluster=(2, 2, 1, 2)), "k2"),                                 # K2 = 2 > E_2 = 1
    (dict(prototypes=(1, 3, 3, 3)), "k1"),                                          # K1 = 2 > N_0 = 1
    (dict(flat_top_k="most"), "flat_top_k"),
])
def test_per_stage_expert_counts_are_validated(overrides, field):
    with pytest.raises(ValueError, match=rf"ModelConfig\.{field}="):
        model_config("nano", **overrides)


def test_experts_per_cluster_accepts_a_list_from_yaml():
    cfg = model_config("nano", experts_per_cluster=[6, 4, 3, 2], prototypes=[2, 3, 4, 6])
    assert cfg.experts_per_cluster == (6, 4, 3, 2) and [cfg.flat_experts_at(s) for s in range(4)] == [12] * 4


def test_flat_dense_runs_every_expert_with_the_full_softmax_as_weights():
    torch.manual_seed(0)
    model = build_model("nano", **ABLATIONS["flat_dense"]).train()
    cfg = model.config
    x = torch.rand(2, 3, 32, 32)
    out = model(x)
    ((out.image - x).abs().mean() + out.aux_loss).backward()
    for s, (block, r) in enumerate(zip(model.moe, out.routing)):
        m = cfg.prototypes[s] * cfg.experts_per_cluster_at(s)
        assert isinstance(block.router, DenseFlatRouter) and len(block.experts) == m
        assert torch.equal(r.experts[:, 0], torch.arange(m).expand(2, m))            # every expert, every image
        assert torch.equal(r.expert_weights[:, 0], r.posterior)                      # weights = Eq. (1) softmax
        assert all(p.grad is not None for p in block.experts.parameters())
    assert count_active_parameters(model) == count_parameters(model)


def test_flat_topk_runs_k1_k2_experts_with_renormalised_weights():
    model = build_model("nano", **ABLATIONS["flat_topk"])
    cfg = model.config
    out = model(torch.rand(2, 3, 32, 32))
    for s, (block, r) in enumerate(zip(model.moe, out.routing)):
        k = cfg.k1_at(s) * cfg.k2
        assert type(block.router) is FlatRouter and r.experts.shape == (2, 1, k)
        torch.testing.assert_close(r.expert_weights.sum(-1), torch.ones(2, 1))
        top = r.posterior.topk(k, dim=-1).values
        torch.testing.assert_close(r.expert_weights[:, 0], top / top.sum(-1, keepdim=True))
    unused = sum((len(b.experts) - cfg.k1_at(s) * cfg.k2) * count_parameters(b.experts[0])
                 for s, b in enumerate(model.moe))
    assert count_active_parameters(model) == count_parameters(model) - unused


def test_dense_flat_router_equals_eq2_in_float64():
    torch.manual_seed(0)
    router = DenseFlatRouter(dim=8, num_experts=5).double()
    z = torch.randn(3, 8, dtype=torch.float64)
    p, index, weight = router(z)
    torch.testing.assert_close(p, torch.softmax(z @ router.w.weight.T + router.w.bias, -1), rtol=0, atol=1e-12)
    assert torch.equal(weight, p) and torch.equal(index, torch.arange(5).expand(3, 5))


def test_table9_no_orth_only_removes_the_orthogonality_loss():
    cfgs = {n: model_config("nano", **ABLATIONS[n]) for n in ("t9_random_orth", "t9_random_no_orth")}
    a, b = cfgs.values()
    assert {k for k, v in a.to_dict().items() if v != b.to_dict()[k]} == {"orth_weight"}
    assert a.orth_weight > 0 and b.orth_weight == 0
    x = torch.rand(2, 3, 32, 32)
    outs, grads = [], []
    for cfg in cfgs.values():
        torch.manual_seed(0)                                                         # same init, same ε draws
        model = build_model(cfg).train()
        torch.manual_seed(1)
        out = model(x)
        out.aux_loss.backward()
        outs.append(out)
        grads.append(model.moe[0].posterior.prototypes.grad)
    torch.testing.assert_close(outs[0].image, outs[1].image, rtol=0, atol=0)       # the network is unchanged
    torch.testing.assert_close(outs[0].aux["orth"], outs[1].aux["orth"])            # still reported
    assert outs[0].aux_loss > 0 and outs[1].aux_loss.item() == 0.0                    # balance_weight is 0 too
    assert grads[0].abs().sum() > 0 and (grads[1] is None or grads[1].abs().sum() == 0)
