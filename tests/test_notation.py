"""The notation page covers Eqs. 1-15, and every `Class.attribute` it names exists in clusir."""

import dataclasses
import re
from pathlib import Path

import nbformat

from clusir.model import build_model

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "book" / "notation.md").read_text(encoding="utf-8")


def _covered():
    eqs = set()
    for a, b in re.findall(r"Eqs?\. (\d+)(?:–(\d+))?", PAGE):
        eqs |= set(range(int(a), int(b or a) + 1))
    return eqs


def test_every_equation_has_a_section():
    assert set(range(1, 16)) <= _covered()


def _instances():
    found = {}
    for model in (build_model("nano"), build_model("nano", moe="flat")):
        for m in model.modules():
            found.setdefault(type(m).__name__, m)
    return found


def test_every_named_attribute_exists():
    import clusir.model.pcgrm as pcgrm
    import clusir.model.routing as routing

    instances = _instances()
    records = {c.__name__: {f.name for f in dataclasses.fields(c)}
               for c in (pcgrm.PosteriorOutput, pcgrm.GateOutput, routing.StageRouting, routing.RoutedOutput)}
    names = set(re.findall(r"`([A-Z][A-Za-z]+)\.([a-z_]+)", PAGE))
    assert len(names) > 20
    missing = []
    for cls, attr in sorted(names):
        if cls in records:
            ok = attr in records[cls]
        else:
            ok = cls in instances and hasattr(instances[cls], attr)
        if not ok:
            missing.append(f"{cls}.{attr}")
    assert not missing, f"named on the notation page but not in clusir: {missing}"


def test_config_fields_exist():
    cfg = build_model("nano").config
    for field in set(re.findall(r"`cfg\.([a-z_0-9]+)", PAGE)):
        assert hasattr(cfg, field), field


def test_chapters_3_to_9_link_to_it():
    for path in sorted((ROOT / "book").glob("0[3-9]_*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        assert any("(notation.md)" in c.source for c in cells if c.cell_type == "markdown"), path.name
