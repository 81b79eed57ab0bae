"""The two install paths (pip via pyproject.toml, conda via environment.yml) must ask for the same things."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    name = m.group(1).lower().replace("_", "-")
    spec = ",".join(sorted(s.strip() for s in m.group(2).split(",") if s.strip()))
    return name, spec


def _pyproject_requirements() -> dict[str, str]:
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(proj["dependencies"])
    for extra in proj.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_norm(r) for r in reqs)


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return dict(_norm(r) for r in pip if not r.startswith("-e"))


def test_environment_yml_matches_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_torch_is_pinned_everywhere():
    # an unpinned torch resolves to a multi-GB CUDA build on the build machines
    assert _pyproject_requirements()["torch"] == "==2.13.0"
    assert _environment_requirements()["torch"] == "==2.13.0"


def test_jupyter_book_is_1x():
    spec = _pyproject_requirements()["jupyter-book"]
    assert "<2" in spec, "jupyter-book 2.x ignores _config.yml/_toc.yml"


def test_environment_python_version():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
