"""Part II of the book (chapters 10-14): every paper table and figure the issue names has a heading in its
chapter, followed by a code cell that produces it (issue 13's bar)."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: chapter -> the paper items it must reproduce, as they are named in its markdown headings
ITEMS = {
    "12_ablations": ["Table 4", "Table 5", "Table 8", "Table 9"],
    "13_inside_the_router": ["Fig. 3", "Fig. 5", "Fig. 6", "Fig. 7", "Fig. 8", "Fig. 9"],
}


def _headings(cells):
    """(index, heading text) of every markdown heading, with "Figs. 5 and 7" read as Fig. 5 and Fig. 7."""
    out = []
    for i, c in enumerate(cells):
        if c.cell_type == "markdown":
            out += [(i, h) for h in re.findall(r"^#+ (.*)$", c.source, flags=re.M)]
    return out


def _names(heading: str) -> set[str]:
    names = {f"Table {n}" for n in re.findall(r"Tables? (\d+)", heading)}
    for nums in re.findall(r"Figs?\. ([\d, and]+)", heading):
        names |= {f"Fig. {n}" for n in re.findall(r"\d+", nums)}
    return names


@pytest.mark.parametrize("chapter", sorted(ITEMS))
def test_each_paper_item_has_a_heading_and_a_producing_cell(chapter):
    book = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
    found = {}
    for i, heading in _headings(book.cells):
        for name in _names(heading):
            found.setdefault(name, i)
    missing = [n for n in ITEMS[chapter] if n not in found]
    assert not missing, f"{chapter}: no heading names {missing}"
    for name, i in found.items():
        if name not in ITEMS[chapter]:
            continue
        nxt = next((c for c in book.cells[i + 1:] if c.cell_type == "code"), None)
        assert nxt is not None and nxt.source.strip(), f"{chapter}: no code cell after the {name} heading"


def test_part_two_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for chapter in ("10_training", "11_evaluation", "12_ablations", "13_inside_the_router",
                    "14_reproducing_the_paper"):
        assert f"book/{chapter}" in toc
