"""A contract that does not hold fails `clusir book run`, naming the chapter and the cell.

The scratch book is a copy of chapter 2's opening (parameters, setup, the Haar transform and its first
contract cell) with one claim planted false; the real chapter's cells are used so that the test follows
them as they change.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from clusir.bookcheck import ContractError, check, check_close

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "02_wavelets_wtb"
CONTRACT = "c07"                      # the Haar transform contract of chapter 2
CLAIM = "check((idwt_conv(ll, high) - x).abs().max().item() < 1e-10)"   # perfect reconstruction


def _scratch_book(tmp_path: Path, plant: bool) -> Path:
    nb = nbformat.read(ROOT / "book" / f"{CHAPTER}.ipynb", 4)
    ids = [c.get("id") for c in nb.cells]
    nb.cells = nb.cells[: ids.index(CONTRACT) + 1]
    contract = nb.cells[-1]
    assert CLAIM in contract.source, "chapter 2's Haar contract changed: update CLAIM"
    if plant:
        contract.source = contract.source.replace(CLAIM, CLAIM.replace("<", ">"), 1)
    (tmp_path / "book").mkdir()
    (tmp_path / "clusir").mkdir()                      # repo_root() looks for _toc.yml and clusir/
    (tmp_path / "_config.yml").write_text("title: scratch\n")
    (tmp_path / "_toc.yml").write_text(f"format: jb-book\nroot: book/{CHAPTER}\n")
    nbformat.write(nb, tmp_path / "book" / f"{CHAPTER}.ipynb")
    return tmp_path


def _book_run(book: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CLUSIR_ROOT=str(book), OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "clusir", "book", "run", CHAPTER], cwd=book, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("plant", [False, True], ids=["as-written", "planted-false"])
def test_a_false_contract_fails_book_run(tmp_path, plant):
    run = _book_run(_scratch_book(tmp_path, plant))
    if not plant:
        assert run.returncode == 0, run.stdout + run.stderr
        return
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"FAILED chapter {CHAPTER}, cell {CONTRACT} [nbval-check-output]" in run.stdout, run.stdout
    assert "ContractError: contract failed" in run.stdout, run.stdout
    assert re.search(r"; at: .*(perfect reconstruction|idwt_conv)", run.stdout), run.stdout  # the line quoted


def test_check_accepts_truths_and_refuses_the_rest():
    import numpy as np
    import torch

    assert check(True) and check(np.bool_(True)) and check(torch.tensor(True))
    for false in (False, np.bool_(False), torch.tensor(False)):
        with pytest.raises(ContractError, match="the claim is False"):
            check(false, "the claim")
    for not_a_truth in (1, "yes", np.array([True, True]), torch.ones(2, dtype=torch.bool)):
        with pytest.raises(TypeError, match="one truth value"):
            check(not_a_truth)


def test_check_close_states_the_difference():
    import torch

    a = torch.zeros(3, dtype=torch.float64)
    assert check_close(a, a + 1e-12, atol=1e-10)
    with pytest.raises(ContractError, match=r"largest difference 0\.001 exceeds the tolerance \(atol 1e-10"):
        check_close(a, a + 1e-3, atol=1e-10, what="x")
    with pytest.raises(ContractError, match="shapes"):
        check_close(a, torch.zeros(4), atol=1.0)
