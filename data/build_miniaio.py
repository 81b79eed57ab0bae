#!/usr/bin/env python
"""Rebuild MiniAIO (data/miniaio/*, data/ATTRIBUTION.md, data/miniaio/test_inputs.json) from the installed
packages: scikit-image, scikit-learn, PyWavelets, Matplotlib (pip) and the Debian packages
lomiri-wallpapers-16.04, mate-backgrounds, plasma-workspace-wallpapers, lxqt-themes:

    sudo apt-get install -y --no-install-recommends lomiri-wallpapers-16.04 mate-backgrounds \
        plasma-workspace-wallpapers lxqt-themes
    python data/build_miniaio.py            # rebuild and write
    python data/build_miniaio.py --check    # rebuild in memory, compare pixel hashes with the manifest

Same as `clusir data build [--check]`. The recipe (sources, factors, crops) is `clusir/data/miniaio_build.py`.
"""

import sys

from clusir.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["data", "build", *sys.argv[1:]]))
