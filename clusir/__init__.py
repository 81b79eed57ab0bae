"""clusir: a faithful, tested re-implementation of ClusIR (cluster-guided all-in-one image restoration).

The package is what the book's chapters import, what `clusir train` trains with and what Colab users install.
Heavy modules (torch models, data) are imported lazily by the sub-packages that need them, so that
`clusir --version` and `import clusir` stay fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
