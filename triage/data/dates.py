"""Creation times of an export: numeric dates are read day first or month first as the data shows, or as the
user says; when nothing decides, the choice is said, never made silently.

``01/11/2025`` is the 1st of November or the 11th of January. A desk's export decides it when some date has a
first component above 12 (``13/01/2025``: day first) or a second one (``01/13/2025``: month first); a file with
both is an error. ``date_format`` (``--date-format``) and ``dayfirst`` (``--dayfirst``/``--monthfirst``) decide
it for the user.

>>> parse_times(pd.Series(["13/01/2025 09:00", "01/02/2025 10:00"])).values.dt.month.tolist()
[1, 2]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from triage.errors import DataError

# day/month/year or month/day/year with / . or - between, then anything (a time, a zone)
_NUMERIC = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[\sT,])(.*)$")


@dataclass
class ParsedTimes:
    """Parsed times (UTC; NaT where absent or unreadable), and what was decided and why."""

    values: pd.Series
    notes: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)


def _example(given: pd.Series, mask: pd.Series, where: Callable[[int], str]) -> str:
    i = mask[mask].index[0]
    return f"{given[i]!r} ({where(i)})"


def _iso(parts: pd.DataFrame, dayfirst: bool) -> pd.Series:
    first, second = parts[0].astype(int), parts[2].astype(int)
    day, month = (first, second) if dayfirst else (second, first)
    year = parts[3].astype(int)
    year = year.where(parts[3].str.len() == 4, year + 2000 - 100 * (year >= 70))
    valid = month.between(1, 12) & day.between(1, 31)
    iso = (
        year.astype(str).str.zfill(4)
        + "-"
        + month.astype(str).str.zfill(2)
        + "-"
        + day.astype(str).str.zfill(2)
        + parts[4]
    )
    return iso.where(valid, "not a date")


def parse_times(
    values: pd.Series,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    where: Callable[[int], str] = lambda i: f"row {i}",
    column: str = "created_at",
) -> ParsedTimes:
    """Parse creation times as described in the module docstring; ``where(i)`` names row ``i`` in messages."""
    given = values.fillna("").astype(str).str.strip()
    present = given != ""
    if date_format:
        parsed = pd.to_datetime(given.where(present), format=date_format, errors="coerce", utc=True)
        return ParsedTimes(parsed, [f"{column} read with --date-format {date_format!r}"])
    parts = given.str.extract(_NUMERIC)
    numeric = parts[0].notna()
    result = ParsedTimes(given)
    normalized = given
    if numeric.any():
        first = parts[0].where(numeric, "0").astype(int)
        second = parts[2].where(numeric, "0").astype(int)
        day_first, month_first = numeric & (first > 12), numeric & (second > 12)
        if dayfirst is not None:
            order = dayfirst
            result.notes.append(f"{column}: numeric dates read {'day' if order else 'month'} first (as you said)")
        elif day_first.any() and month_first.any():
            raise DataError(
                f"{column} mixes day-first dates ({_example(given, day_first, where)}) and month-first ones "
                f"({_example(given, month_first, where)}); give their format with --date-format"
            )
        elif day_first.any() or month_first.any():
            order = bool(day_first.any())
            evidence = _example(given, day_first if order else month_first, where)
            result.notes.append(
                f"{column}: dates read {'day' if order else 'month'} first, as the export shows: {evidence} cannot "
                f"be {'month' if order else 'day'} first"
            )
        else:
            order = False
            result.cautions.append(
                f"{column}: {int(numeric.sum())} dates such as {_example(given, numeric, where)} could be day or "
                "month first and none decides it; read month first. Say --dayfirst or --monthfirst (or "
                "--date-format) to be sure"
            )
        normalized = given.where(~numeric, _iso(parts[numeric], order).reindex(given.index))
    result.values = pd.to_datetime(normalized.where(present), errors="coerce", utc=True, format="mixed")
    return result
