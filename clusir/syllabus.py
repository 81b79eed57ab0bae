"""The numbers of the syllabus page (``book/syllabus.md``): reading, working and compute time per chapter.

Method (also stated on the page):

* **reading time** = prose words / 200 per minute + code lines / 15 per minute, rounded up to 5 minutes.
  Prose = the markdown cells without code blocks and display maths; code lines = non-blank, non-comment
  lines of the code cells a reader sees (not ``remove-cell``);
* **working time** = 10 minutes per exercise of the chapter's list + 15 more for each exercise with a stub
  and a check, rounded up to 5 minutes;
* **quick profile, measured** = the per-chapter seconds of the last run recorded in ``docs/benchmarks.md``
  (written by ``clusir book run`` to ``_build/timings-quick.json``);
* **full profile, projected** = that time × the work ratio of the chapter's ``full`` to ``quick`` settings
  (its ``clusir.book.setup`` call): (full/quick)² for ``size``, ``crop`` and ``dim`` (pixels, channels²),
  full/quick for counts (``steps``, ``batch``, ``samples``, ...), the pixel ratio for ``demo_size`` and the
  ``clusir bench`` inference-time ratio of the two presets for ``demo_preset``. It is a projection for the
  same 2-core CPU, not a GPU measurement: no GPU was lent to this project.

``python -m clusir.syllabus`` prints the tables; ``--write`` puts it into ``book/syllabus.md`` between the
markers; ``tests/test_syllabus.py`` checks that the page holds what this module computes.
"""

from __future__ import annotations

import ast
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

START, END = "<!-- syllabus-table:start -->", "<!-- syllabus-table:end -->"
WORDS_PER_MIN, CODE_LINES_PER_MIN = 200, 15
MIN_PER_EXERCISE, MIN_PER_CODED = 10, 15
_SQUARED = ("size", "crop", "dim")
_LINEAR = ("steps", "fit_steps", "batch", "crops_per_photo", "samples", "banks")


@dataclass(frozen=True)
class ChapterPlan:
    chapter: str
    title: str
    words: int
    code_lines: int
    exercises: int
    coded: int
    quick_s: float | None
    work_ratio: float
    presets: tuple[str, ...] = ()
    trains: bool = False

    @property
    def reading_min(self) -> int:
        return _round5(self.words / WORDS_PER_MIN + self.code_lines / CODE_LINES_PER_MIN)

    @property
    def working_min(self) -> int:
        return _round5(MIN_PER_EXERCISE * self.exercises + MIN_PER_CODED * self.coded)

    @property
    def full_s(self) -> float | None:
        return None if self.quick_s is None else self.quick_s * self.work_ratio


def _round5(minutes: float) -> int:
    return 5 * max(1, math.ceil(minutes / 5 - 1e-9))


def _prose(md: str) -> str:
    md = re.sub(r"```.*?```", " ", md, flags=re.S)
    md = re.sub(r"\$\$.*?\$\$", " ", md, flags=re.S)
    return md


def _literal(node: ast.AST):
    """A literal, or a ``dict(key=literal, ...)`` call (nested settings), as a Python value."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "dict" and not node.args:
        return {k.arg: _literal(k.value) for k in node.keywords}
    return ast.literal_eval(node)


def _flat(settings: dict) -> dict:
    """Nested settings (``live=dict(steps=24, ...)``) flattened: their keys count like top-level ones."""
    out = {}
    for key, value in settings.items():
        out.update(_flat(value) if isinstance(value, dict) else {key: value})
    return out


def _setup_profiles(source: str) -> tuple[dict, dict]:
    """The ``quick=`` and ``full=`` dicts of a ``clusir.book.setup(...)`` call, as literals (nested
    ``dict(...)`` settings flattened)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "setup":
            kw = {k.arg: k.value for k in node.keywords}
            return tuple(_flat({k.arg: _literal(k.value) for k in kw[p].keywords})
                         for p in ("quick", "full"))
    raise ValueError("no clusir.book.setup(...) call")


def work_ratio(quick: dict, full: dict, bench: dict[str, dict]) -> float:
    """Work of the full profile relative to the quick one (rules in the module docstring)."""
    r = 1.0
    for key, q in quick.items():
        f = full.get(key, q)
        if key in _SQUARED:
            r *= (f / q) ** 2
        elif key in _LINEAR:
            r *= f / q
        elif key == "demo_size":
            r *= (f[0] * f[1]) / (q[0] * q[1])
        elif key == "demo_preset" and f != q:
            r *= bench[f]["infer ms/img"] / bench[q]["infer ms/img"]
    return r


def _tables(text: str, first_header: str) -> list[list[list[str]]]:
    """Markdown tables of ``text`` whose header row starts with ``| first_header |``."""
    out, rows = [], None
    for line in text.splitlines():
        if line.startswith(f"| {first_header} |"):
            rows = []
            out.append(rows)
            header = [c.strip() for c in line.strip("|").split("|")]
            rows.append(header)
        elif rows is not None and line.startswith("|"):
            if not set(line) <= set("|-: "):
                rows.append([c.strip() for c in line.strip("|").split("|")])
        else:
            rows = None
    return out


def benchmark_figures(root: Path) -> tuple[dict[str, float], dict[str, dict]]:
    """From ``docs/benchmarks.md``: the first per-chapter quick-profile table ``{chapter: seconds}`` and the
    CPU ``clusir bench`` table ``{preset: {column: value}}``."""
    text = (root / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    chapters = _tables(text, "chapter")
    if not chapters:
        raise ValueError(f"{root / 'docs/benchmarks.md'}: no '| chapter | seconds |' table")
    quick = {r[0]: float(r[1]) for r in chapters[0][1:] if r[0] != "total"}
    bench = {}
    for table in _tables(text, "preset"):
        header = table[0]
        if "infer ms/img" in header:
            for row in table[1:]:
                bench[row[0]] = {h: _number(v) for h, v in zip(header, row)}
            break
    return quick, bench


def _number(v: str):
    try:
        return float(v.split()[0].replace(",", ""))
    except ValueError:
        return v


def chapter_plan(nb_path: Path, quick: dict[str, float], bench: dict[str, dict]) -> ChapterPlan:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    code = [c.source for c in nb.cells
            if c.cell_type == "code" and "remove-cell" not in c.get("metadata", {}).get("tags", [])]
    words = sum(len(_prose(m).split()) for m in md)
    lines = sum(1 for s in code for ln in s.splitlines() if ln.strip() and not ln.strip().startswith("#"))
    text = "\n".join(md)
    ex_part = text.split("## Exercises", 1)[1] if "## Exercises" in text else ""
    ex_part = ex_part.split("\n## ", 1)[0]
    exercises = len(re.findall(r"^\d+\. ", ex_part, flags=re.M))
    coded = sum(1 for c in nb.cells if "exercise-stub" in c.get("metadata", {}).get("tags", []))
    title = next((m.splitlines()[0].lstrip("# ").strip() for m in md if m.startswith("# ")), nb_path.stem)
    setup = next(s for s in code if "clusir.book.setup(" in s)
    q, f = _setup_profiles(setup)
    src = "\n".join(code)
    presets = set(re.findall(r'build_model\("(\w+)"', src)) | {v for v in (q.get("demo_preset"),
                                                                          f.get("demo_preset")) if v}
    presets |= set(re.findall(r'_(nano|tiny|small|base)\.(?:yaml|pt)"', src))  # configs, checkpoints
    if "from clusir.diagrams" in src:
        presets.add("nano")                                  # the drawn diagrams run nano
    if "build_model(name" in src and re.search(r"for name\b[^\n]*PRESETS", src):
        presets |= set(bench)                                # a loop over every preset
    order = [p for p in ("nano", "tiny", "small", "base") if p in presets]
    return ChapterPlan(nb_path.stem, title, words, lines, exercises, coded, quick.get(nb_path.stem),
                       work_ratio(q, f, bench), tuple(order),
                       "backward()" in src and "build_model(" in src)


def plans(root: Path) -> list[ChapterPlan]:
    from clusir.bookrun import chapter_notebooks

    quick, bench = benchmark_figures(root)
    return [chapter_plan(nb, quick, bench) for nb in chapter_notebooks(root)]


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _memory(p: ChapterPlan, bench: dict[str, dict]) -> str:
    if not p.presets:
        return "no ClusIR model (teaching modules only); not measured"
    # the largest preset the chapter builds, at the settings of docs/benchmarks.md (not this chapter's)
    big = p.presets[-1]
    col = "train peak MB" if p.trains else "infer peak MB"
    what = "training" if p.trains else "inference"
    return f"`{big}` {what}: {bench[big][col]:.0f} MB in `clusir bench`"


def tables(root: Path) -> str:
    """The two per-chapter markdown tables of the syllabus page (study time; compute and memory)."""
    ps = plans(root)
    _, bench = benchmark_figures(root)
    study = ["| chapter | prose words | code lines | exercises (in code) | reading | working |",
             "|---|---|---|---|---|---|"]
    for p in ps:
        study.append(f"| {p.title} | {p.words:,} | {p.code_lines} | {p.exercises} ({p.coded}) | "
                     f"{p.reading_min} min | {p.working_min} min |")
    study.append(f"| **total** | {sum(p.words for p in ps):,} | {sum(p.code_lines for p in ps)} | "
                 f"{sum(p.exercises for p in ps)} ({sum(p.coded for p in ps)}) | "
                 f"{sum(p.reading_min for p in ps) / 60:.1f} h | {sum(p.working_min for p in ps) / 60:.1f} h |")
    compute = ["| chapter | quick profile, measured (2-core CPU) | full profile, *projected* (same CPU) | "
               "GPU for the full profile | models and memory |", "|---|---|---|---|---|"]
    for p in ps:
        gpu = "recommended" if (p.full_s or 0) > 1800 else "not needed"
        compute.append(f"| {p.chapter} | {_dur(p.quick_s)} | {_dur(p.full_s)} (work ×{p.work_ratio:,.0f}) | "
                       f"{gpu} | {_memory(p, bench)} |")
    compute.append(f"| **total** | {_dur(sum(p.quick_s or 0 for p in ps))} | "
                   f"{_dur(sum(p.full_s or 0 for p in ps))} | | |")
    return "\n".join(study) + "\n\n" + "\n".join(compute)


def write(root: Path) -> bool:
    """Put :func:`tables` between the markers of ``book/syllabus.md``; True if the file changed."""
    page = root / "book" / "syllabus.md"
    text = page.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{page}: the markers {START} and {END} are missing")
    head, rest = text.split(START, 1)
    new = f"{head}{START}\n{tables(root)}\n{END}{rest.split(END, 1)[1]}"
    if new == text:
        return False
    tmp = page.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(page)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from clusir.runtime import repo_root

    root = repo_root()
    if args == ["--write"]:
        print("book/syllabus.md updated" if write(root) else "book/syllabus.md already up to date")
    else:
        print(tables(root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
