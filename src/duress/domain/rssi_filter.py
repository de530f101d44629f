"""BLE signal strength: a robust windowed filter, and the log-distance model (RSSI to metres).

Raw BLE RSSI is noisy (a Gaussian spread of 4-8 dB indoors), loses advertisements, and has
multipath bursts that swing a reading by 10-20 dB for a moment. A windowed **median** over the
last few seconds ignores a burst that touches fewer than half the samples; a mean would follow it.

The **log-distance path-loss model**: ``rssi(d) = tx_power - 10 * n * log10(d)``, where
``tx_power`` is the calibrated RSSI at one metre and ``n`` the path-loss exponent (2 in free
space, 2.5-3 indoors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence (the mean of the two middle values for an even count)."""
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def distance_m(rssi: float, tx_power: float, exponent: float) -> float:
    """Distance (metres, at least 0.1) at which the log-distance model predicts ``rssi``."""
    return max(0.1, math.pow(10.0, (tx_power - rssi) / (10.0 * exponent)))


def rssi_at(distance: float, tx_power: float, exponent: float) -> float:
    """RSSI (dBm) the log-distance model predicts at ``distance`` metres (clamped to 0.1 m)."""
    return tx_power - 10.0 * exponent * math.log10(max(0.1, distance))


class WindowedMedian:
    """The median of the samples of the last ``window_s`` seconds, keeping at most ``max_samples``.

    Samples may arrive slightly out of order; trimming drops every sample older than the window.
    """

    __slots__ = ("max_samples", "samples", "window_s")

    def __init__(self, window_s: float, max_samples: int) -> None:
        self.window_s = window_s
        self.max_samples = max_samples
        self.samples: list[tuple[float, float]] = []

    def add(self, ts: float, value: float) -> None:
        samples = self.samples
        samples.append((ts, value))
        if len(samples) > self.max_samples:
            del samples[0]

    def value(self, now: float) -> float | None:
        """The filtered value at ``now`` (seconds), or None when no sample is inside the window."""
        cutoff = now - self.window_s
        samples = self.samples
        if samples and samples[0][0] < cutoff:
            samples[:] = [s for s in samples if s[0] >= cutoff]
        if not samples:
            return None
        return median([v for _, v in samples])
