"""Authoring helper: turn a percent-format script into a chapter notebook.

    python tools/py2nb.py chapter.py book/03_router.ipynb

Cells start with ``# %%`` (code) or ``# %% [markdown]`` (markdown; each line's leading ``# `` is removed).
Tags go after the marker: ``# %% tags=["parameters"]``. Cell ids are stable (``c00``, ``c01``, ...), so the
contract outputs that ``clusir book run --refresh`` stores can be matched to their cells. The notebook in
``book/`` is the source of truth once written; this script is only a convenience for drafting.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

MARK = re.compile(r"^# %%(?P<md>\s*\[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")


def convert(text: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    cells, cur = [], None
    for line in text.splitlines():
        m = MARK.match(line)
        if m:
            cur = {"md": bool(m.group("md")), "tags": json.loads(m.group("tags") or "[]"), "lines": []}
            cells.append(cur)
        elif cur is not None:
            cur["lines"].append(line)
    for i, c in enumerate(cells):
        lines = c["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if c["md"]:
            src = "\n".join(re.sub(r"^# ?", "", ln) for ln in lines)
            cell = nbformat.v4.new_markdown_cell(src)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        cell["id"] = f"c{i:02d}"
        if c["tags"]:
            cell.metadata["tags"] = c["tags"]
        nb.cells.append(cell)
    return nb


if __name__ == "__main__":
    src, dst = map(Path, sys.argv[1:3])
    nbformat.write(convert(src.read_text()), dst)
    print(f"wrote {dst}")
