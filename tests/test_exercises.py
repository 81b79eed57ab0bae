"""Exercises: every check passes on its solution and fails on its stub; no solution in a reader's notebook;
the prepared copies that the build and nbval run hold the solutions (clusir.exercises)."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from clusir import bookrun, exercises

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = bookrun.chapter_notebooks(ROOT)
ALL = [e for nb in CHAPTERS for e in exercises.exercises(ROOT, nb)]


def _run(*sources):
    ns = {"__name__": "__exercise__"}
    for src in sources:
        exec(compile(src, "<exercise>", "exec"), ns)


def test_every_chapter_has_a_coded_exercise():
    with_stub = {e.chapter for e in ALL}
    assert with_stub == {nb.stem for nb in CHAPTERS}, sorted({nb.stem for nb in CHAPTERS} - with_stub)


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.key)
def test_check_passes_on_the_solution(ex):
    import torch

    torch.set_num_threads(1)
    _run(ex.stub, ex.solution, ex.check)


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.key)
def test_check_fails_on_the_stub(ex):
    with pytest.raises((NotImplementedError, AssertionError)):
        _run(ex.stub, ex.check)


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.key)
def test_stub_is_a_stub(ex):
    assert "raise NotImplementedError" in ex.stub or "..." in ex.stub
    long = [ln for ln in (ex.stub + "\n" + ex.check + "\n" + ex.solution).splitlines() if len(ln) > 88]
    assert not long, f"{ex.key}: lines over 88 characters: {long}"


def _solution_lines(ex):
    """The lines of a solution that carry its content (not imports, signatures, blank or comment lines)."""
    skip = ("import ", "from ", "def ", "class ", "#", "super().__init__()", "return out")
    return [ln.strip() for ln in ex.solution.splitlines()
            if len(ln.strip()) > 12 and not ln.strip().startswith(skip) and ln.strip() not in ex.stub]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_code_in_the_readers_notebook(path):
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        tags = c.get("metadata", {}).get("tags", [])
        assert not (c.source.lstrip().startswith("# A solution") or exercises.SOLUTION_TAG in tags), (
            f"{path.name}: cell {c.get('id')} holds a solution")
    for ex in ALL:
        names = re.findall(r"^(?:def|class) (\w+)", ex.stub, re.M)
        lines = _solution_lines(ex)
        for c in nb.cells:
            if c.get("id") == f"ex-{ex.key}":
                continue
            defined = [n for n in names if re.search(rf"^(?:def|class) {n}\b", c.source, re.M)]
            assert not defined, f"{path.name}: cell {c.get('id')} defines {defined} (solution-{ex.key})"
            found = [ln for ln in lines if ln in c.source]
            assert 5 * len(found) < 4 * len(lines), (
                f"{path.name}: cell {c.get('id')} holds most of solution-{ex.key}: {found}")


def test_solution_lines_are_checked():
    assert all(_solution_lines(ex) for ex in ALL), "every solution has lines the leak test can look for"


def test_inject_puts_each_solution_after_its_stub_and_is_idempotent(tmp_path):
    src = CHAPTERS[1]
    (tmp_path / "book" / "solutions").mkdir(parents=True)
    copy = tmp_path / "book" / src.name
    copy.write_bytes(src.read_bytes())
    page = exercises.solutions_page(ROOT, src.stem)
    (tmp_path / "book" / "solutions" / page.name).write_bytes(page.read_bytes())
    assert exercises.inject(copy, tmp_path) == 1
    assert exercises.inject(copy, tmp_path) == 1
    cells = nbformat.read(copy, as_version=4).cells
    ids = [c.get("id") for c in cells]
    (ex,) = exercises.exercises(ROOT, src)
    i = ids.index(f"ex-{ex.key}")
    assert ids[i + 1] == f"ex-{ex.key}-solution" and ids.count(f"ex-{ex.key}-solution") == 1
    assert ex.solution in cells[i + 1].source and "remove-cell" in cells[i + 1].metadata["tags"]
    assert ids[i + 2] == f"ex-{ex.key}-check"
    assert len(cells) == len(nbformat.read(src, as_version=4).cells) + 1


def test_a_stub_without_a_solution_names_the_page(tmp_path):
    (tmp_path / "book" / "solutions").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    stub = nbformat.v4.new_code_cell("def f():\n    raise NotImplementedError")
    stub["id"], stub.metadata["tags"] = "ex-f", [exercises.STUB_TAG]
    check = nbformat.v4.new_code_cell("assert f() == 1")
    check["id"], check.metadata["tags"] = "ex-f-check", [exercises.CHECK_TAG]
    nb.cells = [stub, check]
    nbformat.write(nb, tmp_path / "book" / "01_x.ipynb")
    (tmp_path / "book" / "solutions" / "01_x.md").write_text("# none\n")
    with pytest.raises(ValueError, match="solution-f in .*01_x.md"):
        exercises.exercises(tmp_path, tmp_path / "book" / "01_x.ipynb")


def test_prepare_copies_every_chapter_with_its_solutions(tmp_path):
    out = tmp_path / "nbval"
    copies = exercises.prepare(ROOT, out)
    assert sorted(c.name for c in copies) == sorted(nb.name for nb in CHAPTERS)   # by name, not TOC order
    for copy in copies:
        cells = nbformat.read(copy, as_version=4).cells
        injected = [c for c in cells if exercises.SOLUTION_TAG in c.metadata.get("tags", [])]
        assert len(injected) == len(exercises.exercises(ROOT, ROOT / "book" / copy.name))
    with pytest.raises(ValueError, match="refusing"):
        exercises.prepare(ROOT, ROOT)


def test_stage_injects_the_solutions(tmp_path):
    src = bookrun.stage(ROOT, tmp_path / "_build")
    staged = nbformat.read(src / "book" / CHAPTERS[0].name, as_version=4)
    assert any(exercises.SOLUTION_TAG in c.metadata.get("tags", []) for c in staged.cells)
    assert not any(exercises.SOLUTION_TAG in c.metadata.get("tags", [])
                   for c in nbformat.read(CHAPTERS[0], as_version=4).cells), "git's copy keeps the stub"


def test_notebooks_are_up_to_date_with_the_apply_script():
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "exercises.py"), "check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_solutions_page_is_in_the_toc():
    listed = set(bookrun.toc_files(ROOT))
    pages = {p.relative_to(ROOT).with_suffix("").as_posix() for p in (ROOT / "book" / "solutions").glob("*.md")}
    assert pages <= listed, sorted(pages - listed)
    assert {f"book/solutions/{nb.stem}" for nb in CHAPTERS} <= pages
