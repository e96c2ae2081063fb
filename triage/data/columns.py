"""Finding the export column of each canonical field, and saying why that one.

A mapping's candidates are tried in order; each may be found under its own name, under one of its aliases, or
spelled differently (``Short description`` for ``short_description``: case, spaces, ``_`` and ``-`` do not
count). A name may pick one value of a multi-valued column: ``Component/s[2]`` is the second component,
``Labels[*]`` all labels joined.

>>> cols = Columns(["Number", "Short description"], {"number": ["Number"]})
>>> cols.find(["number"]).column, cols.find(["short_description"]).column
('Number', 'Short description')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from triage.data.records import MULTI_SEP

_PICK = re.compile(r"^(?P<name>.+?)\s*\[(?P<index>[1-9]\d*|\*)\]$")
ALL_VALUES = 0
"""``Found.pick`` of ``COLUMN[*]``: every value of a multi-valued cell, joined."""


def _normal(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


@dataclass(frozen=True)
class Found:
    """The export column found for a field: which candidate it is (``rank`` 0 is the first choice) and which
    value of a multi-valued cell to take (``pick`` N is the N-th, None the first, ``ALL_VALUES`` all)."""

    column: str
    candidate: str
    rank: int
    pick: int | None = None

    @property
    def name(self) -> str:
        """The column as the user would name it, with its pick: ``Component/s[2]``."""
        if self.pick is None:
            return self.column
        return f"{self.column}[{'*' if self.pick == ALL_VALUES else self.pick}]"

    def why(self, candidates: Sequence[str], named_by: str | None = None) -> str:
        """``first choice``, ``fallback: 'priority' absent`` or ``named by --label ...``."""
        if named_by:
            return f"named by {named_by}"
        if self.rank == 0:
            why = "first choice"
        else:
            why = f"fallback: {', '.join(repr(c) for c in candidates[: self.rank])} absent"
        if _normal(self.column) != _normal(self.candidate.split("[")[0]):
            why += f" (the export's name for {self.candidate!r})"
        return why


class Columns:
    """The columns of one export, searched by name, alias or spelling."""

    def __init__(self, columns: Sequence[str], aliases: dict[str, list[str]] | None = None) -> None:
        self.columns = [str(c) for c in columns]
        self.aliases = aliases or {}
        self._lower = {c.lower(): c for c in reversed(self.columns)}
        self._normal = {_normal(c): c for c in reversed(self.columns)}

    def match(self, name: str) -> str | None:
        """The column called ``name``, compared exactly, then case-insensitively, then by :func:`_normal`."""
        if name in self.columns:
            return name
        return self._lower.get(name.lower()) or self._normal.get(_normal(name))

    def _lookup(self, name: str) -> tuple[str, int | None] | None:
        column = self.match(name)
        if column is not None:
            return column, None
        picked = _PICK.match(name)
        if picked and (column := self.match(picked["name"])):
            return column, ALL_VALUES if picked["index"] == "*" else int(picked["index"])
        return None

    def find(self, candidates: Sequence[str]) -> Found | None:
        """The first candidate present, under its name or one of its aliases."""
        for rank, candidate in enumerate(candidates):
            for name in (candidate, *self.aliases.get(candidate, [])):
                hit = self._lookup(name)
                if hit:
                    return Found(hit[0], candidate, rank, hit[1])
        return None

    def listing(self, limit: int = 40) -> str:
        """The column names, for an error message."""
        shown = ", ".join(repr(c) for c in self.columns[:limit])
        return shown + (f" and {len(self.columns) - limit} more" if len(self.columns) > limit else "")


def values(raw: pd.DataFrame, found: Found, *, joiner: str = "; ") -> tuple[pd.Series, int]:
    """The stripped values of a found column and how many rows held several values. A multi-valued cell gives
    its first value, the picked one, or (``ALL_VALUES``) all of them joined."""
    column = raw[found.column].astype(str)
    if not column.str.contains(MULTI_SEP, regex=False).any():
        return column.str.strip(), 0
    parts = column.str.split(MULTI_SEP)
    several = int((parts.str.len() > 1).sum())
    if found.pick == ALL_VALUES:
        return parts.map(lambda p: joiner.join(v.strip() for v in p if v.strip())), several
    index = (found.pick or 1) - 1
    return parts.map(lambda p: p[index].strip() if len(p) > index else ""), several
