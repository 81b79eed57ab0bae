"""Sub-commands of the `clusir` CLI, one module each (see clusir.cli)."""
