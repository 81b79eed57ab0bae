"""The `clusir` command line.

Each sub-command lives in its own module under `clusir.commands` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (a callable taking the parsed namespace and returning an exit code).
Modules import torch lazily inside their handlers so that ``clusir --version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from clusir import __version__

#: Sub-command modules, in the order `clusir --help` lists them.
COMMAND_MODULES = (
    "clusir.commands.book",
    "clusir.commands.info",
    "clusir.commands.data",
    "clusir.commands.train",
    "clusir.commands.eval",
    "clusir.commands.restore",
    "clusir.commands.bench",
    "clusir.commands.experiment",
)


class CLIError(Exception):
    """An error a user can act on: printed as ``clusir: error: ...`` with exit code 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clusir",
        description="ClusIR: cluster-guided all-in-one image restoration (the clusir-book package).",
    )
    parser.add_argument("--version", action="version", version=f"clusir {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command not written yet is simply not offered
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"clusir: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("clusir: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
