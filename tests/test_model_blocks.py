"""Building blocks: common, WTB, prompts (clusir.model.common / wtb / prompts)."""

import torch

from clusir.model.common import MDTA, LayerNorm2d, TransformerBlock, pad_to_multiple
from clusir.model.prompts import PromptGenBlock, SemanticPromptFusion
from clusir.model.wtb import WTB, WaveAttention


def test_layernorm2d_normalises_channels():
    y = LayerNorm2d(6)(torch.randn(2, 6, 4, 4) * 5 + 3)
    torch.testing.assert_close(y.mean(1), torch.zeros(2, 4, 4), atol=1e-5, rtol=0)


def test_pad_to_multiple():
    x = torch.rand(1, 3, 35, 17)
    y, size = pad_to_multiple(x, 16)
    assert y.shape[-2:] == (48, 32) and size == (35, 17)
    torch.testing.assert_close(y[..., :35, :17], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 3, 3, 5), 16)                      # too small to reflect
    assert tiny.shape[-2:] == (16, 16)


def test_restormer_blocks_keep_shape():
    x = torch.randn(2, 8, 6, 10)
    assert MDTA(8, 2)(x).shape == x.shape and TransformerBlock(8, 2)(x).shape == x.shape


def test_wtb_shapes_sr_and_gradients():
    for sr, size in ((1, (4, 6)), (2, (8, 12)), (4, (16, 8))):
        attn = WaveAttention(16, heads=2, sr=sr)
        x = torch.randn(2, 16, *size, requires_grad=True)
        y = attn(x)
        assert y.shape == x.shape
        y.sum().backward()
        assert x.grad.abs().sum() > 0 and attn.filter[0].weight.grad.abs().sum() > 0
    assert WTB(8, 1, 2)(torch.randn(1, 8, 8, 8)).shape == (1, 8, 8, 8)


def test_wave_attention_key_value_tokens_come_from_the_dwt_downsampled_copy():
    """Queries: H·W tokens; keys/values: (H / 2sr)·(W / 2sr) tokens (DWT halves, then stride sr)."""
    for sr in (1, 2, 4):
        attn = WaveAttention(8, heads=2, sr=sr)
        seen = []
        attn.kv.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
        attn(torch.randn(2, 8, 16, 32))
        assert seen == [(2, (16 // (2 * sr)) * (32 // (2 * sr)), 16)]


def test_semantic_prompt_fusion_and_pgb():
    fusion = SemanticPromptFusion((4, 8, 16, 32), prompt_dim=16, prompt_heads=4)
    prompts = [torch.randn(2, c) for c in (4, 8, 16)]
    p_hat = fusion(prompts, torch.randn(2, 2, 32))
    assert len(p_hat) == 3 and all(p.shape == (2, 16) for p in p_hat)
    pgb = PromptGenBlock(16, channels=8, size=4, components=3)
    out = pgb(p_hat[0], (10, 6))
    assert out.shape == (2, 8, 10, 6)
    out.sum().backward()
    assert pgb.components.grad.abs().sum() > 0 and pgb.weights.weight.grad.abs().sum() > 0
