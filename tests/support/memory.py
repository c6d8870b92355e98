"""Peak resident memory of this process while a block of code runs, sampled in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil


@dataclass
class PeakRss:
    baseline: int = 0
    peak: int = 0

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.baseline) / 2**20


@contextmanager
def peak_rss(interval_s: float = 0.01) -> Iterator[PeakRss]:
    process = psutil.Process()
    result = PeakRss(process.memory_info().rss, process.memory_info().rss)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result.peak = max(result.peak, process.memory_info().rss)
            stop.wait(interval_s)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        result.peak = max(result.peak, process.memory_info().rss)
