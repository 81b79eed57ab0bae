"""clusir.data.degradations: pure, seeded, documented parameters, the PromptIR noise convention."""

import numpy as np
import pytest

from clusir.data import degradations as D


@pytest.fixture(scope="module")
def img():
    from clusir.data import load_clean

    return np.array(dict(load_clean("ci"))["ci_skimage_coffee"])


@pytest.mark.parametrize("task", D.TASKS)
def test_every_task_is_pure_and_8bit(img, task):
    a, pa = D.degrade(img, task, 123)
    b, pb = D.degrade(img, task, np.random.RandomState(123))
    assert a.dtype == np.float32 and a.shape == img.shape
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert np.array_equal(a, b)
    assert pa["task"] == task
    assert np.array_equal(np.rint(a * 255) / 255, a.astype(np.float64)) or np.allclose(np.rint(a * 255), a * 255,
                                                                                          atol=1e-4)
    assert not np.array_equal(a, img)
    c, _ = D.degrade(img, task, 124)
    if not task.startswith("jpeg"):
        assert not np.array_equal(a, c)


def test_noise_is_promptir_convention(img):
    rs = np.random.RandomState(7)
    out, p = D.add_gaussian_noise(img, 25, rs)
    np.random.seed(7)
    clean = np.rint(img.astype(np.float64) * 255)
    ref = np.clip(clean + np.random.randn(*img.shape) * 25, 0, 255).astype(np.uint8)  # truncation, as PromptIR
    assert np.array_equal(np.rint(out * 255).astype(np.uint8), ref)
    assert p == {"sigma": 25.0, "convention": "promptir"}


def test_explicit_parameters_reproduce(img):
    a, p = D.add_haze(img, 5)
    b, _ = D.add_haze(img, 5, k=p["k"], A=p["A"])
    assert np.array_equal(a, b)
    c, _ = D.add_haze(img, 5, k=p["k"] / 2)  # same depth map and airlight, thinner haze
    assert np.abs(c - img).mean() < np.abs(a - img).mean()
    r1, q = D.add_rain(img, 9)
    assert set(q) >= {"density", "length", "angle", "brightness", "width"}
    l1, lp = D.add_low_light(img, 3)
    l2, _ = D.add_low_light(img, 3, k=lp["k"], gains=lp["gains"], lambda_shot=lp["lambda_shot"],
                            lambda_read=lp["lambda_read"])
    assert np.array_equal(l1, l2)


def test_haze_monotone_in_depth(img):
    depth = np.tile(np.linspace(0, 1, img.shape[1], dtype=np.float32), (img.shape[0], 1))
    out, p = D.add_haze(img, 0, depth=depth, k=2.0, A=1.0)
    near = np.abs(out[:, :5] - img[:, :5]).mean()
    far = np.abs(out[:, -5:] - img[:, -5:]).mean()
    assert near < far and p["t_min"] == pytest.approx(np.exp(-2.0), rel=1e-3)
    with pytest.raises(ValueError, match="depth map"):
        D.add_haze(img, 0, depth=depth[:-1])


def test_motion_kernel_is_a_psf():
    for s in range(5):
        k, p = D.motion_kernel(s)
        assert k.shape == (33, 33) and k.min() >= 0 and k.sum() == pytest.approx(1.0)
        assert p["extent"] <= 30
    k, _ = D.motion_kernel(0, length=20, curvature=0, shake_prob=0, centripetal=0, exposure=1.0)
    ys, xs = np.nonzero(k > 1e-3)
    assert max(np.ptp(ys), np.ptp(xs)) >= 15  # a straight 20-px stroke


def test_rain_is_single_direction():
    layer, p = D.rain_layer(128, 128, 0, angle=0.0, density=0.002)
    # vertical streaks: strong correlation between vertically adjacent pixels, weak horizontally
    v = np.corrcoef(layer[1:].ravel(), layer[:-1].ravel())[0, 1]
    h = np.corrcoef(layer[:, 1:].ravel(), layer[:, :-1].ravel())[0, 1]
    assert v > 0.8 and h < 0.6


def test_lowlight_is_dark_and_jpeg_quality(img):
    dark, _ = D.add_low_light(img, 1)
    assert dark.mean() < 0.6 * img.mean()
    q10, p = D.jpeg_compress(img, 10)
    q40, _ = D.jpeg_compress(img, 40)
    assert np.abs(q10 - img).mean() > np.abs(q40 - img).mean()
    with pytest.raises(ValueError, match="quality"):
        D.jpeg_compress(img, 0)


def test_cdd_types_and_order(img):
    assert len(D.CDD11_TASKS) == 11
    with pytest.raises(ValueError, match="CDD-11"):
        D.cdd_composite(img, "rain_snow")  # not one of the 11 types
    _, p = D.cdd_composite(img, ("haze", "low", "rain"), 0)
    assert p["type"] == "low_haze_rain" and {"low", "rain", "haze"} <= set(p)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown task"):
        D.degrade(np.zeros((8, 8, 3), np.float32), "fog")
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        D.degrade(np.zeros((8, 8), np.float32), "rain")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        D.degrade(np.full((8, 8, 3), 2.0, np.float32), "rain")
    with pytest.raises(TypeError):
        D.as_rng("seed")


def test_stable_seeds():
    assert D.stable_seed("a", 1) == D.stable_seed("a", 1) != D.stable_seed("a", 2)
    assert D.stable_seed("MiniAIO-v1", "noise25", "skimage_coffee") == 52959271
    assert D.seed_from_name("kodim01.png") == 945499492
