"""Real data-set layouts: fake trees (tiny images in tmp_path) of every layout pass `clusir data check`;
deliberately broken trees fail with a message naming the problem; the loaders read them."""

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clusir.cli import main
from clusir.data import SETTINGS
from clusir.data.io import ImageSizeError
from clusir.data.real import CDD11_TYPES, RealTestSet, RealTrainPairs, check_tree, find

S = 24  # tiny images


def img(path: Path, seed: int = 0, size=(S, S)):
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.random.RandomState(seed).randint(0, 256, (*size, 3)).astype(np.uint8)
    Image.fromarray(a).save(path)


def pair(lq: Path, gt: Path, seed: int = 0):
    img(lq, seed)
    img(gt, seed + 1000)


def adair_tree(root: Path) -> Path:
    """AdaIR / PromptIR: data/Train/*, data/test/*, data_dir lists."""
    for i, n in enumerate(["117025.jpg", "2092.jpg"]):
        img(root / "Train/Denoise" / n, i)
    for i, n in enumerate(["00001.bmp", "00002.bmp"]):
        img(root / "Train/Denoise" / n, 10 + i)
    for i in (1, 2):
        pair(root / f"Train/Derain/rainy/rain-{i}.png", root / f"Train/Derain/gt/norain-{i}.png", i)
    img(root / "Train/Dehaze/original/0025.jpg", 3)
    for ab in ("0.8_0.1", "0.9_0.2"):
        img(root / f"Train/Dehaze/synthetic/part1/0025_{ab}.jpg", 4)
    pair(root / "Train/Deblur/blur/GOPR0372_07_00_000047.png", root / "Train/Deblur/sharp/GOPR0372_07_00_000047.png")
    pair(root / "Train/Enhance/low/2.png", root / "Train/Enhance/gt/2.png")
    img(root / "test/denoise/bsd68/3096.jpg", 5)
    img(root / "test/denoise/kodak24/kodim01.png", 6)
    img(root / "test/denoise/urban100/img_001.png", 7)
    pair(root / "test/derain/Rain100L/input/1.png", root / "test/derain/Rain100L/target/1.png")
    pair(root / "test/dehaze/input/0001_0.8_0.2.jpg", root / "test/dehaze/target/0001.png")
    pair(root / "test/deblur/gopro/input/GOPR0384_11_00_000001.png",
         root / "test/deblur/gopro/target/GOPR0384_11_00_000001.png")
    pair(root / "test/enhance/lol/input/1.png", root / "test/enhance/lol/target/1.png")
    lists = root / "data_dir"
    (lists / "noisy").mkdir(parents=True)
    (lists / "noisy/denoise.txt").write_text("117025.jpg\n2092.jpg\n00001.bmp\n00002.bmp\n")
    (lists / "rainy").mkdir(parents=True)
    (lists / "rainy/rainTrain.txt").write_text("rainy/rain-1.png\nrainy/rain-2.png\n")
    return root


def cdd_tree(base: Path, split_dirs=("cdd11/train", "cdd11/test")) -> None:
    for d in split_dirs:
        for i in (1, 2):
            img(base / d / "clear" / f"00{i}.png", i)
            for t in CDD11_TYPES:
                img(base / d / t / f"00{i}.png", i + 50)


def moce_tree(root: Path) -> Path:
    """MoCE-IR data_file_dir."""
    img(root / "denoising/BSD400/117025.jpg")
    img(root / "denoising/WaterlooED/00001.bmp", 1)
    img(root / "denoising/cBSD68/original_png/3096.png", 2)
    pair(root / "deraining/RainTrainL/rainy/rain-1.png", root / "deraining/RainTrainL/gt/norain-1.png")
    pair(root / "deraining/Rain100L/rainy/rain-1.png", root / "deraining/Rain100L/gt/norain-1.png")
    img(root / "dehazing/RESIDE/clear/0025.jpg")
    img(root / "dehazing/RESIDE/part1/0025_0.8_0.1.jpg", 1)
    pair(root / "dehazing/SOTS/outdoor/hazy/0001_0.8_0.2.jpg", root / "dehazing/SOTS/outdoor/gt/0001.png")
    pair(root / "deblurring/GoPro/crop/train/input_crops/a_1.png",
         root / "deblurring/GoPro/crop/train/target_crops/a_1.png")
    pair(root / "deblurring/GoPro/test/input/b.png", root / "deblurring/GoPro/test/target/b.png")
    pair(root / "llie/LOLv1/Train/input/2.png", root / "llie/LOLv1/Train/target/2.png")
    pair(root / "llie/LOLv1/Test/input/1.png", root / "llie/LOLv1/Test/target/1.png")
    cdd_tree(root)
    return root


def original_tree(root: Path) -> Path:
    """The original releases: BSD400/, WED/, CBSD68/, RainTrainL/ (PReNet), Rain100L/, OTS/, SOTS/outdoor,
    GOPRO_Large/, LOLdataset/, OneRestore's CDD-11_train/CDD-11_test."""
    img(root / "BSD400/117025.jpg")
    img(root / "WED/00001.bmp", 1)
    img(root / "CBSD68/3096.png", 2)
    img(root / "Kodak24/kodim01.png", 3)
    pair(root / "RainTrainL/rain-1.png", root / "RainTrainL/norain-1.png")
    pair(root / "Rain100L/rain-001.png", root / "Rain100L/norain-001.png")
    img(root / "OTS/clear/0025.jpg")
    img(root / "OTS/hazy/part1/0025_1_0.2.jpg", 1)
    pair(root / "SOTS/outdoor/hazy/0001_0.8_0.2.jpg", root / "SOTS/outdoor/gt/0001.png")
    for split, seq in (("train", "GOPR0372_07_00"), ("test", "GOPR0384_11_00")):
        pair(root / f"GOPRO_Large/{split}/{seq}/blur/000047.png", root / f"GOPRO_Large/{split}/{seq}/sharp/000047.png")
        img(root / f"GOPRO_Large/{split}/{seq}/blur_gamma/000047.png")
    pair(root / "LOLdataset/our485/low/2.png", root / "LOLdataset/our485/high/2.png")
    pair(root / "LOLdataset/eval15/low/1.png", root / "LOLdataset/eval15/high/1.png")
    cdd_tree(root, ("CDD-11_train", "CDD-11_test"))
    return root


LAYOUTS = {"adair": adair_tree, "moce": moce_tree, "original": original_tree}


@pytest.fixture(params=sorted(LAYOUTS))
def tree(request, tmp_path):
    root = tmp_path / request.param
    LAYOUTS[request.param](root)
    if request.param == "adair":
        cdd_tree(root)  # AdaIR users keep CDD-11 in MoCE-IR's layout
    return request.param, root


def test_every_layout_passes_every_setting(tree):
    name, root = tree
    for setting in SETTINGS:
        rep = check_tree(setting, root)
        assert rep.ok, rep.format()
    rep = check_tree("nhrbl", root)
    text = rep.format()
    assert "RESULT: OK" in text and "full release has" in text  # counts are warnings, not errors
    expected = {"adair": "AdaIR/PromptIR", "moce": "MoCE-IR", "original": ""}[name]
    assert expected in text
    assert rep.found["gopro_test"]["count"] == 1 and rep.found["cdd11_test" if False else "lol_test"]["count"] == 1


def test_cli_check_ok_and_failure(tmp_path, capsys):
    root = adair_tree(tmp_path / "data")
    assert main(["data", "check", "--setting", "nhrbl", "--root", str(root)]) == 0
    (root / "test/deblur/gopro/target/GOPR0384_11_00_000001.png").unlink()
    assert main(["data", "check", "--setting", "nhrbl", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "GOPR0384_11_00_000001.png" in out and "no ground truth" in out and "RESULT: FAILED" in out
    assert main(["data", "check", "--setting", "nhr", "--root", str(tmp_path / "nope")]) == 2


def _fails(root, setting, *needles, **kw):
    rep = check_tree(setting, root, **kw)
    assert not rep.ok
    text = "\n".join(rep.errors)
    for n in needles:
        assert n in text, f"{n!r} not in:\n{text}"
    return rep


def test_missing_folder(tmp_path):
    root = adair_tree(tmp_path / "d")
    import shutil

    shutil.rmtree(root / "Train/Derain/gt")
    _fails(root, "nhr", "missing folder", "Train/Derain/gt")
    shutil.rmtree(root / "test/dehaze")
    _fails(root, "nhr", "SOTS-outdoor", "not found", "reside")


def test_unpaired_and_stray_files(tmp_path):
    root = adair_tree(tmp_path / "d")
    (root / "Train/Derain/gt/norain-2.png").unlink()
    (root / "test/enhance/lol/target/notes.doc").write_bytes(b"x")
    img(root / "test/enhance/lol/target/99.png")
    _fails(root, "nhrbl", "rain-2.png", "no ground truth", "notes.doc", "non-image", "99.png", "no input")


def test_os_junk_is_ignored_with_a_warning(tmp_path):
    root = adair_tree(tmp_path / "d")
    junk = {"test/enhance/lol/target/Thumbs.db": b"x", "Train/Derain/rainy/.DS_Store": b"\0\0\0\1Bud1",
            "Train/Denoise/desktop.ini": b"[.ShellClassInfo]", "test/dehaze/input/._0001_0.8_0.2.jpg": b"\0\5\26\7"}
    for rel, data in junk.items():
        (root / rel).write_bytes(data)
    rep = check_tree("nhrbl", root)
    assert rep.ok, rep.format()
    warn = "\n".join(rep.warnings)
    for rel in junk:
        assert Path(rel).name in warn and "OS junk" in warn
    assert find("sots_outdoor", root).items[0].lq.name == "0001_0.8_0.2.jpg"  # the ._ fork is not an input
    for rel, data in junk.items():
        assert (root / rel).read_bytes() == data  # nothing is deleted


def test_small_training_images_warned_at_the_paper_crop(tmp_path):
    root = adair_tree(tmp_path / "d")
    rep = check_tree("derain", root)  # S = 24 px images, below configs/paper/one_by_one/derain.yaml's 128
    assert rep.ok
    warn = "\n".join(rep.warnings)
    assert "smaller than 128 px" in warn and "derain.yaml" in warn and "rain-1.png" in warn
    assert "smaller than" not in "\n".join(check_tree("derain", root, min_size=0).warnings)
    assert "smaller than 16 px" not in "\n".join(check_tree("derain", root, min_size=16).warnings)


def test_list_entries_missing_on_disk(tmp_path):
    root = adair_tree(tmp_path / "d")
    (root / "data_dir/hazy").mkdir()
    (root / "data_dir/hazy/hazy_outside.txt").write_text(
        "synthetic/part1/0025_0.8_0.1.jpg\nsynthetic/part1/0025_0.9_0.2.jpg\nsynthetic/part2/0099_1_0.2.jpg\n")
    (root / "data_dir/rainy/rainTrain.txt").write_text("rainy/rain-1.png\nrainy/rain-2.png\nrainy/rain-7.png\n")
    (root / "data_dir/noisy/denoise.txt").write_text("117025.jpg\n2092.jpg\n00001.bmp\n00002.bmp\n00009.bmp\n")
    rep = check_tree("nhr", root)
    assert rep.ok
    warn = "\n".join(rep.warnings)
    for lst, name in (("hazy_outside.txt", "synthetic/part2/0099_1_0.2.jpg"), ("rainTrain.txt", "rainy/rain-7.png"),
                      ("denoise.txt", "00009.bmp")):
        assert any(lst in w and "1 file(s) missing on disk" in w and name in w for w in rep.warnings), warn
    _fails(root, "nhr", "missing on disk", strict=True)


def test_promptir_root_suggests_the_parent(tmp_path):
    """PromptIR keeps Train/ under data/ but test/ at the repository root: --root repo/data must say so."""
    repo = tmp_path / "PromptIR"
    adair_tree(repo / "data")
    import shutil

    shutil.move(str(repo / "data/test"), str(repo / "test"))
    assert check_tree("nhr", repo).ok  # the repository root: Train/ found under data/, test/ at the top
    rep = _fails(repo / "data", "nhr", "CBSD68 (denoising test): not found", f"pass --root {repo}")
    assert "parent folder" in "\n".join(rep.errors)
    with pytest.raises(FileNotFoundError, match=f"pass --root {repo}"):
        RealTestSet("nhr", repo / "data")


def test_nested_folder_is_named(tmp_path):
    root = adair_tree(tmp_path / "d")
    import shutil

    inner = root / "Train/Derain/Rain100L"  # unpacked one level too deep
    inner.mkdir()
    for sub in ("rainy", "gt"):
        shutil.move(str(root / "Train/Derain" / sub), str(inner / sub))
    _fails(root, "derain", "missing folder", "found: Rain100L", f"one level deeper, in {inner}")
    kodak = root / "test/denoise/kodak24"
    (kodak / "Kodak24").mkdir()
    shutil.move(str(kodak / "kodim01.png"), str(kodak / "Kodak24/kodim01.png"))
    _fails(root, "denoise", f"its sub-folder {kodak / 'Kodak24'} holds 1", "nested one level too deep")
    whole = tmp_path / "outer"
    shutil.move(str(root), str(whole / "adair-data"))
    _fails(whole, "dehaze", f"one folder deeper, in {whole / 'adair-data'}")


def test_unreadable_truncated_and_mismatched(tmp_path):
    root = adair_tree(tmp_path / "d")
    (root / "test/derain/Rain100L/input/1.png").write_bytes(b"garbage")
    p = root / "Train/Enhance/gt/2.png"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    img(root / "test/deblur/gopro/target/GOPR0384_11_00_000001.png", size=(S, S + 8))
    rep = _fails(root, "nhrbl", "Rain100L/input/1.png", "not a recognised image", "Enhance/gt/2.png",
                 "mismatched pair", "GOPR0384_11_00_000001.png")
    assert "truncated" in "\n".join(rep.errors) or "corrupt" in "\n".join(rep.errors)


def test_bsd400_a_prefix_and_rain_list(tmp_path):
    root = adair_tree(tmp_path / "d")
    (root / "data_dir/noisy/denoise.txt").write_text("a117025.jpg\na2092.jpg\n00001.bmp\n00002.bmp\n")
    (root / "data_dir/rainy/rainTrain.txt").write_text("rain-1.png\n")
    rep = check_tree("nhr", root)
    assert rep.ok  # clusir reads the folders, so a stale list is a warning ...
    warn = "\n".join(rep.warnings)
    assert "'a' prefix" in warn and "a117025.jpg vs 117025.jpg" in warn and "AdaIR#4" in warn
    assert "rainTrain.txt names 1 file(s) missing on disk" in warn
    assert "rainy/rain-N.png" in warn
    _fails(root, "nhr", "'a' prefix", strict=True)  # ... and an error with --strict


def test_cdd_missing_type(tmp_path):
    root = tmp_path / "d"
    cdd_tree(root)
    import shutil

    shutil.rmtree(root / "cdd11/test/low_haze_snow")
    _fails(root, "cdd11", "low_haze_snow", "CDD-11 has 11")


def test_real_loaders(tmp_path):
    root = adair_tree(tmp_path / "d")
    ts = RealTestSet("nhrbl", root)
    tasks = [e[0] for e in ts.entries]
    assert tasks.count("noise25") == 3 and {"haze", "rain", "blur", "lowlight"} <= set(tasks)
    it = ts[0]
    assert it["lq"].shape == it["gt"].shape == (3, 16, 16)  # cropped to a multiple of 16
    again = RealTestSet("nhrbl", root)[0]
    assert bool((again["lq"] == it["lq"]).all())  # noise seeded by file name
    tr = RealTrainPairs("nhr", root, crop=16, length=10, seed=1)
    x = tr[3]
    assert x["lq"].shape == (3, 16, 16) and x["task"] in SETTINGS["nhr"]
    with pytest.raises(ImageSizeError, match=r"smaller than the required 32x32"):
        for i in range(10):
            RealTrainPairs("nhr", root, crop=32, length=10)[i]
    found = find("ots", root)
    assert len(found.items) == 2 and all(p.gt.name == "0025.jpg" for p in found.items)


def test_miniaio_check_passes_for_every_setting():
    for setting in SETTINGS:
        rep = check_tree(setting)
        assert rep.ok, rep.format()
    assert main(["data", "check", "--setting", "nhr"]) == 0


def test_download_fails_fast_offline(monkeypatch, capsys, tmp_path):
    import time

    def offline(*a, **k):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    t0 = time.perf_counter()
    assert main(["data", "download", "--dataset", "kodak24", "--root", str(tmp_path)]) == 2
    assert time.perf_counter() - t0 < 5
    err = capsys.readouterr().err
    assert "offline" in err and "r0k.us" in err
    assert main(["data", "download", "--dataset", "sots_outdoor", "--root", str(tmp_path)]) == 2
    assert "no stable direct URL" in capsys.readouterr().err


def test_adding_a_data_set_is_one_registry_entry(tmp_path, monkeypatch):
    """The docs/data.md recipe: a new data set (here Rain100H test, in AdaIR's layout) is one DatasetInfo."""
    from clusir.data import layouts

    monkeypatch.setattr(layouts, "DATASETS", dict(layouts.DATASETS))  # undo the registration afterwards
    layouts.register(layouts.DatasetInfo(
        "rain100h_test", "Rain100H test", "rain", "test", 100, "JORDER (Yang et al.)",
        (layouts.Layout("AdaIR/PromptIR", "test/derain/Rain100H", layouts.two_folders("input", "target")),)))
    pair(tmp_path / "test/derain/Rain100H/input/1.png", tmp_path / "test/derain/Rain100H/target/1.png")
    f = find("rain100h_test", tmp_path)
    assert f.layout == "AdaIR/PromptIR" and [p.name for p in f.items] == ["1"] and not f.problems
    with pytest.raises(ValueError, match="registered twice"):
        layouts.register(layouts.DATASETS["rain100h_test"])
