"""The shape of ``clusir/`` (DEVELOPERS.md): dependencies point one way (no import cycle, the notebook
façade is a leaf), no file over 600 lines, no function over 80.

The import graph is read from the source with :mod:`ast` (nothing is imported). Every ``import`` counts, at
module level or inside a function: a lazy import that dodges a cycle at import time is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clusir"
#: the notebook helpers: the only modules that may import the façade ``clusir.book``
BOOK_USERS = {"clusir.bookrun", "clusir.commands.book"}
MAX_FILE_LINES, MAX_FUNCTION_LINES = 600, 80


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """``{"clusir.train.trainer": path, "clusir.train": .../__init__.py, ...}``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``clusir`` modules that module ``name`` imports anywhere in its body.

    ``from pkg import x`` is an edge to ``pkg.x`` when that is a module, else to ``pkg``."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:                                       # relative import
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m in known and m != name}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    files = module_files(package)
    return {name: imported_modules(name, path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}                                   # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_the_graph_reader_sees_imports_and_cycles(tmp_path):
    pkg = tmp_path / "clusir"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from clusir.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from . import c\n")          # lazy and relative
    (pkg / "sub" / "c.py").write_text("import clusir.a\n")
    graph = import_graph(pkg)
    assert graph["clusir.a"] == {"clusir.sub.b"} and graph["clusir.sub.b"] == {"clusir.sub.c"}
    assert find_cycle(graph) == ["clusir.a", "clusir.sub.b", "clusir.sub.c", "clusir.a"]
    (pkg / "sub" / "c.py").write_text("import numpy\n")
    assert find_cycle(import_graph(pkg)) is None


def test_no_import_cycle_in_clusir():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_notebook_facade_is_imported_only_by_the_notebook_helpers():
    users = {m for m, deps in import_graph().items() if "clusir.book" in deps}
    assert users <= BOOK_USERS, f"clusir.book imported by {sorted(users - BOOK_USERS)}: use clusir.runtime"


@pytest.mark.parametrize("name", ["repo_root", "default_threads", "resolve_device", "seed_everything"])
def test_book_re_exports_the_runtime(name):
    import clusir.book
    import clusir.runtime

    assert getattr(clusir.book, name) is getattr(clusir.runtime, name)


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``"name (n lines)"`` for every function or method of ``path`` longer than ``limit`` lines
    (decorators excluded, docstring included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > limit]


def test_the_length_checks_count_lines(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def short():\n    return 1\n\n\ndef long():\n" + "    x = 1\n" * 80 + "    return x\n")
    assert long_functions(p) == ["long (82 lines)"]


def test_no_file_over_600_lines_and_no_function_over_80():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        lines = len(path.read_text().splitlines())
        if lines > MAX_FILE_LINES:
            problems.append(f"{rel}: {lines} lines")
        problems += [f"{rel}: {f}" for f in long_functions(path)]
    assert not problems, "too long:\n" + "\n".join(problems)
