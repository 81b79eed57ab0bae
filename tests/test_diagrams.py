"""The diagrams' shapes are the shapes of a real forward pass (clusir.diagrams).

Each test runs its own forward pass of the same preset and size, records what it needs independently of
clusir.diagrams (its own hooks, or the block's own sub-modules called by hand), and compares with the shape
labels read back off the drawn figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from clusir import diagrams  # noqa: E402
from clusir.model import build_model  # noqa: E402
from clusir.model.wavelets import haar_dwt  # noqa: E402


def _drawn(fig):
    shapes = diagrams.drawn_shapes(fig)
    plt.close(fig)
    return {k: tuple(int(d) for d in v.split("×")) for k, v in shapes.items()}


def _model_and_input(size=64):
    torch.manual_seed(0)
    model = build_model("nano").eval()
    return model, torch.rand(1, 3, size, size)


def test_network_diagram_shapes_match_a_forward_pass():
    model, x = _model_and_input()
    seen = {}
    groups = {"stage": model.moe, "pgb": model.pgb, "dafmm": model.dafmm, "decoder": model.decoder}
    handles = [m.register_forward_hook(lambda mod, i, o, k=f"{g}{n + 1}": seen.__setitem__(k, o))
               for g, mods in groups.items() for n, m in enumerate(mods)]
    with torch.no_grad():
        out = model(x)
    for h in handles:
        h.remove()
    expected = {k: tuple((v.x if hasattr(v, "x") else v).shape) for k, v in seen.items()}
    expected.update(input=tuple(x.shape), output=tuple(out.image.shape))
    drawn = _drawn(diagrams.network_diagram("nano", 64))
    assert drawn == expected
    c = model.config.dim
    assert drawn["stage4"] == (1, 8 * c, 8, 8) and drawn["decoder1"] == (1, 2 * c, 64, 64)


def test_pcgrm_diagram_shapes_match_the_block_run_by_hand():
    model, x = _model_and_input()
    block = model.moe[0]
    with torch.no_grad():
        f = model.encoder[0](model.embed(x))
        u = block.norm(f)
        z = block.token(u)                                  # GAP inside the RoutingToken
        post = block.posterior(z)
        tokens, prompt = block.prompt(post.alpha, post.index, block.posterior.unit_prototypes())
        g, _ = block.gate_attn(z, tokens)
        gate = block.gate(g, post.index)
        y = block(f).x
    expected = {"x": f.shape, "z": z.shape, "sim": post.sim.shape, "alpha_full": post.alpha_full.shape,
                "alpha": post.alpha.shape, "tokens": tokens.shape, "g": g.shape, "pi": gate.pi.shape,
                "expert_weights": gate.weight.shape, "experts": gate.index.shape, "y": y.shape}
    drawn = _drawn(diagrams.pcgrm_diagram("nano", 64, stage=0))
    assert drawn == {k: tuple(v) for k, v in expected.items()}
    cfg = model.config
    assert drawn["alpha"] == (1, cfg.k1_at(0)) and drawn["experts"] == (1, cfg.k1_at(0), cfg.k2)


def test_dafmm_diagram_shapes_match_the_module_run_by_hand():
    model, x = _model_and_input()
    d = model.dafmm[0]
    seen = {}
    h = d.register_forward_pre_hook(lambda m, inp: seen.update(x=inp[0], p=inp[1]))
    with torch.no_grad():
        model(x)
        h.remove()
        f = d.fuse(torch.cat([seen["x"], seen["p"]], dim=1))
        ll, bands = haar_dwt(f)
        low, high = d.fsb(ll)
        taps = d.fsb.filter_weights(ll)
        expected = {"x": seen["x"].shape, "prompt_map": seen["p"].shape, "f": f.shape, "ll": ll.shape,
                    "bands": bands.shape, "taps": taps.shape, "low": low.shape, "high": high.shape,
                    "l_tilde": d.low(ll, low).shape, "h_tilde": d.high(high, bands).shape,
                    "y": d(seen["x"], seen["p"]).shape}
    drawn = _drawn(diagrams.dafmm_diagram("nano", 64, level=0))
    assert drawn == {k: tuple(v) for k, v in expected.items()}


@pytest.mark.parametrize("size", [48, 80])
def test_shapes_follow_the_input_size(size):
    drawn = _drawn(diagrams.network_diagram("nano", size))
    assert drawn["input"] == drawn["output"] == (1, 3, size, size)
    assert drawn["stage2"][2:] == (size // 2, size // 2)
