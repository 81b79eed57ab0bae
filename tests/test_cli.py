"""The `clusir` entry points."""

import subprocess
import sys

import pytest

import clusir
from clusir.cli import main


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"clusir {clusir.__version__}"


def test_python_dash_m_matches_console_script():
    out = subprocess.run([sys.executable, "-m", "clusir", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"clusir {clusir.__version__}"


def test_help_lists_book_command(capsys):
    assert main([]) == 0
    assert "book" in capsys.readouterr().out


def test_unknown_chapter_is_a_clear_error(capsys):
    assert main(["book", "run", "no_such_chapter"]) == 2
    err = capsys.readouterr().err
    assert "no chapter called 'no_such_chapter'" in err and "00_introduction" in err
