"""clusir.metrics against scikit-image, on numpy and torch inputs."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from clusir import metrics
from clusir.data.io import crop_to_multiple


@pytest.fixture(scope="module")
def pair():
    rs = np.random.RandomState(0)
    gt = np.clip(np.cumsum(rs.rand(40, 52, 3) - 0.5, axis=1) * 0.1 + 0.5, 0, 1)
    pred = np.clip(gt + 0.05 * rs.randn(*gt.shape), 0, 1)
    return pred, gt


def test_psnr_matches_skimage(pair):
    pred, gt = pair
    assert metrics.psnr(pred, gt) == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=1.0), abs=1e-10)
    assert metrics.psnr(gt, gt) == float("inf")


def test_ssim_conventions_match_skimage(pair):
    pred, gt = pair
    ref7 = structural_similarity(pred, gt, data_range=1.0, channel_axis=-1)
    ref11 = structural_similarity(pred, gt, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False)
    assert metrics.ssim(pred, gt, convention="skimage7") == pytest.approx(ref7, abs=1e-10)
    assert metrics.ssim(pred, gt, convention="gaussian11") == pytest.approx(ref11, abs=1e-10)
    assert abs(ref7 - ref11) > 1e-3  # the conventions really differ: label them
    assert set(metrics.SSIM_CONVENTIONS) == {"skimage7", "gaussian11"}
    with pytest.raises(ValueError, match="convention"):
        metrics.ssim(pred, gt, convention="matlab")


def test_torch_chw_and_batch(pair):
    pred, gt = pair
    tp = torch.from_numpy(pred).permute(2, 0, 1).float()
    tg = torch.from_numpy(gt).permute(2, 0, 1).float()
    assert metrics.psnr(tp, tg) == pytest.approx(metrics.psnr(pred, gt), abs=1e-4)
    assert metrics.ssim(tp, tg) == pytest.approx(metrics.ssim(pred, gt), abs=1e-5)
    batch_p, batch_g = torch.stack([tp, tg]), torch.stack([tg, tg])
    vals = metrics.psnr(batch_p, batch_g, reduction="none")
    assert len(vals) == 2 and vals[1] == float("inf")
    with pytest.raises(ValueError, match="shape"):
        metrics.psnr(tp, tg[:, :-1])


def test_protocol_crops_to_16_and_clamps(pair):
    pred, gt = pair
    out = metrics.protocol(pred * 1.3, gt)
    p, g = crop_to_multiple(pred * 1.3, 16), crop_to_multiple(gt, 16)
    assert p.shape == (32, 48, 3)
    assert out["psnr"] == pytest.approx(metrics.psnr(np.clip(p, 0, 1), g))
    assert out["ssim_convention"] == "skimage7"


def test_y_psnr_is_labelled_secondary(pair):
    pred, gt = pair
    y = metrics.psnr_y(pred, gt)
    assert np.isfinite(y) and y != metrics.psnr(pred, gt)
