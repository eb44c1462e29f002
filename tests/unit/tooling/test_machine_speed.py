"""The reference loop the goal benchmarks print beside their figures (benchmarks/procs.py)."""

from __future__ import annotations

import pytest

from benchmarks.procs import machine_speed, reference_loop_ms


def test_the_loop_takes_longer_the_more_it_counts() -> None:
    short = reference_loop_ms(50_000, runs=3)
    long = reference_loop_ms(1_000_000, runs=3)
    assert 0 < short < long  # twenty times the work; even a machine changing speed keeps the order


def test_the_benchmark_is_framed_by_the_loop_before_and_after(capsys: pytest.CaptureFixture[str]) -> None:
    ran = []
    with machine_speed():
        ran.append("the runs")
        assert capsys.readouterr().out == ""  # nothing is printed before the runs end
    out = capsys.readouterr().out
    assert ran == ["the runs"]
    assert out.startswith("machine speed: the reference loop (3,000,000 multiply-adds in Python) took ")
    assert out.count(" ms") == 2 and "before the runs" in out and "after" in out


def test_nothing_is_printed_when_the_runs_fail(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), machine_speed():
        raise RuntimeError("a benchmark failed")
    assert capsys.readouterr().out == ""
