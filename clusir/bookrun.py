"""Run the book's chapters with papermill, time them, keep contract outputs, and build the HTML.

The pipeline behind ``make book``:

1. :func:`stage` copies the book sources (``_config.yml``, ``_toc.yml``, ``references.bib``, ``_static/``
   for the page styles, ``book/``, and ``clusir/`` for the chapters' ``{literalinclude}`` blocks) into
   ``_build/src`` so that the notebooks in git are never written to;
2. :func:`run_chapters` executes every chapter of ``_toc.yml`` there with papermill (``QUICK`` injected
   after the ``parameters`` cell), records each one's wall time and writes ``_build/timings.json``;
3. :func:`build_html` runs Jupyter Book 1 on the executed copies with ``-W`` (any warning fails).

:func:`refresh_outputs` copies the outputs of contract cells (tag ``nbval-check-output``) from executed copies
back into the notebooks in git, and clears every other output: that is what nbval compares against.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
import yaml

CONTRACT_TAG = "nbval-check-output"
BUILD = "_build"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"   # figures as cell outputs
SOURCES = ("_config.yml", "_toc.yml", "references.bib", "_static", "book", "clusir")  # clusir/: {literalinclude}


def toc_files(root: Path) -> list[str]:
    """Every file named in ``_toc.yml`` (root first), as paths relative to the repository, without suffix."""
    toc_path = root / "_toc.yml"
    try:
        toc = yaml.safe_load(toc_path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{toc_path}: not valid YAML ({exc})") from exc
    if not isinstance(toc, dict) or "root" not in toc:
        raise ValueError(f"{toc_path}: expected a mapping with a 'root' entry (Jupyter Book 1 format)")
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def chapter_notebooks(root: Path) -> list[Path]:
    """The executable chapters: the ``.ipynb`` files that ``_toc.yml`` names, in book order."""
    out = []
    for f in toc_files(root):
        p = root / f
        nb = p if p.suffix == ".ipynb" else p.with_suffix(".ipynb")
        if nb.is_file():
            out.append(nb)
        elif not (p.is_file() or p.with_suffix(".md").is_file()):
            raise FileNotFoundError(f"_toc.yml names {f!r} but neither {nb.name} nor a .md file exists")
    return out


def select(notebooks: list[Path], names: list[str] | None) -> list[Path]:
    """Filter chapters by name (``02_wavelets``, ``02``, or a path). Unknown names are an error."""
    if not names:
        return notebooks
    chosen = []
    for name in names:
        stem = Path(name).stem
        hits = [nb for nb in notebooks if nb.stem == stem or nb.stem.split("_", 1)[0] == stem]
        if not hits:
            raise ValueError(f"no chapter called {name!r}; chapters: {', '.join(nb.stem for nb in notebooks)}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def stage(root: Path, build: Path) -> Path:
    """Copy the book sources into ``build/src`` (fresh) and return that folder."""
    src = build / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in SOURCES:
        p = root / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        elif p.is_file():
            shutil.copy2(p, src / name)
    from clusir.exercises import inject_tree

    inject_tree(src)  # exercise solutions after their stubs, so the checks pass (clusir/exercises.py)
    return src


@dataclass
class ChapterRun:
    chapter: str
    seconds: float
    ok: bool
    error: str = ""


def run_chapter(nb: Path, out: Path, quick: bool, kernel: str = "python3", root: Path | None = None) -> ChapterRun:
    """Execute one notebook with papermill into ``out`` (cwd = the notebook's folder)."""
    import papermill as pm  # lazy: slow to import (~1 s) and only running a chapter needs it

    env_root = str(root) if root else None
    old = os.environ.get("CLUSIR_ROOT")
    if env_root:
        os.environ["CLUSIR_ROOT"] = env_root
    # the kernel inherits this process's environment: MPLBACKEND=Agg (as CI sets it) would make every
    # plt.show() draw nothing, so the book would be built without its figures
    old_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(nb), str(out), parameters={"QUICK": quick}, kernel_name=kernel, cwd=str(nb.parent),
            progress_bar=False, log_output=False, execution_timeout=900,
        )
        ok, err = True, ""
        _hide_injected_parameters(out)
    except Exception as exc:  # papermill raises PapermillExecutionError with the cell's traceback
        ok, err = False, describe_failure(exc, out)
    finally:
        if env_root:
            _restore_env("CLUSIR_ROOT", old)
        _restore_env("MPLBACKEND", old_backend)
    return ChapterRun(nb.stem, time.perf_counter() - t0, ok, err)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def describe_failure(exc: Exception, executed: Path) -> str:
    """One line naming the failing cell (its id, tags and first source line) and the error it raised.

    ``exc`` is what papermill raised; for a cell error it is a ``PapermillExecutionError`` carrying the cell's
    index in the executed copy, which papermill has written (with the traceback) to ``executed``.
    """
    index = getattr(exc, "cell_index", None)
    what = f"{getattr(exc, 'ename', type(exc).__name__)}: {getattr(exc, 'evalue', str(exc)).strip()}"
    what = what.strip().splitlines()[-1] if what.strip() else type(exc).__name__
    if index is None:
        return what
    where = f"cell {index}"
    try:
        import nbformat

        cells = nbformat.read(executed, as_version=4).cells   # papermill puts an error banner cell first
        failed = [c for c in cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        cell = failed[0] if failed else cells[index]
        tags = cell.get("metadata", {}).get("tags", [])
        first = next((ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")), "")
        where = f"cell {cell.get('id', index)}" + (f" [{', '.join(tags)}]" if tags else "") + f" ({first[:60]!r})"
    except Exception:  # the executed copy could not be read: the index is still worth reporting
        pass
    line = _failing_line(getattr(exc, "traceback", None) or [])
    return f"{where}: {what}" + (f"; at: {line}" if line else "")


def _failing_line(traceback: list) -> str:
    """The cell's own line in an IPython traceback (the first ``---->`` marker), without colour codes."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(traceback))
    for ln in text.splitlines():
        m = re.match(r"\s*-+>\s*\d+\s(.*)", ln)
        if m:
            return m.group(1).strip()[:120]
    return ""


def _hide_injected_parameters(path: Path) -> None:
    """Tag papermill's ``injected-parameters`` cell ``remove-cell``: the rendered book shows the chapter's own
    parameters cell, and the profile is printed by the setup cell."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)


def format_table(runs: list[ChapterRun], profile: str, limit_s: float) -> str:
    lines = [f"{'chapter':<34} {'time':>8}  status   (profile {profile})", "-" * 64]
    for r in runs:
        flag = "ok" if r.ok else "FAILED"
        if r.ok and r.seconds > limit_s:
            flag = f"ok, over {limit_s / 60:.0f} min"
        lines.append(f"{r.chapter:<34} {r.seconds:>7.1f}s  {flag}")
    total = sum(r.seconds for r in runs)
    lines.append("-" * 64)
    lines.append(f"{'total':<34} {total:>7.1f}s  ({total / 60:.1f} min)")
    return "\n".join(lines)


def run_chapters(root: Path, profile: str = "quick", names: list[str] | None = None,
                 build: Path | None = None, limit_s: float = 180.0) -> tuple[list[ChapterRun], Path]:
    """Stage the sources, execute the chosen chapters, print and save the timing table."""
    build = build or root / BUILD
    src = stage(root, build)
    notebooks = select(chapter_notebooks(src), names)
    runs = []
    for nb in notebooks:
        print(f"running {nb.relative_to(src)} ({profile}) ...", flush=True)
        r = run_chapter(nb, nb, quick=(profile == "quick"), root=root)  # chapters find data/ in the real repository
        runs.append(r)
        print(f"  {r.seconds:.1f}s {'ok' if r.ok else 'FAILED: ' + r.error}", flush=True)
    table = format_table(runs, profile, limit_s)
    print("\n" + table)
    record = {
        "profile": profile,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "chapters": [asdict(r) for r in runs],
        "total_seconds": sum(r.seconds for r in runs),
    }
    (build / f"timings-{profile}.json").write_text(json.dumps(record, indent=2) + "\n")
    return runs, src


def build_html(src: Path, build: Path) -> int:
    """Jupyter Book 1 on the executed copies; ``-W`` turns every warning into a failure."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "--path-output", str(build.parent),
           "-W", "-n", "--keep-going"]
    # jupyter-book writes to <path-output>/_build/html; make `build` that folder
    if build.name != "_build":
        raise ValueError("the build folder must be called _build (Jupyter Book's convention)")
    print(" ".join(cmd), flush=True)
    return subprocess.call(cmd)


def contract_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and CONTRACT_TAG in c.get("metadata", {}).get("tags", [])]


def _coalesce(outputs: list) -> list:
    """Merge consecutive stdout chunks (how they are split depends on timing) so stored outputs are stable."""
    merged: list = []
    for o in outputs:
        if merged and o.get("output_type") == "stream" and merged[-1].get("output_type") == "stream" \
                and merged[-1].get("name") == o.get("name"):
            merged[-1]["text"] = merged[-1]["text"] + o["text"]
        else:
            merged.append(o)
    return merged


def refresh_outputs(executed: Path, source: Path) -> int:
    """Copy contract-cell outputs (matched by cell id) from ``executed`` into ``source``; clear the rest.

    Returns the number of contract cells updated. The source's cells are otherwise untouched.
    """
    ex = nbformat.read(executed, as_version=4)
    src = nbformat.read(source, as_version=4)
    by_id = {c.get("id"): c for c in ex.cells}
    n = 0
    for cell in src.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if CONTRACT_TAG in tags:
            done = by_id.get(cell.get("id"))
            if done is None or done.source != cell.source:
                raise ValueError(f"{executed}: contract cell {cell.get('id')} is missing or its source differs; "
                                 "re-run the chapter before refreshing")
            cell.outputs = _coalesce([o for o in done.outputs if o.get("output_type") in ("stream", "execute_result")
                                      and not (o.get("output_type") == "stream" and o.get("name") == "stderr")])
            cell.execution_count = done.execution_count
            for o in cell.outputs:
                if o.get("output_type") == "execute_result":
                    o["execution_count"] = done.execution_count
            n += 1
        else:
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    src.metadata.pop("papermill", None)
    tmp = source.with_suffix(".ipynb.tmp")
    nbformat.write(src, tmp)
    os.replace(tmp, source)
    return n
