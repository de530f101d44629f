"""The latency benchmark's judgements: "press latency unchanged under load" (issue 7) and p99 gaps."""

from __future__ import annotations

import random

from benchmarks.latency.bench_latency import _excess_over_alertmanager, _p99_gap


def samples(seed: int, tail_ms: float = 0.0) -> list[float]:
    """1,000 press latencies: around 2.5 ms, with a tail; ``tail_ms`` added to the slowest 3 %."""
    rng = random.Random(seed)
    values = sorted(rng.lognormvariate(0.9, 0.35) for _ in range(1000))
    return values[:970] + [v + tail_ms for v in values[970:]]


def test_a_load_that_moves_both_alike_is_not_told_from_noise() -> None:
    idle = {"http": samples(1), "am": samples(2)}
    loaded = {"http": samples(3, tail_ms=1.0), "am": samples(4, tail_ms=1.0)}
    excess = _excess_over_alertmanager(idle, loaded, "http")
    assert excess is not None
    assert excess["low_95"] <= 0 <= excess["high_95"]


def test_a_load_that_raises_only_our_tail_is_told() -> None:
    idle = {"http": samples(1), "am": samples(2)}
    loaded = {"http": samples(3, tail_ms=5.0), "am": samples(4)}
    excess = _excess_over_alertmanager(idle, loaded, "http")
    assert excess is not None
    assert excess["low_95"] > 0
    assert 3.0 < excess["p99_ms"] < 7.0


def test_without_alertmanager_there_is_no_judgement() -> None:
    idle = {"http": samples(1), "am": []}
    assert _excess_over_alertmanager(idle, idle, "http") is None


def test_a_p99_gap_inside_the_noise_straddles_zero() -> None:
    gap = _p99_gap(samples(1), samples(2))
    assert gap is not None
    assert gap["low_95"] <= 0 <= gap["high_95"]


def test_a_slower_tail_is_a_gap_above_zero() -> None:
    gap = _p99_gap(samples(1, tail_ms=4.0), samples(2))
    assert gap is not None
    assert gap["low_95"] > 0
    assert 2.0 < gap["p99_ms"] < 6.0


def test_no_samples_no_gap() -> None:
    assert _p99_gap([], samples(2)) is None
