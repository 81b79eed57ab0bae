"""How the chapters show tables and figures: real HTML tables and sharp, page-width matplotlib figures.

``display(Markdown("| a | b |..."))`` renders as a paragraph of ``|`` characters in the built book (MyST-NB
does not parse Markdown outputs as tables), so chapters display :func:`table` instead: an object with an
HTML form (Jupyter, Colab and the Jupyter Book page render it as a ``<table>``) and a plain-text form.

:func:`configure_figures` is called by :func:`clusir.book.setup`: retina PNGs and font sizes that stay
legible at the book's page width (about 7 inches at 100 dpi; :data:`PAGE_WIDTH_IN`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

PAGE_WIDTH_IN = 7.0   # figures wider than this are shrunk by the page, and their fonts with them


@dataclass
class Table:
    """A small table: a header row and rows of cells (any values; shown with ``str``)."""

    header: list
    rows: list
    caption: str = ""
    align: list = field(default_factory=list)   # per column: "left" or "right" (default: numbers right)

    def __post_init__(self):
        n = len(self.header)
        for i, row in enumerate(self.rows):
            if len(row) != n:
                raise ValueError(f"table row {i} has {len(row)} cells, the header has {n}: {row!r}")
        if self.align and len(self.align) != n:
            raise ValueError(f"align names {len(self.align)} columns, the header has {n}")

    def _alignment(self, j: int) -> str:
        if self.align:
            return self.align[j]
        numeric = all(_is_number(row[j]) for row in self.rows) and self.rows
        return "right" if numeric else "left"

    def _repr_html_(self) -> str:
        def cells(values, tag):
            return "".join(f'<{tag} style="text-align: {self._alignment(j)}">{html.escape(str(v))}</{tag}>'
                           for j, v in enumerate(values))

        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<table class="clusir-table table">{caption}<thead><tr>{cells(self.header, "th")}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    def __repr__(self) -> str:
        grid = [[str(v) for v in self.header]] + [[str(v) for v in row] for row in self.rows]
        widths = [max(len(r[j]) for r in grid) for j in range(len(self.header))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in grid]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.caption] if self.caption else []) + lines)


def _is_number(v) -> bool:
    try:
        float(str(v).replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def table(header, rows, caption: str = "", align=None) -> Table:
    """A table to ``display()`` (or leave as a cell's last value): HTML in Jupyter, Colab and the book."""
    return Table(list(header), [list(r) for r in rows], caption, list(align or []))


def from_markdown(text: str) -> Table:
    """A :class:`Table` from a Markdown pipe table (e.g. ``clusir experiment report``'s or
    ``clusir.paper.markdown_table``'s); the lines around the table become its caption (``**`` and backticks
    dropped). Raises ``ValueError`` when ``text`` holds no pipe table."""
    lines = text.splitlines()
    rows = [ln for ln in lines if ln.strip().startswith("|")]
    if len(rows) < 2:
        raise ValueError("from_markdown: no Markdown table (a header row and a |---| row) in the text")

    def split(ln: str) -> list[str]:
        return [c.strip() for c in ln.strip().strip("|").split("|")]

    body = [split(r) for r in rows if not set(r.replace("|", "").strip()) <= set("-: ")]
    caption = " ".join(ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("|"))
    return table(body[0], body[1:], caption.replace("**", "").replace("`", ""))


def configure_figures() -> None:
    """Retina (2x) PNG output where IPython is running, and fonts legible at the page's width."""
    import matplotlib

    matplotlib.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "image.cmap": "gray",
        "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 9,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "figure.titlesize": 11,
    })
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def panels(n: int, ncols: int = 3, panel_height: float = 2.4, width: float = PAGE_WIDTH_IN, **subplot_kw):
    """A figure of ``n`` panels, at most ``ncols`` (<= 3) to a row and the page's width; returns
    ``(fig, axes)`` with ``axes`` a flat array of the ``n`` panels (unused grid cells are removed)."""
    import math

    import matplotlib.pyplot as plt

    if not 1 <= ncols <= 3:
        raise ValueError(f"at most 3 panels to a row stay legible at page width, got ncols={ncols}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, panel_height * nrows), squeeze=False, **subplot_kw)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]
