"""A pause after repeated failed logins, per name and per client address: after ``free`` failures each
further one doubles the wait (2 s, 4 s, ... up to ``longest``). A login during the pause is refused without
checking the password. Counts live in the process (each worker keeps its own) and are forgotten an hour
after the last failure or at the next success."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        free: int = 5,
        first_wait: float = 2.0,
        longest: float = 900.0,
        forget_after: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.free, self.first_wait, self.longest, self.forget_after = free, first_wait, longest, forget_after
        self.clock, self.max_entries = clock, max_entries
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(name: str, address: str) -> tuple[str, str]:
        return f"name:{name.strip().lower()}", f"addr:{address}"

    def wait(self, name: str, address: str) -> float:
        """Seconds to wait before the next try (0: go ahead)."""
        now = self.clock()
        with self._lock:
            waits = [r.until - now for k in self.keys(name, address) if (r := self._records.get(k))]
        return max([0.0, *waits])

    def failed(self, name: str, address: str) -> float:
        """Count a failure; the wait it brings (0 while under ``free``)."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            waits = []
            for key in self.keys(name, address):
                record = self._records.setdefault(key, _Record())
                if now - record.last > self.forget_after:
                    record.failures = 0
                record.failures += 1
                record.last = now
                if record.failures >= self.free:
                    record.until = now + min(self.first_wait * 2 ** (record.failures - self.free), self.longest)
                waits.append(record.until - now)
        return max(0.0, *waits)

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            for key in self.keys(name, address):
                self._records.pop(key, None)

    def _prune(self, now: float) -> None:
        if len(self._records) < self.max_entries:
            return
        stale = [k for k, r in self._records.items() if now - r.last > self.forget_after and r.until < now]
        for key in stale:
            del self._records[key]
        if len(self._records) >= self.max_entries:  # under attack from many addresses: keep the newest half
            for key in sorted(self._records, key=lambda k: self._records[k].last)[: len(self._records) // 2]:
                del self._records[key]
