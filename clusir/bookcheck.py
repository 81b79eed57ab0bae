"""Contract checks for the book's chapters: a claim a chapter prints is also asserted.

A contract cell (tag ``nbval-check-output``) prints what it verifies, for instance
``print("matches clusir:", check(torch.allclose(a, b, rtol=0, atol=tol)))``. :func:`check` returns ``True``
when the claim holds, so the printed line reads as before, and raises :class:`ContractError` when it does
not, so papermill stops the chapter and ``clusir book run`` (``make book``) fails, naming the chapter and
the cell. A claim that only printed ``False`` would have been published silently.
"""

from __future__ import annotations


class ContractError(AssertionError):
    """A chapter's contract cell found that a claim it states does not hold."""


#: True while a chapter runs as a full-profile smoke run (``CLUSIR_SMOKE``, set by ``clusir.book.setup``):
#: its training loops are cut to a step or two, so claims about what training achieves cannot hold
_SMOKE_RUN = False


def set_smoke_run(on: bool) -> None:
    global _SMOKE_RUN
    _SMOKE_RUN = bool(on)


def _truth(ok) -> bool:
    """``ok`` as a Python bool: a bool, a NumPy bool, or a one-element tensor/array; anything else is an error."""
    if isinstance(ok, bool):
        return ok
    n = ok.numel() if hasattr(ok, "numel") else getattr(ok, "size", None)
    if n == 1 and hasattr(ok, "dtype") and "bool" in str(ok.dtype):
        return bool(ok)
    raise TypeError(f"check() needs one truth value (a bool), got {type(ok).__name__}: {ok!r}")


def check(ok, what: str = "") -> bool:
    """Return ``True`` if ``ok`` holds; raise :class:`ContractError` (naming ``what``) if it does not.

    Args:
        ok: the claim: a bool, a NumPy bool or a one-element tensor/array.
        what: a few words saying what is claimed, quoted in the error.
    """
    if not _truth(ok):
        raise ContractError(f"contract failed: {what or 'a checked claim'} is False")
    return True


def check_trained(ok, what: str = "") -> bool | str:
    """:func:`check` for a claim about what training achieved (a learned router, a PSNR gain). In a
    full-profile smoke run, whose step counts are cut to a few, it is not checked and says so."""
    if _SMOKE_RUN:
        return "not checked (smoke run: training cut to a few steps)"
    return check(ok, what)


def check_close(a, b, atol: float, what: str = "", rtol: float = 0.0) -> bool:
    """:func:`check` that two tensors/arrays agree within ``|a - b| <= atol + rtol * |b|``, compared in float64.

    The error states the largest difference found and the tolerance, so a failure says by how much.
    """
    import numpy as np

    x = np.asarray(a.detach().cpu().double() if hasattr(a, "detach") else a, dtype=np.float64)
    y = np.asarray(b.detach().cpu().double() if hasattr(b, "detach") else b, dtype=np.float64)
    if x.shape != y.shape:
        raise ContractError(f"contract failed: {what or 'comparison'}: shapes {x.shape} and {y.shape} differ")
    diff = np.abs(x - y)
    bound = atol + rtol * np.abs(y)
    if not bool(np.all(diff <= bound)):
        raise ContractError(f"contract failed: {what or 'comparison'}: largest difference {float(diff.max()):.3g} "
                            f"exceeds the tolerance (atol {atol:g}, rtol {rtol:g})")
    return True
