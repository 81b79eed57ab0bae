"""PCGRM, Eqs. (3)–(10) (clusir.model.pcgrm) — one property per equation."""

import pytest
import torch

from clusir.model.common import GDFN
from clusir.model.pcgrm import ClusterGate, ClusterPosterior, GateAttention, GaussianPrompt, PCGRMMoE

F64 = torch.float64


@pytest.mark.parametrize("n, k", [(3, 1), (3, 2), (5, 3)])
def test_eq4_to_6_posterior(n, k):
    torch.manual_seed(0)
    post = ClusterPosterior(dim=8, num_prototypes=n, top_k=k).double()
    z = torch.randn(4, 8, dtype=F64)
    out = post(z)
    assert out.sim.abs().max() <= 1 + 1e-12                                               # Eq. (4) cosine
    torch.testing.assert_close(post(3.0 * z).sim, out.sim)                                # scale invariant
    torch.testing.assert_close(out.alpha_full.sum(-1), torch.ones(4, dtype=F64))          # Eq. (5)
    torch.testing.assert_close(out.alpha.sum(-1), torch.ones(4, dtype=F64))               # Eq. (6)
    torch.testing.assert_close(out.alpha, out.sim.gather(-1, out.index).softmax(-1))     # paper form of (6)
    assert (out.alpha_full.gather(-1, out.index[:, :1]) == out.alpha_full.max(-1, keepdim=True).values).all()


def test_eq6_with_k1_equal_n_is_eq5():
    post = ClusterPosterior(dim=6, num_prototypes=3, top_k=3).double()
    out = post(torch.randn(5, 6, dtype=F64))
    torch.testing.assert_close(out.alpha, out.alpha_full.gather(-1, out.index))


def test_prototype_inits():
    orth = ClusterPosterior(dim=16, num_prototypes=4, top_k=2, init="orthogonal").unit_prototypes()
    torch.testing.assert_close(orth @ orth.T, torch.eye(4), atol=1e-5, rtol=0)
    rand = ClusterPosterior(dim=16, num_prototypes=4, top_k=2, init="random").prototypes
    assert rand.abs().max() <= 1.0
    with pytest.raises(ValueError):
        ClusterPosterior(dim=16, num_prototypes=2, top_k=3)


def test_eq7_prompt_deterministic_in_eval_and_unbiased_in_training():
    torch.manual_seed(0)
    gp = GaussianPrompt(dim=8, num_prototypes=3, sigma_init=0.5)
    unit = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    alpha = torch.tensor([[0.7, 0.3], [0.6, 0.4]])
    index = torch.tensor([[0, 2], [1, 0]])
    mean = (alpha[..., None] * unit[index] * gp.scale).sum(1)                            # Σ α_c μ_c
    gp.eval()
    t1, p1 = gp(alpha, index, unit)
    t2, p2 = gp(alpha, index, unit)
    torch.testing.assert_close(p1, p2, rtol=0, atol=0)
    torch.testing.assert_close(p1, mean)
    assert t1.shape == (2, 2, 8)
    gp.train()
    draws = torch.stack([gp(alpha, index, unit)[1] for _ in range(4000)])
    assert not torch.equal(draws[0], draws[1])                                            # ε is drawn
    torch.testing.assert_close(draws.mean(0), mean, atol=0.03, rtol=0)
    expected_std = (alpha[..., None] ** 2 * 0.25).sum(1).sqrt()                          # σ = 0.5
    torch.testing.assert_close(draws.std(0), expected_std.expand_as(mean), atol=0.03, rtol=0)


def test_eq8_attention_over_cluster_tokens():
    att = GateAttention(dim=8, heads=2)
    g, attn = att(torch.randn(3, 8), torch.randn(3, 2, 8))
    assert g.shape == (3, 8) and attn.shape == (3, 2, 1, 2)
    torch.testing.assert_close(attn.sum(-1), torch.ones(3, 2, 1))


def test_eq9_10_gate_topk_renormalised():
    torch.manual_seed(0)
    gate = ClusterGate(dim=8, num_clusters=3, num_experts=5, top_k=2)
    out = gate(torch.randn(4, 8), torch.tensor([[0, 1], [2, 0], [1, 2], [0, 2]]))
    torch.testing.assert_close(out.pi.sum(-1), torch.ones(4, 2))                          # Eq. (9)
    torch.testing.assert_close(out.weight.sum(-1), torch.ones(4, 2))                      # Eq. (10)
    torch.testing.assert_close(out.weight, out.logits.gather(-1, out.index).softmax(-1))
    torch.testing.assert_close(out.weight, out.pi.gather(-1, out.index) / out.pi.gather(-1, out.index).sum(-1, keepdim=True))


def test_k2_equal_1_gives_weight_1_and_no_gate_gradient():
    """Why K2 ≥ 2 (architecture.md §6.4): with K2 = 1 the renormalised weight is identically 1."""
    gate = ClusterGate(dim=8, num_clusters=3, num_experts=4, top_k=1)
    out = gate(torch.randn(2, 8), torch.tensor([[0, 1], [2, 1]]))
    assert torch.equal(out.weight, torch.ones_like(out.weight))
    out.weight.sum().backward()
    assert gate.weight.grad.abs().max() < 1e-6


def _moe(**kw):
    args = dict(dim=8, heads=2, prototypes=3, k1=2, experts_per_cluster=3, k2=2, sigma_init=0.2)
    args.update(kw)
    return PCGRMMoE(**args)


def test_eq3_mixture_weights_sum_to_one_and_are_sparse():
    torch.manual_seed(0)
    moe = _moe().eval()
    out = moe(torch.randn(4, 8, 8, 8))
    r = out.routing
    dense = torch.zeros(4, 9).scatter_add(1, r.experts.flatten(1), (r.cluster_weights[..., None] * r.expert_weights).flatten(1))
    torch.testing.assert_close(dense.sum(-1), torch.ones(4))                             # Σ_c α_c Σ_e p(e|c) = 1
    assert ((dense > 0).sum(-1) == 4).all()                                               # K1·K2 experts, 0 elsewhere
    assert ((r.experts // 3) == r.clusters[..., None]).all()                              # experts belong to their cluster
    assert r.posterior.shape == (4, 3) and r.routing_token.shape == (4, 8) and r.degradation_prompt.shape == (4, 8)


def test_eq3_identical_experts_give_one_expert():
    moe = _moe().eval()
    for e in moe.experts[1:]:
        e.load_state_dict(moe.experts[0].state_dict())
    x = torch.randn(3, 8, 6, 6)
    torch.testing.assert_close(moe(x).x, x + moe.experts[0](moe.norm(x)), atol=1e-5, rtol=1e-5)


def test_eq3_dense_routing_equals_a_naive_double_loop():
    torch.manual_seed(1)
    moe = _moe(k1=3, k2=3).double().eval()                                                # K1 = N, K2 = E
    x = torch.randn(2, 8, 4, 4, dtype=F64)
    out = moe(x)
    u = moe.norm(x)
    for b in range(2):
        z = moe.token(u[b:b + 1])
        post = moe.posterior(z)
        tokens, _ = moe.prompt(post.alpha, post.index, moe.posterior.unit_prototypes().double())
        pi = moe.gate(moe.gate_attn(z, tokens)[0], post.index).pi                         # (1, K1, E)
        y = x[b:b + 1].clone()
        for j, c in enumerate(post.index[0].tolist()):
            for e in range(3):
                y = y + post.alpha_full[0, c] * pi[0, j, e] * moe.experts[c * 3 + e](u[b:b + 1])
        torch.testing.assert_close(out.x[b:b + 1], y)


def test_gradients_reach_prototypes_sigma_gates_and_chosen_experts_only():
    torch.manual_seed(0)
    moe = _moe(prototypes=3, experts_per_cluster=4).train()
    x = torch.randn(2, 8, 8, 8)
    out = moe(x)
    out.x.square().mean().backward()
    for name in ("posterior.prototypes", "prompt.sigma_raw", "gate.weight", "gate.bias", "gate_attn.q.weight",
                 "token.0.weight"):
        grad = dict(moe.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    chosen = set(out.routing.experts.flatten().tolist())
    for e, expert in enumerate(moe.experts):
        g = expert.project_out.weight.grad
        assert (g is not None and g.abs().sum() > 0) == (e in chosen), e


def test_affinity_maps():
    moe = _moe().eval()
    r = moe(torch.randn(2, 8, 6, 10), return_affinity=True).routing
    assert r.affinity.shape == (2, 3, 6, 10) and r.affinity.abs().max() <= 1 + 1e-5
    assert moe(torch.randn(2, 8, 6, 10)).routing.affinity is None


def test_expert_is_a_gdfn():
    assert all(isinstance(e, GDFN) for e in _moe().experts)
