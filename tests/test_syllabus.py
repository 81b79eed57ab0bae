"""The syllabus page's numbers are what clusir.syllabus computes from the chapters and docs/benchmarks.md."""

from pathlib import Path

import pytest

from clusir import syllabus

ROOT = Path(__file__).resolve().parents[1]


def test_the_page_holds_the_computed_tables():
    text = (ROOT / "book" / "syllabus.md").read_text(encoding="utf-8")
    block = text.split(syllabus.START, 1)[1].split(syllabus.END, 1)[0].strip()
    assert block == syllabus.tables(ROOT), "book/syllabus.md is stale: run python -m clusir.syllabus --write"


def test_every_chapter_is_planned_with_a_measured_quick_time():
    plans = syllabus.plans(ROOT)
    assert [p.chapter for p in plans][:2] == ["00_introduction", "01_degradations"]
    quick, _ = syllabus.benchmark_figures(ROOT)
    for p in plans:
        assert p.quick_s == quick[p.chapter] and p.words > 300 and p.code_lines > 20 and p.exercises >= 3
        assert p.coded >= 1, f"{p.chapter}: no exercise in code"


def test_reading_and_working_time_follow_the_stated_rates():
    p = syllabus.ChapterPlan("x", "x", words=2000, code_lines=150, exercises=4, coded=1, quick_s=10.0,
                             work_ratio=3.0)
    assert p.reading_min == 20                               # 10 + 10 minutes
    assert p.working_min == 55                               # 40 + 15
    assert p.full_s == 30.0
    assert syllabus.ChapterPlan("y", "y", 10, 1, 0, 0, None, 1.0).reading_min == 5
    assert syllabus.ChapterPlan("y", "y", 10, 1, 0, 0, None, 1.0).full_s is None


def test_work_ratio_rules():
    bench = {"nano": {"infer ms/img": 100.0}, "tiny": {"infer ms/img": 600.0}}
    assert syllabus.work_ratio(dict(size=64, steps=10), dict(size=128, steps=30), bench) == 12.0
    assert syllabus.work_ratio(dict(demo_size=(10, 10), demo_preset="nano"),
                               dict(demo_size=(20, 10), demo_preset="tiny"), bench) == 12.0
    assert syllabus.work_ratio(dict(lr=1e-3, noise=0.1), dict(lr=1e-4, noise=0.2), bench) == 1.0


def test_benchmark_tables_are_read(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "benchmarks.md").write_text(
        "| chapter | seconds |\n|---|---|\n| 00_a | 1.5 |\n| total | 1.5 |\n\n"
        "| preset | params | infer ms/img | infer peak MB |\n|---|---|---|---|\n| nano | 0.79 M | 1091 | 124 |\n")
    quick, bench = syllabus.benchmark_figures(tmp_path)
    assert quick == {"00_a": 1.5} and bench["nano"]["infer ms/img"] == 1091.0
    (tmp_path / "docs" / "benchmarks.md").write_text("nothing\n")
    with pytest.raises(ValueError, match="benchmarks.md"):
        syllabus.benchmark_figures(tmp_path)


def test_nested_settings_are_read_and_flattened():
    src = ("cfg = clusir.book.setup(Q, D, S, quick=dict(live=dict(steps=24, crop=64), rerun=None),\n"
           "                        full=dict(live=dict(steps=240, crop=64), rerun='table9'))\n")
    quick, full = syllabus._setup_profiles(src)
    assert quick == {"steps": 24, "crop": 64, "rerun": None} and full["steps"] == 240
    assert syllabus.work_ratio(quick, full, {}) == 10.0
