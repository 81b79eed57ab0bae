"""`clusir book`: run the chapters (papermill), build the HTML, refresh the stored contract outputs."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("book", help="run the book's chapters and build it")
    bsub = p.add_subparsers(dest="book_command", metavar="ACTION", required=True)

    run = bsub.add_parser("run", help="execute chapters with papermill and print a timing table")
    run.add_argument("chapters", nargs="*", metavar="CHAPTER", help="chapter names (e.g. 02_wavelets or 02); default: all")
    run.add_argument("--profile", choices=("quick", "full"), default="quick",
                     help="quick: offline CPU minutes (default); full: the GPU recipe (QUICK=False)")
    run.add_argument("--limit", type=float, default=180.0, help="per-chapter time budget in seconds, flagged in the table")
    run.add_argument("--build-dir", default=None, metavar="DIR",
                     help="where to stage and execute (default: _build; use another folder to run several at once)")
    run.add_argument("--html", action="store_true", help="then build the HTML with Jupyter Book (-W)")
    run.add_argument("--refresh", action="store_true",
                     help="then copy contract-cell outputs back into the notebooks in book/ (for nbval)")
    run.set_defaults(func=_run)

    html = bsub.add_parser("html", help="build the HTML from the executed copies in _build/src")
    html.set_defaults(func=_html)


def _root() -> Path:
    from clusir.runtime import repo_root

    return repo_root()


def _run(args) -> int:
    from clusir import bookrun
    from clusir.cli import CLIError

    root = _root()
    try:
        build = Path(args.build_dir).resolve() if args.build_dir else None
        runs, src = bookrun.run_chapters(root, args.profile, args.chapters, build=build, limit_s=args.limit)
    except (ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    failed = [r for r in runs if not r.ok]
    if failed:
        for r in failed:
            print(f"FAILED chapter {r.chapter}, {r.error}\n  (executed copy with the traceback: "
                  f"{src / 'book' / (r.chapter + '.ipynb')})")
        return 1
    if args.refresh:
        for r in runs:
            n = bookrun.refresh_outputs(src / "book" / f"{r.chapter}.ipynb", root / "book" / f"{r.chapter}.ipynb")
            print(f"refreshed {n} contract cell(s) in book/{r.chapter}.ipynb")
    if args.html:
        if build is not None and build.name != bookrun.BUILD:
            raise CLIError("--html needs the default build folder (_build)")
        return bookrun.build_html(src, root / bookrun.BUILD)
    return 0


def _html(args) -> int:
    from clusir import bookrun
    from clusir.cli import CLIError

    root = _root()
    src = root / bookrun.BUILD / "src"
    if not src.is_dir():
        raise CLIError(f"{src} does not exist: run `clusir book run` first")
    return bookrun.build_html(src, root / bookrun.BUILD)
