"""Measurement: latency of every inference backend side by side, the roofline prediction, result tables.

Figures are measured, never asserted: the repository's `bench/` scripts print them.
"""

from convwise.measure.latency import BACKENDS, DEFAULT_BACKENDS, run_benchmark
from convwise.measure.results import BenchResult

__all__ = ["BACKENDS", "DEFAULT_BACKENDS", "BenchResult", "run_benchmark"]
