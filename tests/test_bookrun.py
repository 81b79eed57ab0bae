"""The book pipeline: table of contents, chapter selection, papermill execution and contract-output refresh."""

import json
from pathlib import Path

import nbformat
import pytest

from clusir import bookrun

ROOT = Path(__file__).resolve().parents[1]


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, (src, tags) in enumerate(cells):
        c = nbformat.v4.new_code_cell(src)
        c["id"] = f"c{i}"
        if tags:
            c.metadata["tags"] = tags
        nb.cells.append(c)
    return nb


@pytest.fixture
def tiny_book(tmp_path):
    (tmp_path / "clusir").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "_config.yml").write_text("title: t\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: A\n    chapters:\n      - file: book/01_one\n"
        "      - file: book/02_two\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    nb1 = _notebook([("QUICK = True", ["parameters"]),
                     ("size = 8 if QUICK else 64", []),
                     ("print('size', size)", ["nbval-check-output"]),
                     ("print('noise', 0.123)", [])])
    nbformat.write(nb1, tmp_path / "book" / "01_one.ipynb")
    nb2 = _notebook([("QUICK = True", ["parameters"]), ("raise RuntimeError('broken chapter')", [])])
    nbformat.write(nb2, tmp_path / "book" / "02_two.ipynb")
    return tmp_path


def test_toc_files_of_the_real_book():
    files = bookrun.toc_files(ROOT)
    assert files[0] == "book/00_introduction"
    assert all((ROOT / f).with_suffix(".ipynb").exists() or (ROOT / f).with_suffix(".md").exists() for f in files)


def test_toc_missing_file_is_reported(tiny_book):
    (tiny_book / "book" / "02_two.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match="02_two"):
        bookrun.chapter_notebooks(tiny_book)


def test_select_by_number_and_name(tiny_book):
    nbs = bookrun.chapter_notebooks(tiny_book)
    assert [p.stem for p in bookrun.select(nbs, ["02"])] == ["02_two"]
    assert [p.stem for p in bookrun.select(nbs, ["01_one", "01"])] == ["01_one"]
    with pytest.raises(ValueError, match="no chapter called 'zz'"):
        bookrun.select(nbs, ["zz"])


def test_run_refresh_and_failure_report(tiny_book):
    runs, src = bookrun.run_chapters(tiny_book, "full", build=tiny_book / "_build")
    by = {r.chapter: r for r in runs}
    assert by["01_one"].ok and not by["02_two"].ok
    assert "broken chapter" in by["02_two"].error
    timings = json.loads((tiny_book / "_build" / "timings-full.json").read_text())
    assert [c["chapter"] for c in timings["chapters"]] == ["01_one", "02_two"]
    # the sources were not executed in place
    assert all(not c.outputs for c in nbformat.read(tiny_book / "book" / "01_one.ipynb", 4).cells)
    executed = nbformat.read(src / "book" / "01_one.ipynb", 4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata["tags"]
    # papermill injected QUICK=False: the derived value follows it
    n = bookrun.refresh_outputs(src / "book" / "01_one.ipynb", tiny_book / "book" / "01_one.ipynb")
    assert n == 1
    cells = nbformat.read(tiny_book / "book" / "01_one.ipynb", 4).cells
    contract = [c for c in cells if "nbval-check-output" in c.metadata.get("tags", [])][0]
    assert contract.outputs[0]["text"] == "size 64\n"
    assert contract.execution_count is not None
    others = [c for c in cells if c is not contract]
    assert all(not c.outputs and c.execution_count is None for c in others)


def test_refresh_refuses_stale_executed_copy(tiny_book, tmp_path):
    src = tiny_book / "book" / "01_one.ipynb"
    stale = tmp_path / "stale.ipynb"
    nb = nbformat.read(src, 4)
    nb.cells[2].source = "print('changed')"
    nbformat.write(nb, stale)
    with pytest.raises(ValueError, match="re-run the chapter"):
        bookrun.refresh_outputs(stale, src)
