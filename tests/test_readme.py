"""The README opens with what this is, then the two commands, then Python that runs, then a chapter map."""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from clusir import bookrun

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_order_what_commands_python_map():
    first_para = README.split("\n\n")[1]
    assert "ClusIR" in first_para and "book" in first_para, "the README opens with what this is"
    i_cmds = README.index("make book")
    assert README.index("make test") > i_cmds
    i_py = README.index("```python")
    i_map = README.index("## Chapter map")
    assert README.index("for three kinds of reader") < i_cmds < i_py < i_map
    assert "## " not in README[:i_cmds].split("\n", 1)[1], "no section before the two commands"


def test_the_python_example_is_short_and_runs():
    (code,) = _blocks("python")
    body = [ln for ln in code.splitlines() if ln.strip() and not ln.startswith(("import ", "from "))]
    assert len(body) <= 5, body
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    routing = eval(res.stdout.strip())                      # one (clusters, weights) pair per stage
    assert len(routing) == 4
    for clusters, weights in routing:
        assert len(clusters) == len(weights) == 2 and abs(sum(weights) - 1) < 1e-5


def test_the_chapter_map_names_every_chapter():
    table = README.split("## Chapter map", 1)[1].split("\n## ", 1)[0]
    for nb in bookrun.chapter_notebooks(ROOT):
        title = nbformat.read(nb, as_version=4).cells[0].source.splitlines()[0].lstrip("# ")
        head = title.split(":")[0] if nb.stem.startswith("00") else title.split(".")[0] + "."
        assert f"| {head}" in table, f"chapter map lacks {title!r}"


def test_timings_live_in_benchmarks():
    assert not re.search(r"\d+(\.\d+)? ?min", README.split("## Chapter map")[0]), "timings go to docs/benchmarks.md"
    assert "docs/benchmarks.md" in README
