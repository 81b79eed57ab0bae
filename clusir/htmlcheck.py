"""The browser check: open the built book's pages in headless Chromium and look for what a reader would see.

``python -m clusir.htmlcheck [_build/html]`` (``make check-html``) loads every page of ``_toc.yml`` from the
built HTML, lays it out at a desktop width (1280 px), and fails on

* ``raw-table``: a Markdown table left as text (a ``|---|`` row outside code);
* ``contract``: a contract cell (tag ``nbval-check-output``) whose output says ``False`` or shows an error,
  and any cell output on the page that is a traceback;
* ``image``: an ``<img>`` that did not load;
* ``code-scroll``: a code block wider than its box (a horizontal scrollbar);
* ``math``: TeX left outside the MathJax markup (``$$``, ``\\begin{``, or ``$...\\...$`` in plain text).

It saves a full-page screenshot of every page under ``_build/screenshots/`` for a person to look at.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-separated JSON): no Python dependency, no port, no websocket. The page is measured by a JavaScript
function evaluated in it (:data:`PROBE`), which returns the defects found. Network access is cut
(``--host-resolver-rules``), so the pages are checked as built; MathJax itself comes from a CDN and is not
run, which is why the math check looks at the markup MathJax would typeset.

When no Chromium is installed the check prints a loud notice and exits 0, unless ``--require-browser`` is
given (CI passes it, after ``make chromium`` installed the Debian package).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1280, 900
MAX_SHOT_HEIGHT = 16000          # px; longer pages are cut in the screenshot (the checks see all of it)

# Evaluated in the page; returns a list of [kind, detail] pairs. Kept in one place so the defects it looks
# for are easy to read next to the module docstring.
PROBE = r"""
(() => {
  const out = [];
  const add = (kind, detail) => out.push([kind, String(detail).slice(0, 200)]);
  const main = document.querySelector("main") || document.body;
  const skip = (el) => el.closest("pre, code, script, style, .math, mjx-container, .MathJax, textarea");
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || skip(el)) continue;
    const t = n.nodeValue;
    if (/\|\s*:?-{3,}:?\s*\|/.test(t)) add("raw-table", t.trim());
    if (/\$\$|\\begin\{|\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$/.test(t)) add("math", t.trim());
  }
  for (const cell of main.querySelectorAll(".tag_nbval-check-output")) {
    const o = cell.querySelector(".cell_output");
    const text = o ? o.innerText : "";
    if (/\bFalse\b/.test(text)) add("contract", "output says False: " + text.trim());
    if (/Traceback|Error\b/.test(text)) add("contract", "output shows an error: " + text.trim());
  }
  for (const o of main.querySelectorAll(".cell_output .traceback, .cell_output .output.error"))
    add("contract", "a cell output is a traceback: " + o.innerText.trim());
  for (const img of document.images)
    if (!img.complete || img.naturalWidth === 0) add("image", img.getAttribute("src") || "(no src)");
  for (const pre of main.querySelectorAll("div.highlight pre, .cell_input pre"))
    if (!pre.closest(".cell_output") && pre.scrollWidth > pre.clientWidth + 1)
      add("code-scroll", `${pre.scrollWidth}px of code in a ${pre.clientWidth}px box: ` +
          (pre.innerText.split("\n").sort((a, b) => b.length - a.length)[0] || ""));
  return out;
})()
"""


@dataclass
class PageReport:
    page: str
    defects: list = field(default_factory=list)     # [(kind, detail)]
    screenshot: str = ""


def find_browser() -> str | None:
    """``$CHROMIUM`` if set, else the first of :data:`BROWSERS` on the PATH."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


class Browser:
    """Headless Chromium spoken to over ``--remote-debugging-pipe`` (one page target, flat sessions)."""

    def __init__(self, exe: str, timeout: float = 60.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="clusir-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds():   # the protocol's pipes become the child's fds 3 and 4 (via fds >= 10: no clash)
            import fcntl

            r, w = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [exe, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars=false",
                "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={self._profile}",
                f"--window-size={WIDTH},{HEIGHT}", "about:blank"]
        # close_fds=False: fds 3 and 4, made in preexec_fn, must survive into Chromium (Python's own fds
        # are not inheritable, so nothing else leaks)
        self.proc = subprocess.Popen(args, preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf, self._id, self._events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable"):
            self.call(domain, session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=WIDTH, height=HEIGHT,
                  deviceScaleFactor=1, mobile=False)

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buf:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("Chromium stopped answering (it exited or timed out)")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_event(self, method: str) -> None:
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method:
                    del self._events[: i + 1]
                    return
            self._events.append(self._read())

    def open(self, url: str) -> None:
        self._events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, js: str):
        r = self.call("Runtime.evaluate", session=True, expression=js, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"the page probe raised: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def screenshot(self, path: Path) -> None:
        import base64

        height = int(self.evaluate("document.documentElement.scrollHeight") or HEIGHT)
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": min(height, MAX_SHOT_HEIGHT), "scale": 1}
        shot = self.call("Page.captureScreenshot", session=True, format="jpeg", quality=80, clip=clip,
                         captureBeyondViewport=True)   # JPEG: a tall page encodes much faster than PNG
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:      # already gone: fall through to terminate
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for fd in (self._to_child, self._from_child):
            os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)


def check_pages(pages: list[Path], shots: Path | None, exe: str) -> list[PageReport]:
    """Open each HTML file, run :data:`PROBE` and save a screenshot into ``shots`` (if given)."""
    reports = []
    browser = Browser(exe)
    try:
        for page in pages:
            browser.open(page.resolve().as_uri())
            browser.evaluate("new Promise(r => setTimeout(r, 200))")   # late layout (fonts, images)
            rep = PageReport(str(page), [tuple(d) for d in browser.evaluate(PROBE) or []])
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                rep.screenshot = str(shots / (page.stem + ".jpg"))
                browser.screenshot(Path(rep.screenshot))
            reports.append(rep)
    finally:
        browser.close()
    return reports


def book_pages(html: Path, root: Path) -> list[Path]:
    """The built page of every file in ``_toc.yml``, in book order; a missing page is an error."""
    from clusir.bookrun import toc_files

    pages = [html / (f + ".html") for f in toc_files(root)]
    missing = [str(p) for p in pages if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"not built (run `make book` first): {', '.join(missing)}")
    return pages


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clusir.htmlcheck", description=__doc__.split("\n")[0])
    ap.add_argument("html", nargs="?", default="_build/html", help="the built book (default: _build/html)")
    ap.add_argument("--pages", nargs="*", help="check these HTML files instead of the book's pages")
    ap.add_argument("--screenshots", default=None, help="folder for the screenshots (default: _build/screenshots)")
    ap.add_argument("--require-browser", action="store_true", help="fail, not skip, when Chromium is missing")
    args = ap.parse_args(argv)
    exe = find_browser()
    if exe is None:
        print("\n" + "!" * 78 + "\n!! BROWSER CHECK SKIPPED: no Chromium found (tried $CHROMIUM, "
              + ", ".join(BROWSERS) + ").\n!! Install it with `make chromium` (Debian: apt-get install chromium; "
              "needs root).\n" + "!" * 78 + "\n", file=sys.stderr)
        return 1 if args.require_browser else 0
    html = Path(args.html)
    pages = [Path(p) for p in args.pages] if args.pages else book_pages(html, _root_of(html))
    shots = Path(args.screenshots) if args.screenshots else html.parent / "screenshots"
    t0 = time.perf_counter()
    reports = check_pages(pages, shots, exe)
    bad = 0
    for r in reports:
        status = "ok" if not r.defects else f"{len(r.defects)} defect(s)"
        print(f"{Path(r.page).name:<36} {status:<14} {r.screenshot}")
        for kind, detail in r.defects:
            print(f"    {kind}: {detail}")
        bad += bool(r.defects)
    print(f"browser check: {len(reports)} page(s), {bad} with defects, {time.perf_counter() - t0:.1f} s "
          f"({Path(exe).name})")
    return 1 if bad else 0


def _root_of(html: Path) -> Path:
    """The repository whose ``_toc.yml`` lists the pages: the build's staged sources, else the working tree."""
    src = html.resolve().parent / "src"
    return src if (src / "_toc.yml").is_file() else Path.cwd()


if __name__ == "__main__":
    sys.exit(main())
