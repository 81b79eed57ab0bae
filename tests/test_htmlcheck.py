"""The browser check finds each defect it is meant to find, planted one at a time in a scratch page.

The clean page imitates what Jupyter Book 1 writes for a chapter (a contract cell, MathJax markup, an image,
code in a fixed-width column); each planted copy adds one defect. Needs Chromium: without it these tests
skip, saying so, as the check itself does (`make chromium` installs it).
"""

import base64
from pathlib import Path

import pytest

from clusir import htmlcheck

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082")).decode()

CLEAN = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
main {{ width: 700px; }} pre {{ overflow-x: auto; white-space: pre; margin: 0; }}
</style></head><body><main>
<h1>2. A chapter</h1>
<p>Inline math <span class="math notranslate nohighlight">\\(\\alpha_c\\)</span> and a block:</p>
<div class="math notranslate nohighlight">\\[ \\mathrm{{LL}} = \\tfrac12 (a + b + c + d) \\]</div>
<table class="table"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>
<div class="cell docutils container tag_nbval-check-output">
 <div class="cell_input docutils container"><div class="highlight-ipython3 notranslate"><div class="highlight">
  <pre>print("matches clusir:", check(same))</pre></div></div></div>
 <div class="cell_output docutils container"><div class="output stream highlight-myst-ansi notranslate">
  <div class="highlight"><pre>matches clusir: True
{output}</pre></div></div></div>
</div>
<img src="data:image/png;base64,{png}" alt="a figure">
{planted}
</main></body></html>"""

DEFECTS = {
    "raw-table": ("", "<p>| method | PSNR | |---|---| | ClusIR | 31.2 |</p>"),
    "contract": ("the two blocks agree: False", ""),
    "image": ("", '<img src="_images/not-there.png" alt="lost">'),
    "code-scroll": ("", '<div class="cell_input"><div class="highlight"><pre>x = ' + "1 + " * 120 + "1</pre></div></div>"),
    "math": ("", "<p>The energy $$E = \\sum_i x_i^2$$ is kept.</p>"),
}


@pytest.fixture(scope="module")
def browser():
    exe = htmlcheck.find_browser()
    if exe is None:
        pytest.skip("NO CHROMIUM: the browser check cannot be tested here (run `make chromium`)")
    return exe


def _page(tmp_path: Path, name: str, output: str = "", planted: str = "") -> Path:
    p = tmp_path / f"{name}.html"
    p.write_text(CLEAN.format(output=output, planted=planted, png=PNG))
    return p


def test_clean_page_passes_and_is_photographed(browser, tmp_path):
    [rep] = htmlcheck.check_pages([_page(tmp_path, "clean")], tmp_path / "shots", browser)
    assert rep.defects == []
    assert Path(rep.screenshot).read_bytes()[:3] == b"\xff\xd8\xff"          # a JPEG


def test_each_planted_defect_is_found(browser, tmp_path):
    pages = [_page(tmp_path, kind, *planted) for kind, planted in DEFECTS.items()]
    reports = htmlcheck.check_pages(pages, None, browser)
    for kind, rep in zip(DEFECTS, reports):
        assert {k for k, _ in rep.defects} == {kind}, (kind, rep.defects)


def test_main_fails_on_a_defect_and_passes_a_clean_page(browser, tmp_path, capsys):
    clean, bad = _page(tmp_path, "clean"), _page(tmp_path, "bad", *DEFECTS["raw-table"])
    assert htmlcheck.main(["--pages", str(clean), "--screenshots", str(tmp_path / "s")]) == 0
    assert htmlcheck.main(["--pages", str(clean), str(bad), "--screenshots", str(tmp_path / "s")]) == 1
    assert "raw-table: | method" in capsys.readouterr().out


def test_missing_browser_skips_loudly_or_fails_when_required(monkeypatch, capsys):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    assert htmlcheck.main(["--pages", "x.html"]) == 0
    assert "BROWSER CHECK SKIPPED" in capsys.readouterr().err
    assert htmlcheck.main(["--pages", "x.html", "--require-browser"]) == 1
