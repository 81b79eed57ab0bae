"""Run chosen cells of a chapter several times under several thread counts: is a contract flaky?

    python tools/repeat_contract.py book/02_wavelets_wtb.ipynb --cells c02,c03,c05,c16,c18 --times 10 --threads 1,2
    python tools/repeat_contract.py book/03_flat_vs_two_stage.ipynb --contract c07

The listed cells (or, with ``--contract ID``, every code cell before that one except the Colab cell) (parameters, setup, the definitions the contract needs, the contract) run once per thread
count in a fresh Python process with ``OMP_NUM_THREADS``/``torch.set_num_threads`` set; the last cell (the
contract) is then repeated ``--times`` times, each time with a different seed, so float rounding and data
both vary. A run passes when the contract raises nothing. Prints one line per thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time, nbformat, torch
torch.set_num_threads(int(sys.argv[3]))
nb = nbformat.read(sys.argv[1], 4)
by_id = {c.get("id"): c for c in nb.cells}
ids = sys.argv[2].split(",")
missing = [i for i in ids if i not in by_id]
if missing:
    sys.exit(f"{sys.argv[1]}: no cell(s) {missing}")
ns = {"__name__": "__main__"}
for i in ids[:-1]:
    exec(compile(by_id[i].source, f"{sys.argv[1]}:{i}", "exec"), ns)
assert torch.get_num_threads() == int(sys.argv[3]), torch.get_num_threads()
contract = compile(by_id[ids[-1]].source, f"{sys.argv[1]}:{ids[-1]}", "exec")
passed, errors = 0, []
t0 = time.perf_counter()
for k in range(int(sys.argv[4])):
    ns["cfg"].seed = k
    try:
        exec(contract, ns)
        passed += 1
    except AssertionError as exc:
        errors.append(str(exc))
print("RESULT " + json.dumps({"passed": passed, "errors": errors, "seconds": time.perf_counter() - t0}))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("--cells", help="comma-separated cell ids; the last one is the contract")
    ap.add_argument("--contract", help="a contract cell id: run every code cell before it, then repeat it")
    ap.add_argument("--times", type=int, default=10)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args(argv)
    if bool(args.cells) == bool(args.contract):
        ap.error("give --cells or --contract")
    if args.contract:
        args.cells = ",".join(_cells_up_to(args.notebook, args.contract))
    ok = True
    for t in [int(s) for s in args.threads.split(",")]:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t), MPLBACKEND="Agg")
        proc = subprocess.run([sys.executable, "-c", CHILD, os.path.abspath(args.notebook), args.cells, str(t), str(args.times)],
                              env=env, capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(args.notebook)))
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"threads {t}: the cells did not run (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            ok = False
            continue
        r = json.loads(lines[-1][7:])
        ok &= r["passed"] == args.times
        print(f"threads {t}: {r['passed']}/{args.times} passed ({r['seconds']:.1f} s)"
              + "".join(f"\n  {e}" for e in r["errors"][:3]))
    return 0 if ok else 1


def _cells_up_to(notebook: str, contract: str) -> list[str]:
    import nbformat

    ids = []
    for c in nbformat.read(notebook, 4).cells:
        if c.cell_type != "code" or "remove-cell" in c.metadata.get("tags", []):
            continue
        ids.append(c.get("id"))
        if c.get("id") == contract:
            return ids
    raise SystemExit(f"{notebook}: no code cell {contract!r}")


if __name__ == "__main__":
    sys.exit(main())
