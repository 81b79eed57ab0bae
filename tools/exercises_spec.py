"""The coded exercises of the book, as data for ``tools/exercises.py apply`` (one entry per exercise).

Each entry: chapter number, key (cell ids ``ex-<key>``, ``ex-<key>-check``, ``ex-<key>-intro``; solution
``solution-<key>`` in ``book/solutions/<chapter>.md``), the exercise number in the chapter's list, the intro
(markdown), the stub and the check. Stubs and checks import what they use, so each can run on its own (the
test runs them in a fresh namespace). Once applied, the notebook is the source of these cells; ``apply``
never overwrites a cell that is already there.
"""

from __future__ import annotations

EXERCISES = [
    dict(chapter="00", key="denoising-average", number=3, intro="""\
**Exercise 3 in code.** Write `denoising_average(table)` in the cell below: for a table shaped like
`paper.TABLE1` (`{method: [(PSNR, SSIM), ...]}`, columns in the order of `paper.TABLE1_COLUMNS`) it returns
`{method: mean PSNR of the three denoising columns}`. The check after it fails until the function is right.
""", stub='''\
# Exercise 3: mean PSNR over the three denoising columns (CBSD68, sigma 15/25/50).
def denoising_average(table):
    """{method: [(psnr, ssim), ...]} -> {method: mean PSNR of columns 0, 1, 2}."""
    raise NotImplementedError("exercise 3: write denoising_average")
''', check='''\
# Check for exercise 3: fails until denoising_average is written.
from clusir import paper

toy = {"a": [(30.0, .9), (28.0, .8), (26.0, .7), (99.0, .9), (99.0, .9), (0.0, 0.0)],
       "b": [(27.0, .9), (28.0, .8), (32.0, .7), (10.0, .9), (10.0, .9), (0.0, 0.0)]}
toy_avg = denoising_average(toy)
assert set(toy_avg) == {"a", "b"}, "one entry per method"
assert abs(toy_avg["a"] - 28.0) < 1e-9 and abs(toy_avg["b"] - 29.0) < 1e-9, toy_avg
avg = denoising_average(paper.TABLE1)
assert set(avg) == set(paper.TABLE1), "one average per method of Table 1"
rank = sorted(avg, key=avg.get, reverse=True).index("ClusIR") + 1
print("methods averaged:", len(avg), "| ClusIR's rank on the denoising columns:", rank)
'''),
    dict(chapter="01", key="speckle", number=3, intro="""\
**Exercise 3 in code.** Write `add_speckle(img, sigma, seed)` below: multiplicative noise
$I = J(1 + \\sigma n)$ with $n \\sim \\mathcal N(0, 1)$, clipped to $[0, 1]$ and quantised to 8 bits like
the package's degradations; it returns the image and a dict of the parameters drawn. The check after it
fails until the function is right.
""", stub='''\
# Exercise 3: multiplicative (speckle) noise in the package's style.
import numpy as np


def add_speckle(img, sigma, seed):
    """img (H, W, 3) float32 in [0, 1] -> (noisy image, {"sigma": ..., "seed": ...})."""
    raise NotImplementedError("exercise 3: write add_speckle")
''', check='''\
# Check for exercise 3: fails until add_speckle is written.
import numpy as np
from clusir.metrics import psnr

img = np.random.RandomState(0).rand(32, 32, 3).astype(np.float32)
img[:8, :8] = 0.0                                          # a black patch
a, params = add_speckle(img, 0.1, 3)
b, _ = add_speckle(img, 0.1, 3)
c, _ = add_speckle(img, 0.3, 3)
assert a.shape == img.shape and a.dtype == np.float32, (a.shape, a.dtype)
assert np.array_equal(a, b), "same seed, same image"
assert not np.array_equal(a, add_speckle(img, 0.1, 4)[0]), "another seed, another image"
assert a.min() >= 0 and a.max() <= 1, "clipped to [0, 1]"
assert np.allclose(a * 255, np.round(a * 255), atol=1e-3), "quantised to 8 bits"
assert np.all(a[:8, :8] == 0), "multiplicative: black stays black"
assert psnr(c, img) < psnr(a, img), "stronger speckle, lower PSNR"
assert {"sigma", "seed"} <= set(params), params
print("add_speckle: reproducible, 8-bit, multiplicative, monotone in sigma: passed")
'''),
    dict(chapter="02", key="idwt-slices", number=3, intro="""\
**Exercise 3 in code.** Write `idwt_slices(ll, high)` below: the inverse Haar transform with slicing and
additions only (no convolution). `ll` is $(B, C, h, w)$ and `high` the three detail bands, band-major
$(B, 3C, h, w)$ as `dwt_conv` returns them. The check after it fails until the function is right.
""", stub='''\
# Exercise 3: the inverse Haar transform with slicing and additions only.
def idwt_slices(ll, high):
    """ll (B, C, h, w), high (B, 3C, h, w) [LH, HL, HH] -> image (B, C, 2h, 2w)."""
    raise NotImplementedError("exercise 3: write idwt_slices")
''', check='''\
# Check for exercise 3: fails until idwt_slices inverts the Haar transform.
import torch
from clusir.model.wavelets import haar_dwt

torch.manual_seed(0)
x = torch.randn(2, 3, 8, 12, dtype=torch.float64)
y = idwt_slices(*haar_dwt(x))
assert tuple(y.shape) == tuple(x.shape), tuple(y.shape)
assert torch.allclose(y, x, atol=1e-12), "idwt_slices(*haar_dwt(x)) must give x back"
print("idwt_slices inverts the Haar DWT:", tuple(y.shape))
'''),
    dict(chapter="03", key="shared-expert-marginal", number=4, intro="""\
**Exercise 4 in code, the other reading of Eq. 3.** With cluster-owned experts (as in `clusir` and the
toy router above) the marginal of exercise 4 has one term per expert. Eq. 3 can also be read with $E$
experts *shared* by every cluster, expert $e$ being the same network whichever cluster chose it; then the
sum over $c$ is a real sum. Write `shared_expert_marginal(p_cluster, p_inner)` below: from a cluster
posterior $(B, N)$ and per-cluster expert distributions $(B, N, E)$ it returns $p(E = e \\mid \\mathbf x)$,
$(B, E)$. The check after it fails until the function is right.
""", stub='''\
# Exercise 4: the marginal of Eq. 3 when the E experts are shared by all clusters.
def shared_expert_marginal(p_cluster, p_inner):
    """p_cluster (B, N), p_inner (B, N, E) -> p(E = e | x) (B, E)."""
    raise NotImplementedError("exercise 4: write shared_expert_marginal")
''', check='''\
# Check for exercise 4: fails until shared_expert_marginal is written.
import torch

torch.manual_seed(0)
B, N, E = 10, 3, 4
p_cluster = torch.softmax(torch.randn(B, N, dtype=torch.float64), -1)
p_inner = torch.softmax(torch.randn(B, N, E, dtype=torch.float64), -1)
m = shared_expert_marginal(p_cluster, p_inner)
assert tuple(m.shape) == (B, E), tuple(m.shape)
assert torch.allclose(m.sum(-1), torch.ones(B, dtype=torch.float64)), "a distribution"
sure = torch.zeros(B, N, dtype=torch.float64)
sure[:, 1] = 1.0
assert torch.allclose(shared_expert_marginal(sure, p_inner), p_inner[:, 1]), "sure"
same = p_inner[:, :1].expand(B, N, E)
assert torch.allclose(shared_expert_marginal(p_cluster, same), p_inner[:, 0]), "same"
half = 0.5 * (p_cluster + sure)
mix = 0.5 * (m + shared_expert_marginal(sure, p_inner))
assert torch.allclose(shared_expert_marginal(half, p_inner), mix), "linear in p(C | x)"
print("shared_expert_marginal:", tuple(m.shape), "| a mixture over clusters: passed")
'''),
    dict(chapter="04", key="posterior-by-masking", number=3, intro="""\
**Exercise 3 in code.** Write `posterior_by_masking(sim, k, tau=1.0)` below: Eqs. 5–6 done differently,
by setting every similarity outside the top $k$ to $-\\infty$ and taking one softmax. It returns the dense
$(B, N)$ posterior with zeros outside the kept clusters. The check after it fails until the function is
right.
""", stub='''\
# Exercise 3: Eqs. 5-6 as one masked softmax.
def posterior_by_masking(sim, k, tau=1.0):
    """sim (B, N) cosines -> dense posterior (B, N): top k renormalised, 0 elsewhere."""
    raise NotImplementedError("exercise 3: write posterior_by_masking")
''', check='''\
# Check for exercise 3: posterior_by_masking against the package's Eq. 6, made dense.
import torch
from clusir.model.pcgrm import ClusterPosterior

torch.manual_seed(1)
pkg = ClusterPosterior(16, 5, 2)
with torch.no_grad():
    post = pkg(torch.randn(32, 16))
dense = torch.zeros(32, 5).scatter(1, post.index, post.alpha)
result = posterior_by_masking(post.sim, 2)
assert tuple(result.shape) == (32, 5), tuple(result.shape)
assert torch.allclose(result, dense, atol=1e-6), "must equal Eq. 6 (top-2 renormalised)"
assert int((result > 0).sum(-1).max()) == 2, "exactly k clusters kept"
print("posterior_by_masking matches Eq. 6 on", len(result), "tokens: passed")
'''),
    dict(chapter="05", key="switch-gate", number=3, intro="""\
**Exercise 3 in code.** Write `switch_gate(logits)` below: a top-1 gate in the style of the Switch
Transformer, keeping the arg-max expert but weighting it by its *un-renormalised* softmax probability. For
logits $(B, K_1, E)$ it returns `(index, weight)`, both $(B, K_1, 1)$. The check after it fails until the
function is right.
""", stub='''\
# Exercise 3: a Switch-style top-1 gate.
def switch_gate(logits):
    """logits (B, K1, E) -> index (B, K1, 1) long, weight (B, K1, 1) its probability."""
    raise NotImplementedError("exercise 3: write switch_gate")
''', check='''\
# Check for exercise 3: weight = softmax probability, and the gate gets a gradient.
import torch

torch.manual_seed(0)
logits = torch.randn(8, 2, 7, requires_grad=True)
index, weight = switch_gate(logits)
assert tuple(index.shape) == (8, 2, 1) and tuple(weight.shape) == (8, 2, 1)
p = torch.softmax(logits.detach(), -1)
assert torch.equal(index, p.argmax(-1, keepdim=True)), "the arg-max expert"
assert torch.allclose(weight.detach(), p.max(-1, keepdim=True).values), "probability"
(weight * torch.randn(8, 2, 1)).sum().backward()
assert logits.grad is not None and logits.grad.abs().sum() > 0, "the logits learn"
print("switch_gate: shapes (8, 2, 1), weight = probability, gradient flows: passed")
'''),
    dict(chapter="06", key="gap-pgb", number=1, intro="""\
**Exercise 1 in code.** Write `GapPGB(channels, size, components)` below, PromptIR's original PGB: its
`forward(features)` returns a prompt map of the features' size, mixing `components` learned
$(\\text{channels}, \\text{size}, \\text{size})$ tensors with weights
$\\operatorname{softmax}(W\\,\\mathrm{GAP}(F) + b)$, then a 3×3 convolution. The check after it fails until the
class is right.
""", stub='''\
# Exercise 1: PromptIR's PGB, weights from the global average of the features.
from torch import nn


class GapPGB(nn.Module):
    """features (B, C, H, W) -> prompt map (B, C, H, W)."""

    def __init__(self, channels, size, components=5):
        super().__init__()
        raise NotImplementedError("exercise 1: write GapPGB")
''', check='''\
# Check for exercise 1: fails until GapPGB is written.
import torch

torch.manual_seed(0)
feats = torch.randn(3, 16, 20, 28)
gap_pgb = GapPGB(16, 32, 5)
with torch.no_grad():
    m = gap_pgb(feats)
    other = gap_pgb(feats.flip(0))
    shifted = gap_pgb(feats + 1.0)
assert m.shape == feats.shape, tuple(m.shape)
assert not torch.allclose(m[0], m[1]), "different images get different maps"
assert torch.allclose(other.flip(0), m, atol=1e-6), "the map follows the image"
assert not torch.allclose(shifted, m), "the weights depend on the features' average"
print("GapPGB: output", tuple(m.shape), "| per image, driven by GAP(F): passed")
'''),
    dict(chapter="07", key="pixel-fsb", number=2, intro="""\
**Exercise 2 in code.** Write `PixelFSB(dim, groups, kernel)` below: an FSB whose taps are predicted *per
pixel* by a 1×1 convolution on $\\hat F_{LL}$ (no pooling), with a softmax over the $k^2$ taps at every
position. `taps(ll)` returns $(B, g, k^2, hw)$; `forward(ll)` returns $(\\mathcal F_l, \\mathcal F_h)$ as
the FSB does. The check after it fails until the class is right.
""", stub='''\
# Exercise 2: an FSB with one filter per pixel.
from torch import nn


class PixelFSB(nn.Module):
    """ll (B, C, h, w) -> low, high (B, C, h, w); taps(ll) -> (B, g, k*k, h*w)."""

    def __init__(self, dim, groups=8, kernel=3):
        super().__init__()
        raise NotImplementedError("exercise 2: write PixelFSB")
''', check='''\
# Check for exercise 2: fails until PixelFSB is written.
import torch

torch.manual_seed(0)
pix = PixelFSB(16, 8, 3)
feat = torch.randn(2, 16, 12, 20)
with torch.no_grad():
    low, high = pix(feat)
    t = pix.taps(feat)
    low_c, _ = pix(torch.full_like(feat, 0.3))
assert low.shape == feat.shape, tuple(low.shape)
assert tuple(t.shape) == (2, 8, 9, 12 * 20), tuple(t.shape)
assert torch.allclose(low + high, feat, atol=1e-6), "F_l + F_h = input (Eq. 13)"
assert torch.allclose(t.sum(2), torch.ones(2, 8, 240), atol=1e-6), "taps sum to 1"
assert not torch.allclose(t[..., 0], t[..., 1]), "the taps change from pixel to pixel"
const = torch.full_like(feat, 0.3)
assert torch.allclose(low_c, const, atol=1e-6), "a constant passes unchanged"
print("PixelFSB: F_l", tuple(low.shape), "| taps", tuple(t.shape), "| passed")
'''),
    dict(chapter="08", key="pooled-high-freq", number=1, intro="""\
**Exercise 1 in code.** Write `PooledHighFreq(dim)` below, the paper's literal reading of Eq. (15): its
`forward(high, bands)` gates the detail bands $(B, 3C, h, w)$ by $\\sigma(\\mathbf W\\,\\mathrm{GAP}(\\mathcal
F_h))$, one value per image and channel for the whole map. The check after it fails until the class is
right.
""", stub='''\
# Exercise 1: Eq. (15) with a pooled, channel-wise gate.
from torch import nn


class PooledHighFreq(nn.Module):
    """high (B, C, h, w), bands (B, 3C, h, w) -> gated bands (B, 3C, h, w)."""

    def __init__(self, dim):
        super().__init__()
        raise NotImplementedError("exercise 1: write PooledHighFreq")
''', check='''\
# Check for exercise 1: fails until PooledHighFreq is written.
import torch

torch.manual_seed(0)
pooled = PooledHighFreq(16)
high, bands = torch.randn(2, 16, 8, 12), torch.randn(2, 48, 8, 12)
with torch.no_grad():
    out = pooled(high, bands)
    ratio = out / bands
assert out.shape == bands.shape, tuple(out.shape)
first = ratio[..., :1, :1].expand_as(ratio)
assert torch.allclose(ratio, first, atol=1e-5), "one gate for all positions"
assert not torch.allclose(ratio[0, :, 0, 0], ratio[1, :, 0, 0]), "but one per image"
assert bool(((ratio > 0) & (ratio < 1)).all()), "gates in (0, 1)"
print("PooledHighFreq:", tuple(out.shape), "| a gate per image and channel: passed")
'''),
    dict(chapter="09", key="activated-parameters", number=3, intro="""\
**Exercise 3 in code.** Write `activated_parameters(model, routing, image=0)` below: the parameters that
one image of a forward pass actually uses, that is all of the model's parameters minus those of the
experts the image did not route to (`routing[s].experts[image]` lists the global indices of the experts
used at stage `s`). The check after it fails until the function is right.
""", stub='''\
# Exercise 3: the parameters one image uses.
def activated_parameters(model, routing, image=0):
    """model: a ClusIR; routing: out.routing -> parameters that `image` used."""
    raise NotImplementedError("exercise 3: write activated_parameters")
''', check='''\
# Check for exercise 3: fails until activated_parameters is written.
import torch
from clusir.model import build_model, count_parameters
from clusir.model.info import count_active_parameters

torch.manual_seed(0)
x = torch.rand(2, 3, 32, 32)
for k1, k2 in ((2, 2), (1, 1), (3, 2)):             # nano: 3 clusters of 2 experts
    m = build_model("nano", k1=k1, k2=k2).eval()
    with torch.no_grad():
        routing = m(x).routing
    used = [activated_parameters(m, routing, image=i) for i in range(2)]
    assert used == [count_active_parameters(m)] * 2, (k1, k2, used)
assert used[0] == count_parameters(m), "every expert active: every parameter used"
print("activated_parameters = count_active_parameters, (K1, K2) = (2,2), (1,1), (3,2)")
'''),
    dict(chapter="15", key="gained-fft-sum", number=1, intro="""\
**Exercise 1 in code.** Write `gained_fft_sum(a, b, gain)` below: AnyIR's frequency fusion with something
to do, $\\mathcal F^{-1}\\big(g \\odot (\\mathcal F(a) + \\mathcal F(b))\\big)$ with the real 2-D FFT and a
real gain $g$ of shape $(H, W/2 + 1)$, one value per frequency, returned at the inputs' size. At $g = 1$
it must be the identity of this chapter (the plain sum); the check after it also tries other gains and
fails until the function is right.
""", stub='''\
# Exercise 1: the frequency fusion with a real gain per frequency.
def gained_fft_sum(a, b, gain):
    """a, b (B, h, H, W); gain (H, W // 2 + 1) -> irfft2(gain * (rfft2 a + rfft2 b))."""
    raise NotImplementedError("exercise 1: write gained_fft_sum")
''', check='''\
# Check for exercise 1: the identity at gain 1, and what other gains do (float64).
import torch
from clusir.model.anyir.fusion import fft_sum

gen = torch.Generator().manual_seed(0)
for size in [(8, 8), (7, 10)]:                       # even and odd sizes
    a, b = (torch.randn(2, 3, *size, generator=gen, dtype=torch.float64)
            for _ in range(2))
    ones = torch.ones(size[0], size[1] // 2 + 1, dtype=torch.float64)
    out = gained_fft_sum(a, b, ones)
    assert out.shape == a.shape and out.dtype == torch.float64, (out.shape, out.dtype)
    assert torch.allclose(out, a + b, atol=1e-12), "gain 1: the plain sum"
    assert torch.allclose(out, fft_sum(a, b), atol=1e-12), "gain 1: fft_sum"
    half = gained_fft_sum(a, b, 0.5 * ones)
    assert torch.allclose(half, 0.5 * (a + b), atol=1e-12), "a constant gain scales"
    no_dc = ones.clone()
    no_dc[0, 0] = 0.0                                # the zero frequency: the mean
    centred = (a + b) - (a + b).mean((-2, -1), keepdim=True)
    assert torch.allclose(gained_fft_sum(a, b, no_dc), centred, atol=1e-12), "DC gain 0"
gain = ones.clone().requires_grad_(True)
gained_fft_sum(a, b, gain).pow(2).sum().backward()
assert gain.grad is not None and gain.grad.abs().sum() > 0, "the gain can be learned"
print("gained_fft_sum: identity at gain 1, scaling, DC removal, gradient: passed")
'''),
    dict(chapter="10", key="warmup-cosine", number=4, intro="""\
**Exercise 4 in code.** Write `lr_factor(step, total, warmup)` below: the factor that multiplies the base
learning rate at optimiser step `step` (counted from 0) of a run of `total` steps, a linear warm-up to 1
over the first `warmup` steps ($\\min(1, (s + 1)/w)$, no warm-up when $w = 0$) times the half-cosine
$\\tfrac12\\big(1 + \\cos(\\pi \\min(s, T)/T)\\big)$. The check compares it with the trainer's schedule and
fails until the function is right.
""", stub='''\
# Exercise 4: the learning-rate factor of a warm-up followed by a cosine decay.
def lr_factor(step, total, warmup):
    """step >= 0, total >= 1, warmup >= 0 -> factor in [0, 1] (a float)."""
    raise NotImplementedError("exercise 4: write lr_factor")
''', check='''\
# Check for exercise 4: fails until lr_factor matches the trainer's LRSchedule.
import math

from clusir.train.trainer import LRSchedule

for total, warmup in ((40, 0), (40, 5), (1000, 100), (7, 7)):
    ref = LRSchedule("cosine", total, warmup=warmup)
    got = [lr_factor(s, total, warmup) for s in range(total + 3)]
    assert all(math.isclose(g, ref(s), abs_tol=1e-12) for s, g in enumerate(got)), (
        total, warmup)
    assert max(got) <= 1.0 and min(got) >= 0.0, "a factor in [0, 1]"
    assert math.isclose(got[total], 0.0, abs_tol=1e-12), "0 at the end"
    after = got[max(warmup - 1, 0): total + 1]
    assert all(a >= b for a, b in zip(after, after[1:])), "decreasing after the warm-up"
print("lr_factor = LRSchedule('cosine', ...) for 4 (total, warm-up) pairs: passed")
'''),
    dict(chapter="11", key="protocol-psnr", number=4, intro="""\
**Exercise 4 in code.** Write `protocol_psnr(pred, gt, base=16)` below: the PSNR of this chapter's
protocol for one image pair, both $(H, W, 3)$ in $[0, 1]$: centre-crop both to the largest multiple of
`base` in each direction (an odd remainder leaves the extra row or column at the bottom or right), clamp
the prediction to $[0, 1]$, then PSNR over all channels. The check compares it with `clusir`'s crop and
metric and fails until the function is right.
""", stub='''\
# Exercise 4: PSNR under the evaluation protocol (centre crop, clamp).
def protocol_psnr(pred, gt, base=16):
    """pred, gt (H, W, 3) float arrays -> PSNR in dB after the crop and the clamp."""
    raise NotImplementedError("exercise 4: write protocol_psnr")
''', check='''\
# Check for exercise 4: fails until protocol_psnr follows the protocol.
import numpy as np

from clusir.data.io import crop_to_multiple
from clusir.metrics import psnr

rng = np.random.RandomState(0)
gt = rng.rand(37, 50, 3)
pred = gt + 0.05 * rng.randn(37, 50, 3)
ref = psnr(np.clip(crop_to_multiple(pred, 16), 0, 1), crop_to_multiple(gt, 16))
assert abs(protocol_psnr(pred, gt) - ref) < 1e-9, (protocol_psnr(pred, gt), ref)
border = gt.copy()
border[:2] = 0.0                                 # rows 0-1: cropped away (37 -> 32)
border[-3:] = 0.0                                # rows 34-36: cropped away
assert protocol_psnr(border, gt) == float("inf"), "damage outside the crop: unscored"
inside = gt.copy()
inside[2] = 0.0                                  # row 2: the first row kept
assert protocol_psnr(inside, gt) < 60, "damage inside the crop is scored"
clamped = psnr(np.ones((32, 48, 3)), gt[2:34, 1:49])
assert abs(protocol_psnr(gt + 1.0, gt) - clamped) < 1e-9, "the prediction is clamped"
print("protocol_psnr: crop 37x50 -> 32x48, centred, clamped, = clusir's: passed")
'''),
    dict(chapter="12", key="paired-mean", number=4, intro="""\
**Exercise 4 in code.** Write `paired_mean(diffs)` below: for `diffs` as `clusir.experiment` builds them
(`{task: array (seeds, images)}` of per-image PSNR differences, variant minus reference, same seeds and
images on both sides) it returns `(mean, per_task)`: the mean over tasks of each task's mean difference,
every task weighing the same whatever its number of images, and `{task: mean difference}`. The check
compares it with `paired_difference` and fails until the function is right.
""", stub='''\
# Exercise 4: the paired mean difference over tasks.
def paired_mean(diffs):
    """{task: (seeds, images) array} -> (mean over tasks, {task: task mean})."""
    raise NotImplementedError("exercise 4: write paired_mean")
''', check='''\
# Check for exercise 4: fails until paired_mean = paired_difference's estimate.
import numpy as np

from clusir.experiment import paired_difference

rng = np.random.RandomState(0)
toy = {"noise25": rng.randn(3, 4) + 0.5, "haze": rng.randn(3, 16) - 1.0,
       "rain": rng.randn(3, 8)}
mean, per_task = paired_mean(toy)
ref = paired_difference(toy, n_boot=200)
assert abs(mean - ref.mean) < 1e-12, (mean, ref.mean)
assert set(per_task) == set(toy), per_task
assert all(abs(per_task[t] - ref.per_task[t][0]) < 1e-12 for t in toy), per_task
pooled = np.concatenate([d.ravel() for d in toy.values()]).mean()
assert abs(mean - pooled) > 1e-3, "tasks weigh the same, images are not pooled"
assert abs(paired_mean({t: d + 1.0 for t, d in toy.items()})[0] - mean - 1.0) < 1e-12
print("paired_mean = paired_difference(...).mean on 3 toy tasks; one weight per task")
'''),
    dict(chapter="13", key="cosine-affinity", number=4, intro="""\
**Exercise 4 in code.** Write `cosine_affinity(features, prototypes)` below: the per-pixel form of Eq. 4
behind the affinity maps of this chapter, the cosine between the feature vector at every pixel of
$(B, C, H, W)$ features and each of the $N$ prototypes $(N, C)$, returned as $(B, N, H, W)$. The check
compares it with the package's `PCGRMMoE.affinity` and fails until the function is right.
""", stub='''\
# Exercise 4: Eq. 4 at every pixel, the affinity maps.
def cosine_affinity(features, prototypes):
    """features (B, C, H, W), prototypes (N, C) -> cosines (B, N, H, W)."""
    raise NotImplementedError("exercise 4: write cosine_affinity")
''', check='''\
# Check for exercise 4: fails until cosine_affinity matches PCGRMMoE.affinity.
import torch
from clusir.model.pcgrm import PCGRMMoE

torch.manual_seed(0)
moe = PCGRMMoE(16, prototypes=4, experts_per_cluster=2)
u = torch.randn(2, 16, 6, 10)
unit = moe.posterior.unit_prototypes().detach()                  # (N, C)
with torch.no_grad():
    ref = moe.affinity(u, unit)                                  # (B, N, H, W)
    feats = moe.token.project(u.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    got = cosine_affinity(feats, unit)
    scaled = cosine_affinity(feats * torch.rand(2, 1, 6, 10) * 5, 3 * unit)
assert tuple(got.shape) == (2, 4, 6, 10), tuple(got.shape)
assert torch.allclose(got, ref, atol=1e-5), "the package's affinity maps"
assert torch.allclose(scaled, got, atol=1e-5), "a cosine ignores lengths"
on_proto = unit[2].view(1, 16, 1, 1).expand(1, 16, 3, 3)
assert torch.allclose(cosine_affinity(on_proto, unit)[:, 2], torch.ones(1, 3, 3))
print("cosine_affinity:", tuple(got.shape), "= PCGRMMoE.affinity, scale-free: passed")
'''),
    dict(chapter="14", key="epoch-samples", number=4, intro="""\
**Exercise 4 in code.** Write `epoch_samples(sizes, ratios)` below: the samples in one training epoch of
the paper's recipe, for `sizes` `{task: training images}` (one entry per noise level, as in
`clusir.data.recipe`) and `ratios` `{task family: expansion ratio}`, the family of a task given by
`clusir.data.recipe.family`. The check compares it with `clusir.data.recipe` and fails until the
function is right.
""", stub='''\
# Exercise 4: samples per epoch from data-set sizes and expansion ratios.
def epoch_samples(sizes, ratios):
    """{task: images}, {family: ratio} -> samples per epoch (an int)."""
    raise NotImplementedError("exercise 4: write epoch_samples")
''', check='''\
# Check for exercise 4: fails until epoch_samples matches clusir.data.recipe.
from clusir.data import recipe

nhr = ["noise15", "noise25", "noise50", "haze", "rain"]
full = {t: recipe.task_samples(t) // recipe.ratio(t) for t in nhr}   # full releases
got = epoch_samples(full, recipe.EXPANSION_RATIOS)
assert got == recipe.samples_per_epoch(nhr), (got, recipe.samples_per_epoch(nhr))
toy = {"noise25": 10, "rain": 3, "blur": 4, "lowlight": 2}
for low in (20, 200):                                    # the two readings of the paper
    ratios = {**recipe.EXPANSION_RATIOS, "lowlight": low}
    want = recipe.samples_per_epoch(list(toy), sizes=toy, ratios={"lowlight": low})
    assert epoch_samples(toy, ratios) == want == 30 + 360 + 20 + 2 * low, want
assert isinstance(got, int), type(got)
print("epoch_samples: N+H+R full releases =", f"{got:,}", "| both low-light readings")
'''),
]
