"""`python -m clusir` is the same as the `clusir` console script."""

from clusir.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess in tests
    raise SystemExit(main())
