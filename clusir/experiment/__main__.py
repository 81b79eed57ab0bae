"""``python -m clusir.experiment EXPERIMENT VARIANT SEED``: one run of a sweep (see clusir.experiment.record)."""

from clusir.experiment.record import main

raise SystemExit(main())
