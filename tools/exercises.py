"""Apply the teaching cells to the chapter notebooks: exercise stubs and checks, diagrams, notation links.

    python tools/exercises.py apply     # edit book/NN_*.ipynb in place (only what is missing)
    python tools/exercises.py check     # exit 1 if `apply` would change a notebook

Idempotent: every cell it adds has a fixed id, and a cell with that id is never added twice or overwritten,
so re-running it after other edits to the chapters only fills in what is missing. What it does, per chapter:

* each exercise of ``tools/exercises_spec.py``: the old solution cell (source starting "# A solution to
  exercise N", tag ``hide-cell``) becomes the stub ``ex-<key>``, the old "# Check for exercise N" cell
  becomes the asserting check ``ex-<key>-check``; a chapter without them gets both at its end; an intro
  markdown cell ``ex-<key>-intro`` goes before the stub. The solution itself lives in
  ``book/solutions/<chapter>.md`` (see ``clusir.exercises``); the phrase "(a solution is in the hidden
  cell)" in the exercise lists is rewritten to point there;
* the drawn diagrams (``clusir.diagrams``): the network in chapters 0 and 9, PCGRM in 4 and 5, DAFMM in 7
  and 8, each a ``hide-input`` code cell placed by a heading it follows or precedes;
* chapters 3-9: a link to the notation page after the title cell;
* ``book/_template.ipynb``: an example exercise (intro, stub, check);
* then the syllabus tables (``python -m clusir.syllabus --write``), which count the chapters' words, code
  and exercises.

Cells are located by id first and by their heading or first line otherwise, so the script survives other
edits to the notebooks (outputs, tags, new cells).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from clusir.exercises import CHECK_TAG, STUB_TAG, read_solutions, solutions_page  # noqa: E402
from exercises_spec import EXERCISES  # noqa: E402

NOTATION_LINK = ("*Notation.* Every symbol of Eqs. 1–15, what it means, its shape in the code and the "
                 "variable that holds it are collected on the [notation page](notation.md).")
NOTATION_CHAPTERS = ("03", "04", "05", "06", "07", "08", "09")

_DIAGRAM = '''\
# Drawn from a real forward pass: every shape on the diagram was recorded by a hook.
from clusir.diagrams import {fn}

{fn}({args});
'''

#: (chapter, cell id, "before"/"after", heading the cell is placed by, function, arguments)
DIAGRAMS = [
    ("00", "diagram-network", "before", "## Road map", "network_diagram", 'preset="nano", size=64'),
    ("09", "diagram-network", "before", "## Following a tensor", "network_diagram",
     'preset="nano", size=64'),
    ("04", "diagram-pcgrm", "after", "## Where stage 1 sits", "pcgrm_diagram",
     'preset="nano", size=64, highlight="stage 1"'),
    ("05", "diagram-pcgrm", "after", "## From clusters to experts", "pcgrm_diagram",
     'preset="nano", size=64, highlight="stage 2"'),
    ("07", "diagram-dafmm", "after", "## The FSB", "dafmm_diagram",
     'preset="nano", size=64, highlight="FSB"'),
    ("08", "diagram-dafmm", "after", "## The whole DAFMM", "dafmm_diagram",
     'preset="nano", size=64, highlight="modulation"'),
]

_HIDDEN = re.compile(r"\(([Aa]) solution is in the\s+hidden cell(\.?)\)")


def _code(source: str, cid: str, tags: list[str]):
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = cid
    cell.metadata["tags"] = list(tags)
    return cell


def _markdown(source: str, cid: str):
    cell = nbformat.v4.new_markdown_cell(source)
    cell["id"] = cid
    return cell


def _find(nb, pred) -> int | None:
    return next((i for i, c in enumerate(nb.cells) if pred(c)), None)


def _starts(prefix: str, kind: str = "code"):
    return lambda c: c.cell_type == kind and c.source.lstrip().startswith(prefix)


def _apply_exercise(nb, ex: dict, notes: list[str], root: Path, stem: str) -> None:
    key, n = ex["key"], ex["number"]
    ids = {c.get("id") for c in nb.cells}
    if f"ex-{key}" not in ids:
        old = _find(nb, _starts(f"# A solution to exercise {n}"))
        stub = _code(ex["stub"].rstrip("\n"), f"ex-{key}", [STUB_TAG])
        if old is not None:
            sols = read_solutions(solutions_page(root, stem))
            body = nb.cells[old].source.split("\n", 1)[-1].strip()
            if key not in sols or body.splitlines()[-1].strip() not in sols[key]:
                notes.append(f"{stem}: the removed solution cell differs from book/solutions ({key}); "
                             "compare them:\n" + nb.cells[old].source)
            nb.cells[old] = stub
        else:
            nb.cells.append(stub)
        notes.append(f"{stem}: stub ex-{key}")
    if f"ex-{key}-check" not in ids:
        check = _code(ex["check"].rstrip("\n"), f"ex-{key}-check", [CHECK_TAG])
        old = _find(nb, _starts(f"# Check for exercise {n}"))
        at = _find(nb, lambda c: c.get("id") == f"ex-{key}")
        if old is not None and not nb.cells[old].get("id", "").startswith("ex-") and old > at:
            nb.cells[old] = check
        else:
            if old is not None and not nb.cells[old].get("id", "").startswith("ex-"):
                notes.append(f"{stem}: old check cell before the stub removed:\n" + nb.cells[old].source)
                del nb.cells[old]                       # a check above its stub could not run
            nb.cells.insert(_find(nb, lambda c: c.get("id") == f"ex-{key}") + 1, check)
        notes.append(f"{stem}: check ex-{key}-check")
    if f"ex-{key}-intro" not in ids:
        at = _find(nb, lambda c: c.get("id") == f"ex-{key}")
        page = f"solutions/{stem}.md"
        nb.cells.insert(at, _markdown(ex["intro"].rstrip("\n") + f" Its solution is on the page "
                                      f"[Solutions]({page}); in the rendered book the check's output "
                                      "comes from that solution.", f"ex-{key}-intro"))
        notes.append(f"{stem}: intro ex-{key}-intro")


def _apply_diagram(nb, spec, notes: list[str], stem: str) -> None:
    _, cid, where, heading, fn, args = spec
    if _find(nb, lambda c: c.get("id") == cid) is not None:
        return
    at = _find(nb, _starts(heading, "markdown"))
    if at is None:
        at = _find(nb, lambda c: c.cell_type == "markdown" and "## Summary" in c.source)
        where = "before"
        notes.append(f"{stem}: heading {heading!r} not found; {cid} placed before the summary")
    nb.cells.insert(at + (where == "after"), _code(_DIAGRAM.format(fn=fn, args=args).rstrip("\n"), cid,
                                                   ["hide-input"]))
    notes.append(f"{stem}: {cid}")


def apply_notebook(path: Path, root: Path = ROOT) -> list[str]:
    """Bring one chapter up to date; returns what changed (empty: nothing to do, file untouched)."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    stem, num = path.stem, path.stem.split("_", 1)[0]
    notes: list[str] = []
    for ex in (e for e in EXERCISES if e["chapter"] == num):
        _apply_exercise(nb, ex, notes, root, stem)
    for spec in (d for d in DIAGRAMS if d[0] == num):
        _apply_diagram(nb, spec, notes, stem)
    if num in NOTATION_CHAPTERS and _find(nb, lambda c: c.get("id") == "notation-link") is None:
        nb.cells.insert(1, _markdown(NOTATION_LINK, "notation-link"))
        notes.append(f"{stem}: notation link")
    for c in nb.cells:
        if c.cell_type == "markdown" and _HIDDEN.search(c.source):
            c.source = _HIDDEN.sub(r"(\1 solution is on the chapter's page in *Solutions*\2)", c.source)
            notes.append(f"{stem}: exercise list points to the solutions page")
    if nbformat.writes(nb) != before:
        nbformat.validate(nb)
        tmp = path.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        tmp.replace(path)
    return notes


TEMPLATE_CELLS = [
    ("markdown", "ex-example-intro", [],
     "**Exercise 1 in code.** Say what to write and what the check tests. Its solution goes on the page\n"
     "`book/solutions/NN_name.md`, as a `{code-block} python` with `:name: solution-example` (see the\n"
     "contributing appendix); the reader's notebook never holds it."),
    ("code", "ex-example", [STUB_TAG],
     "# Exercise 1: one line on what to write.\n"
     "def example(x):\n"
     '    """Shapes in, shapes out."""\n'
     '    raise NotImplementedError("exercise 1: write example")'),
    ("code", "ex-example-check", [CHECK_TAG],
     "# Check for exercise 1: asserts that fail on the stub and pass on a correct answer.\n"
     'assert example(2) == 4, "example(2) should be 4"\n'
     'print("example: passed")'),
]


def apply_template(path: Path) -> list[str]:
    """Append the example exercise cells to ``book/_template.ipynb`` if they are missing."""
    nb = nbformat.read(path, as_version=4)
    ids = {c.get("id") for c in nb.cells}
    missing = [c for c in TEMPLATE_CELLS if c[1] not in ids]
    for kind, cid, tags, source in missing:
        nb.cells.append(_markdown(source, cid) if kind == "markdown" else _code(source, cid, tags))
    if missing:
        nbformat.validate(nb)
        tmp = path.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        tmp.replace(path)
    return [f"_template: {c[1]}" for c in missing]


def chapters(root: Path = ROOT) -> list[Path]:
    from clusir.exercises import chapter_notebooks

    return chapter_notebooks(root)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["apply"], ["check"]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if args == ["check"]:
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            stale = []
            for path in chapters():
                copy = Path(tmp) / path.name
                shutil.copy2(path, copy)
                if apply_notebook(copy):
                    stale.append(path.name)
        print("up to date" if not stale else "would change: " + ", ".join(stale))
        return 1 if stale else 0
    notes = [n for path in chapters() for n in apply_notebook(path)]
    notes += apply_template(ROOT / "book" / "_template.ipynb")
    from clusir import syllabus

    if syllabus.write(ROOT):
        notes.append("book/syllabus.md: tables recomputed")
    print("\n".join(notes) if notes else "nothing to do: every chapter is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
