r"""Diagrams drawn by code: the whole network (the paper's Fig. 2), PCGRM (Eqs. 3–10) and DAFMM (Eqs. 11–15).

Every shape written on a diagram comes from a real forward pass: the ``*_shapes`` functions build the model,
run one image through it with forward hooks, and return ``{block key: shape}``; the ``*_diagram`` functions
draw boxes (matplotlib patches) labelled with those shapes and tag each label with its key (``Text.get_gid``),
so ``tests/test_diagrams.py`` can read the shapes back off the figure and compare them with its own forward
pass. Shapes are written ``1×8×64×64`` (batch first).

Book: chapters 0 and 9 (network), 4 and 5 (PCGRM), 7 and 8 (DAFMM).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

BOX = "#eef2f7"
HIGHLIGHT = "#ffd98a"
EDGE = "#44546a"
PAGE_WIDTH_IN = 7.5                      # the book's page width (figures wider than this are shrunk)
FONT = {"head": 8.5, "title": 6.3, "shape": 6.0, "note": 5.6, "foot": 5.2}


def fmt(shape) -> str:
    """``(1, 8, 64, 64)`` -> ``"1×8×64×64"``."""
    return "×".join(str(int(d)) for d in shape)


@contextmanager
def _hooks(pairs):
    """Register ``(module, hook, pre)`` forward hooks for the duration of the block."""
    handles = [m.register_forward_pre_hook(h) if pre else m.register_forward_hook(h) for m, h, pre in pairs]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _run(preset: str, size: int, pairs_of, seed: int = 0):
    """Build ``preset``, seed, register the hooks ``pairs_of(model, shapes)`` and run one eval forward of a
    (1, 3, size, size) image. Returns ``(model, shapes, output)``."""
    from clusir.model import build_model

    torch.manual_seed(seed)
    model = build_model(preset).eval()
    shapes: dict[str, tuple] = {}
    x = torch.rand(1, 3, size, size)
    with _hooks(pairs_of(model, shapes)), torch.no_grad():
        out = model(x)
    shapes["input"] = tuple(x.shape)
    shapes["output"] = tuple(out.image.shape)
    return model, shapes, out


def _out(shapes, key, pick=lambda o: o):
    def hook(module, inputs, output):
        shapes[key] = tuple(pick(output).shape)
    return hook


def network_shapes(preset: str = "nano", size: int = 64) -> dict[str, tuple]:
    """Shapes of the network's blocks for one (1, 3, size, size) image (Fig. 2): ``embed``, ``stage1..4``
    (WTB + MoE), ``prompt1..4`` (p_s), ``tokens`` (stage-4 cluster tokens), ``phat1..3``, ``pgb1..3``,
    ``dafmm1..3``, ``decoder1..3``, ``input``, ``output``."""
    def pairs(model, shapes):
        out = [(model.embed, _out(shapes, "embed"), False)]
        for s in range(4):
            out.append((model.moe[s], _out(shapes, f"stage{s + 1}", lambda o: o.x), False))
            out.append((model.moe[s], _out(shapes, f"prompt{s + 1}", lambda o: o.stage_prompt), False))
        out.append((model.moe[3], _out(shapes, "tokens", lambda o: o.tokens), False))
        for i in range(3):
            out.append((model.prompt_fusion, _out(shapes, f"phat{i + 1}", lambda o, i=i: o[i]), False))
            out.append((model.pgb[i], _out(shapes, f"pgb{i + 1}"), False))
            out.append((model.dafmm[i], _out(shapes, f"dafmm{i + 1}"), False))
            out.append((model.decoder[i], _out(shapes, f"decoder{i + 1}"), False))
        return out

    return _run(preset, size, pairs)[1]


def pcgrm_shapes(preset: str = "nano", size: int = 64, stage: int = 0) -> dict[str, tuple]:
    """Shapes inside the PCGRM block of encoder ``stage`` (0-based): ``x``, ``u``, ``z``, ``prototypes``,
    ``sim``, ``alpha_full``, ``alpha``, ``clusters``, ``tokens``, ``prompt``, ``g``, ``pi``, ``expert_weights``,
    ``experts``, ``y``; plus ``num_experts`` as a 1-tuple."""
    def pairs(model, shapes):
        b = model.moe[stage]
        shapes["prototypes"] = tuple(b.posterior.prototypes.shape)
        shapes["num_experts"] = (len(b.experts),)
        return [
            (b, lambda m, inp: shapes.__setitem__("x", tuple(inp[0].shape)), True),
            (b.norm, _out(shapes, "u"), False),
            (b.token, _out(shapes, "z"), False),
            (b.posterior, _out(shapes, "sim", lambda o: o.sim), False),
            (b.posterior, _out(shapes, "alpha_full", lambda o: o.alpha_full), False),
            (b.posterior, _out(shapes, "alpha", lambda o: o.alpha), False),
            (b.posterior, _out(shapes, "clusters", lambda o: o.index), False),
            (b.prompt, _out(shapes, "tokens", lambda o: o[0]), False),
            (b.prompt, _out(shapes, "prompt", lambda o: o[1]), False),
            (b.gate_attn, _out(shapes, "g", lambda o: o[0]), False),
            (b.gate, _out(shapes, "pi", lambda o: o.pi), False),
            (b.gate, _out(shapes, "expert_weights", lambda o: o.weight), False),
            (b, _out(shapes, "experts", lambda o: o.routing.experts), False),
            (b, _out(shapes, "y", lambda o: o.x), False),
        ]

    return _run(preset, size, pairs)[1]


def dafmm_shapes(preset: str = "nano", size: int = 64, level: int = 0) -> dict[str, tuple]:
    """Shapes inside DAFMM ``level`` (0 = the one fed by p̂1): ``x``, ``prompt_map``, ``f``, ``ll``, ``bands``,
    ``taps`` (W of Eq. 11, B×g×k²), ``low`` (F_l), ``high`` (F_h), ``l_tilde``, ``h_tilde``, ``y`` (output)."""
    def pairs(model, shapes):
        d = model.dafmm[level]

        def pre(m, inp):
            shapes["x"], shapes["prompt_map"] = tuple(inp[0].shape), tuple(inp[1].shape)

        def taps(m, inp, out):
            shapes["taps"] = (out.shape[0], d.fsb.groups, d.fsb.kernel ** 2)

        return [
            (d, pre, True), (d.fuse, _out(shapes, "f"), False),
            (d.fsb, lambda m, inp: shapes.__setitem__("ll", tuple(inp[0].shape)), True),
            (d.fsb.bn, taps, False),
            (d.fsb, _out(shapes, "low", lambda o: o[0]), False),
            (d.fsb, _out(shapes, "high", lambda o: o[1]), False),
            (d.low, _out(shapes, "l_tilde"), False),
            (d.high, lambda m, inp: shapes.__setitem__("bands", tuple(inp[1].shape)), True),
            (d.high, _out(shapes, "h_tilde"), False),
            (d, _out(shapes, "y"), False),
        ]

    return _run(preset, size, pairs)[1]


# ----------------------------------------------------------------------------------------------------------
# drawing


def _box(ax, x, y, title, key=None, shapes=None, w=2.3, h=0.85, hot=False, note=""):
    """A rounded box centred at (x, y): a bold title, and the recorded shape of ``key`` under it."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                fc=HIGHLIGHT if hot else BOX, ec=EDGE, lw=1.2))
    top = y + h / 2 - 0.28 if key or note else y
    ax.text(x, top, title, ha="center", va="center", fontsize=FONT["title"], weight="bold")
    if key is not None:
        t = ax.text(x, y - 0.2, fmt(shapes[key]), ha="center", va="center", fontsize=FONT["shape"],
                    family="monospace")
        t.set_gid(key)
    elif note:
        ax.text(x, top - 0.42, note, ha="center", va="center", fontsize=FONT["note"])


def _arrow(ax, a, b, label="", dashed=False, rad=0.0, color=EDGE):
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=11, lw=1.0, color=color,
                                 linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}",
                                 shrinkA=2, shrinkB=2))
    if label:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.12, label, ha="center", fontsize=FONT["note"],
                color=color)


def _path(ax, points, color=EDGE, label=""):
    """A polyline through ``points`` ending in an arrow head."""
    xs, ys = zip(*points[:-1])
    ax.plot(xs, ys, color=color, lw=1.0)
    _arrow(ax, points[-2], points[-1], color=color)
    if label:
        ax.text(points[1][0] + 0.1, points[1][1] + 0.12, label, fontsize=FONT["note"], color=color)


def _canvas(xmax, ymax, title, footer):
    """A page-wide figure whose data coordinates run over (0, xmax) × (0, ymax), equal aspect."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, PAGE_WIDTH_IN * ymax / xmax + 0.5))
    fig.subplots_adjust(left=0.005, right=0.995, bottom=0.06, top=0.93)
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax)
    ax.axis("off")
    ax.set_title(title, fontsize=FONT["head"])
    fig.text(0.01, 0.01, footer, fontsize=FONT["foot"], color="#555555")
    return fig, ax


def network_diagram(preset: str = "nano", size: int = 64, highlight: str | None = None):
    """The ClusIR U-Net in the spirit of the paper's Fig. 2, with the shapes of one forward pass."""
    s = network_shapes(preset, size)
    fig, ax = _canvas(15.2, 9.3, f"ClusIR ({preset}), one {size}×{size} image: shapes from a forward pass",
                      "Each box: block, then the shape of its output (batch × channels × height × width) "
                      "recorded by a forward hook. clusir.diagrams.network_diagram")
    ys = [7.2, 5.6, 4.0, 2.4]
    _box(ax, 2.0, 8.7, "input I", "input", s, w=2.7)
    _box(ax, 2.0, 7.2, "conv, WTB, PCGRM 1", "stage1", s, w=2.7, hot=highlight == "encoder")
    _arrow(ax, (2.0, 8.27), (2.0, 7.63))
    for k in range(1, 4):
        _box(ax, 2.0, ys[k], f"Down, WTB, PCGRM {k + 1}", f"stage{k + 1}", s, w=2.7,
             hot=highlight == "encoder")
        _arrow(ax, (2.0, ys[k - 1] - 0.43), (2.0, ys[k] + 0.43))
    _box(ax, 6.2, 0.75, "semantic prompt fusion", None, w=3.6, h=1.05,
         note=f"p1..p3 + tokens {fmt(s['tokens'])}\n→ p̂1..p̂3, each {fmt(s['phat1'])}")
    _arrow(ax, (2.0, ys[3] - 0.43), (4.4, 0.6), label="p1..p4, tokens")
    for i in range(3):
        y = ys[i + 1]
        _box(ax, 6.2, y, f"PGB {i + 1} (p̂{i + 1})", f"pgb{i + 1}", s, w=2.1, hot=highlight == "prompts")
        _path(ax, [(4.4, 1.0), (4.15, 1.0), (4.15, y), (5.15, y)], color="#8a6d3b")
        _box(ax, 9.6, y, f"DAFMM {i + 1}", f"dafmm{i + 1}", s, w=2.1, hot=highlight == "dafmm")
        _arrow(ax, (7.25, y), (8.55, y), color="#8a6d3b")
        _box(ax, 13.4, ys[i], f"Up, skip, decoder L{i + 1}", f"decoder{i + 1}", s, w=2.9)
        _arrow(ax, (10.65, y + 0.2), (11.95, ys[i] - 0.3))
        if i:
            _arrow(ax, (11.95, ys[i]), (10.65, ys[i]))
        _arrow(ax, (3.35, ys[i] + 0.3), (11.95, ys[i] + 0.3), dashed=True, rad=-0.08)
    _path(ax, [(3.35, ys[3]), (3.8, ys[3]), (3.8, 1.62), (9.6, 1.62), (9.6, ys[3] - 0.43)])
    _box(ax, 13.4, 8.7, "conv 3×3 + I (output)", "output", s, w=2.9)
    _arrow(ax, (13.4, ys[0] + 0.43), (13.4, 8.27))
    ax.text(7.6, 8.55, "dashed: skip connections", fontsize=FONT["note"], color=EDGE)
    return fig


def pcgrm_diagram(preset: str = "nano", size: int = 64, stage: int = 0, highlight: str | None = None):
    """PCGRM, Eqs. (3)–(10), for encoder ``stage``; ``highlight`` = ``"stage 1"`` or ``"stage 2"``."""
    s = pcgrm_shapes(preset, size, stage)
    n, c = s["prototypes"]
    fig, ax = _canvas(14.0, 6.6, f"PCGRM mixture of experts, encoder stage {stage + 1} of {preset} "
                      f"({size}×{size} input)", "Shapes recorded by forward hooks in one pass "
                      f"(N = {n} prototypes of width C = {c}, {s['num_experts'][0]} experts). "
                      "clusir.diagrams.pcgrm_diagram")
    one, two = highlight == "stage 1", highlight == "stage 2"
    y1, y2, y3 = 5.6, 3.6, 1.5
    _box(ax, 1.4, y1, "features x", "x", s, w=2.0)
    _box(ax, 4.0, y1, "GAP, Linear, LN: z", "z", s, w=2.2, hot=one)
    _box(ax, 6.6, y1, "Eq. 4: cos(z, P̂)", "sim", s, w=2.2, hot=one)
    _box(ax, 9.2, y1, "Eq. 5: softmax α̂", "alpha_full", s, w=2.2, hot=one)
    _box(ax, 12.2, y1, "Eq. 6: top-K1, renorm. α", "alpha", s, w=2.8, hot=one)
    for a, b in ((2.4, 2.9), (5.1, 5.5), (7.7, 8.1), (10.3, 10.8)):
        _arrow(ax, (a, y1), (b, y1))
    _box(ax, 12.2, y2, "Eq. 7: Gaussian prompts t_c", "tokens", s, w=2.8, hot=two)
    _box(ax, 8.9, y2, "Eq. 8: CrossAttn(z, t): g", "g", s, w=2.8, hot=two)
    _box(ax, 5.3, y2, "Eq. 9: π_c = softmax(W_c g + b_c)", "pi", s, w=3.7, hot=two)
    _box(ax, 1.8, y2, "Eq. 10: top-K2, renorm.", "expert_weights", s, w=2.6, hot=two)
    _arrow(ax, (12.2, y1 - 0.43), (12.2, y2 + 0.43))
    for a, b in ((10.8, 10.3), (7.5, 7.15), (3.45, 3.1)):
        _arrow(ax, (a, y2), (b, y2))
    _arrow(ax, (4.0, y1 - 0.43), (8.3, y2 + 0.43), dashed=True, label="z (query)")
    _box(ax, 5.0, y3, "Eq. 3: Σ α_c p(e|c) Expert(LN x), experts", "experts", s, w=4.0)
    _box(ax, 10.0, y3, "x + y (block output)", "y", s, w=2.6)
    _arrow(ax, (1.8, y2 - 0.43), (4.0, y3 + 0.43), label="chosen experts and weights")
    _arrow(ax, (7.0, y3), (8.7, y3))
    ax.text(12.2, y1 + 0.7, "stage 1: cluster posterior p(C=c|x)", ha="center", fontsize=FONT["note"], style="italic")
    ax.text(12.2, y2 - 0.75, f"prompt P = Σ t_c: {fmt(s['prompt'])}", ha="center", fontsize=FONT["note"])
    ax.text(5.6, y2 - 0.75, "stage 2: expert posterior p(E=e|c,x)", ha="center", fontsize=FONT["note"], style="italic")
    return fig


def dafmm_diagram(preset: str = "nano", size: int = 64, level: int = 0, highlight: str | None = None):
    """DAFMM, Eqs. (11)–(15), at decoder ``level``; ``highlight`` = ``"FSB"`` or ``"modulation"``."""
    s = dafmm_shapes(preset, size, level)
    fig, ax = _canvas(16.3, 6.6, f"DAFMM {level + 1} of {preset} ({size}×{size} input)",
                      "Shapes recorded by forward hooks in one pass. W: one k×k softmax filter per channel "
                      "group. clusir.diagrams.dafmm_diagram")
    fsb, mod = highlight == "FSB", highlight == "modulation"
    y1, y2, y3 = 5.7, 3.7, 1.6
    _box(ax, 1.4, y1, "features F", "x", s, w=2.2)
    _box(ax, 1.4, y2, f"prompt map (PGB {level + 1})", "prompt_map", s, w=2.6)
    _box(ax, 4.2, y1, "concat, conv 1×1: f", "f", s, w=2.4)
    _arrow(ax, (2.5, y1), (3.0, y1))
    _arrow(ax, (1.4, y2 + 0.43), (3.4, y1 - 0.43))
    _box(ax, 7.0, y1, "DWT: F̂_LL", "ll", s, w=2.2)
    _arrow(ax, (5.4, y1), (5.9, y1))
    _box(ax, 10.6, y1, "Eq. 11: W = softmax(BN(conv(GAP)))", "taps", s, w=4.0, hot=fsb)
    _arrow(ax, (8.1, y1), (8.6, y1))
    _box(ax, 10.6, y2, "Eq. 12: F_l = Σ W_i ⊙ X_i", "low", s, w=2.9, hot=fsb)
    _arrow(ax, (10.6, y1 - 0.43), (10.6, y2 + 0.43))
    _box(ax, 7.0, y2, "Eq. 13: F_h = F̂_LL − F_l", "high", s, w=2.9, hot=fsb)
    _arrow(ax, (7.0, y1 - 0.43), (7.0, y2 + 0.43))
    _arrow(ax, (9.15, y2), (8.45, y2), label="F_l")
    _box(ax, 14.3, y2, "Eq. 14: amplitude–phase: L̃", "l_tilde", s, w=3.0, hot=mod)
    _arrow(ax, (12.05, y2), (12.8, y2))
    _box(ax, 4.2, y3, "DWT: F̂_HL, F̂_LH, F̂_HH", "bands", s, w=2.9)
    _arrow(ax, (4.2, y1 - 0.43), (4.2, y3 + 0.43))
    _box(ax, 8.6, y3, "Eq. 15: σ(W F_h) ⊙ bands: H̃", "h_tilde", s, w=3.4, hot=mod)
    _arrow(ax, (5.65, y3), (6.9, y3))
    _arrow(ax, (7.0, y2 - 0.43), (8.0, y3 + 0.43), dashed=True, label="F_h")
    _box(ax, 14.3, y3, "IDWT, β⊙F + γ⊙y", "y", s, w=2.6)
    _arrow(ax, (10.3, y3), (13.0, y3))
    _arrow(ax, (14.3, y2 - 0.43), (14.3, y3 + 0.43))
    ax.text(8.8, y1 + 0.7, "Frequency Self-Mining Block (Eqs. 11–13)", ha="center", fontsize=FONT["note"],
            style="italic")
    return fig


def drawn_shapes(fig) -> dict[str, str]:
    """``{key: shape text}`` of every shape label on a diagram (what a reader sees)."""
    return {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid()}
