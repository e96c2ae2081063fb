"""The small statistics of live quality: a binomial proportion's Wilson interval, the distance between two
label distributions.

>>> [round(x, 3) for x in wilson(90, 100)]
[0.826, 0.945]
"""

from __future__ import annotations

import math
from collections.abc import Mapping

Z95 = 1.959963984540054


def wilson(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``n`` (95% by default); ``(0, 1)`` when ``n`` is 0.
    Unlike the normal approximation it stays inside [0, 1] and is honest for small ``n`` and extreme rates."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson: need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Counts as shares of their total (empty when the total is 0)."""
    total = sum(counts.values())
    return {label: n / total for label, n in counts.items()} if total else {}


def total_variation(observed: Mapping[str, int], expected: Mapping[str, int]) -> float | None:
    """Half the L1 distance between two label distributions given as counts: 0 when the shares are the same,
    1 when no label is shared; the largest difference in probability any set of labels can show. None when
    either side has no tickets."""
    p, q = shares(observed), shares(expected)
    if not p or not q:
        return None
    return 0.5 * sum(abs(p.get(label, 0.0) - q.get(label, 0.0)) for label in set(p) | set(q))
