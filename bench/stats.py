"""Small statistics helpers (no numpy in the shipped venv)."""
from __future__ import annotations


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list; NaN when empty."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary_ms(values_s: list[float]) -> dict:
    v = sorted(values_s)
    return {"n": len(v), "p50_ms": _r(percentile(v, 50) * 1000), "p95_ms": _r(percentile(v, 95) * 1000),
            "p99_ms": _r(percentile(v, 99) * 1000), "max_ms": _r(v[-1] * 1000) if v else None}


def _r(x: float):
    return None if x != x else round(x, 2)
