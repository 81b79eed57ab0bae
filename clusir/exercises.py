"""Exercises in the chapters: stubs in the reader's notebook, solutions kept apart, injected for builds.

A coded exercise is three cells of a chapter notebook, found by their cell ids (``<key>`` is the exercise's
name, unique in the book):

    ex-<key>-intro   markdown: what to write, where the solution is
    ex-<key>         code, tag ``exercise-stub``: the function or class to write, ending in
                     ``raise NotImplementedError`` (or ``...``)
    ex-<key>-check   code, tag ``exercise-check``: asserts what a correct answer does; it fails on the stub

The solution lives in ``book/solutions/<chapter>.md`` (a page of the book, under "Solutions") as a MyST
``{code-block}`` whose ``:name:`` is ``solution-<key>``. The reader's notebook never holds it.

Whatever runs a chapter top to bottom runs a *prepared copy*: :func:`inject` adds, right after each stub,
a cell ``ex-<key>-solution`` (tags ``exercise-solution``, ``remove-cell``) holding the solution, so the
check passes and the rendered page still shows the stub. ``clusir book run`` prepares its staged copies
(:func:`inject_tree`, called by ``clusir.bookrun.stage``); ``make nbval`` runs on copies made by
``python -m clusir.exercises prepare _build/nbval``. See ``book/appendix_contributing.md``.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

STUB_TAG = "exercise-stub"
CHECK_TAG = "exercise-check"
SOLUTION_TAG = "exercise-solution"
SOLUTIONS_DIR = Path("book") / "solutions"
INJECTED_HEADER = "# Solution injected from {page} for this run (the reader's copy has the stub above).\n"

_BLOCK = re.compile(r"```\{code-block\} python\n:name: solution-([A-Za-z0-9_-]+)\n(?::[^\n]*\n)*\n(.*?)\n```",
                    re.DOTALL)


@dataclass(frozen=True)
class Exercise:
    """One coded exercise of a chapter: the stub and check sources and the solution's source."""

    chapter: str      # notebook stem, e.g. "01_degradations"
    key: str
    stub: str
    check: str
    solution: str


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def solutions_page(root: Path, chapter: str) -> Path:
    """``book/solutions/<chapter>.md`` under ``root``."""
    return root / SOLUTIONS_DIR / f"{chapter}.md"


def read_solutions(page: Path) -> dict[str, str]:
    """``{key: source}`` of every ``solution-<key>`` code block of a solutions page (duplicates are an error)."""
    found: dict[str, str] = {}
    for key, body in _BLOCK.findall(page.read_text(encoding="utf-8")):
        if key in found:
            raise ValueError(f"{page}: two code blocks are named solution-{key}")
        found[key] = body
    return found


def stub_key(cell) -> str | None:
    """The exercise key of a stub cell (id ``ex-<key>``), or None for any other cell."""
    if cell.cell_type != "code" or STUB_TAG not in _tags(cell):
        return None
    cid = cell.get("id", "")
    if not cid.startswith("ex-"):
        raise ValueError(f"stub cell {cid!r}: its id must be ex-<key>")
    return cid[3:]


def exercises(root: Path, notebook: Path) -> list[Exercise]:
    """The coded exercises of one chapter notebook, with their solutions. Raises ``ValueError`` naming the
    file when a stub has no check cell or no solution."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    by_id = {c.get("id"): c for c in nb.cells}
    keys = [k for k in (stub_key(c) for c in nb.cells) if k]
    if not keys:
        return []
    page = solutions_page(root, notebook.stem)
    if not page.is_file():
        raise ValueError(f"{notebook}: has exercise stubs but {page} does not exist")
    sols = read_solutions(page)
    out = []
    for key in keys:
        check = by_id.get(f"ex-{key}-check")
        if check is None or CHECK_TAG not in _tags(check):
            raise ValueError(f"{notebook}: stub ex-{key} has no check cell ex-{key}-check tagged {CHECK_TAG}")
        if key not in sols:
            raise ValueError(f"{notebook}: stub ex-{key} has no code block named solution-{key} in {page}")
        out.append(Exercise(notebook.stem, key, by_id[f"ex-{key}"].source, check.source, sols[key]))
    return out


def inject(notebook: Path, root: Path) -> int:
    """Insert each stub's solution right after it in ``notebook`` (a copy, rewritten in place). Idempotent:
    a solution cell already there is replaced, not duplicated. Returns the number of solutions injected."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    found = {e.key: e for e in exercises(root, notebook)}
    if not found:
        return 0
    page = solutions_page(root, notebook.stem).relative_to(root).as_posix()
    cells = [c for c in nb.cells if SOLUTION_TAG not in _tags(c)]
    out = []
    for cell in cells:
        out.append(cell)
        key = stub_key(cell)
        if key:
            sol = nbformat.v4.new_code_cell(INJECTED_HEADER.format(page=page) + found[key].solution)
            sol["id"] = f"ex-{key}-solution"
            sol.metadata["tags"] = [SOLUTION_TAG, "remove-cell"]
            out.append(sol)
    nb.cells = out
    nbformat.write(nb, notebook)
    return len(found)


def chapter_notebooks(root: Path) -> list[Path]:
    """The chapters' notebooks, ``book/*.ipynb`` without the ``_``-prefixed template, by name (not always
    the book's order: the appendix chapter 14 follows 15 in ``_toc.yml``; ``tests/test_notebooks.py`` checks
    they are exactly the chapters of ``_toc.yml``). Not imported from ``clusir.bookrun``, which imports this
    module."""
    return sorted(p for p in (root / "book").glob("*.ipynb") if not p.name.startswith("_"))


def inject_tree(src: Path) -> int:
    """Inject the solutions into every chapter notebook of a staged book tree ``src`` (with ``book/`` and
    ``book/solutions/``). Returns the number of solutions injected."""
    return sum(inject(nb, src) for nb in chapter_notebooks(src))


def prepare(root: Path, out: Path) -> list[Path]:
    """Copies of the chapter notebooks under ``out/book/`` with their solutions injected (for nbval), by
    name. ``out`` is emptied first and must not be the repository or its ``book/``."""
    root, out = root.resolve(), out.resolve()
    if out in (root, root / "book") or root.is_relative_to(out):
        raise ValueError(f"prepare: refusing to empty {out} (it holds the repository's notebooks)")
    if out.exists():
        shutil.rmtree(out)
    (out / "book").mkdir(parents=True)
    copies = []
    for nb in chapter_notebooks(root):
        dest = out / nb.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nb, dest)
        inject(dest, root)
        copies.append(dest)
    return copies


def main(argv: list[str] | None = None) -> int:
    """``python -m clusir.exercises prepare OUT``: print the prepared notebooks' paths (for nbval)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "prepare":
        print("usage: python -m clusir.exercises prepare OUT_DIR", file=sys.stderr)
        return 2
    root = Path.cwd()
    for p in prepare(root, Path(args[1])):
        print(p.relative_to(root) if p.is_relative_to(root) else p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
