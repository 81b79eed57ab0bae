"""Chapter conventions, checked on every notebook in book/ (see book/appendix_contributing.md)."""

import ast
from pathlib import Path

import nbformat
import pytest
import yaml

from clusir import bookrun
from clusir.book import REPOSITORY_URL, colab_install_source

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = bookrun.chapter_notebooks(ROOT)
NOTEBOOKS = CHAPTERS + [ROOT / "book" / "_template.ipynb"]
PARTS = ["Foundations", "The router", "Frequency modulation", "The full model", "Experiments", "Comparisons",
         "Appendix"]


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def nb(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_every_notebook_in_book_is_in_the_toc():
    listed = {p.resolve() for p in CHAPTERS}
    on_disk = {p.resolve() for p in (ROOT / "book").glob("*.ipynb") if not p.name.startswith("_")}
    assert on_disk == listed, f"not in _toc.yml: {sorted(p.name for p in on_disk - listed)}"


def test_toc_parts_are_in_book_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    captions = [p["caption"] for p in toc["parts"]]
    assert set(captions) <= set(PARTS), captions
    assert captions == sorted(captions, key=PARTS.index)
    assert captions[-1] == "Appendix"


def test_repository_url_in_one_place():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["repository"]["url"] == REPOSITORY_URL
    assert cfg["execute"]["execute_notebooks"] == "off", "papermill executes the chapters, not Jupyter Book"


def test_kernel_and_valid_notebook(nb):
    path, book = nb
    nbformat.validate(book)
    assert book.metadata["kernelspec"]["name"] == "python3"


def test_parameters_cell_is_plain_and_quick(nb):
    path, book = nb
    params = [c for c in book.cells if "parameters" in _tags(c)]
    assert len(params) == 1, f"{path.name}: exactly one parameters cell"
    tree = ast.parse(params[0].source)
    names = []
    for stmt in tree.body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, f"{path.name}: one plain assignment per line"
        assert isinstance(stmt.targets[0], ast.Name)
        ast.literal_eval(stmt.value)  # raises on anything derived
        names.append(stmt.targets[0].id)
    assert names[:3] == ["QUICK", "DEVICE", "SEED"]
    assert ast.literal_eval(tree.body[0].value) is True, f"{path.name}: QUICK must default to True"


def test_setup_cell_follows_parameters(nb):
    path, book = nb
    idx = next(i for i, c in enumerate(book.cells) if "parameters" in _tags(c))
    nxt = next(c for c in book.cells[idx + 1:] if c.cell_type == "code")
    assert "clusir.book.setup(" in nxt.source, f"{path.name}: the cell after parameters calls clusir.book.setup"


def test_colab_cell_is_the_canonical_one(nb):
    path, book = nb
    cells = [c for c in book.cells if c.cell_type == "code" and "google.colab" in c.source]
    assert len(cells) == 1, f"{path.name}: one Colab install cell"
    assert cells[0].source == colab_install_source(REPOSITORY_URL)
    assert "remove-cell" in _tags(cells[0])


def test_only_contract_outputs_are_stored(nb):
    path, book = nb
    for c in book.cells:
        if c.cell_type != "code":
            continue
        if bookrun.CONTRACT_TAG in _tags(c):
            continue
        assert not c.outputs, f"{path.name}: cell {c.get('id')} stores outputs but is not a contract cell"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_executed_contract_cells(path):
    book = nbformat.read(path, as_version=4)
    contract = [c for c in book.cells if bookrun.CONTRACT_TAG in _tags(c)]
    assert contract, f"{path.name}: at least one contract cell"
    for c in contract:
        assert c.execution_count is not None and c.outputs, (
            f"{path.name}: contract cell {c.get('id')} has no stored output; run `clusir book run --refresh {path.stem}`")
        for o in c.outputs:
            assert o.get("output_type") in ("stream", "execute_result")


#: The chapter that implements each of the paper's equations (issue: every equation 1-15 appears there).
EQUATION_CHAPTERS = {1: "03", 2: "03", 3: "03", 4: "04", 5: "04", 6: "04", 7: "05", 8: "05", 9: "05", 10: "05",
                     11: "07", 12: "07", 13: "07", 14: "08", 15: "08"}


def test_every_equation_is_shown_in_its_chapter():
    import re

    tags = {}
    for path in CHAPTERS:
        book = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
        tags[path.stem.split("_", 1)[0]] = {int(t) for t in re.findall(r"\\tag\{(\d+)\}", text)}
    missing = [eq for eq, ch in EQUATION_CHAPTERS.items() if eq not in tags.get(ch, set())]
    assert not missing, f"equations not shown (with \\tag) in their chapter: {missing}"
