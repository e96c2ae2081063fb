"""What runs on the executors, one Arrow batch at a time: raw rows to canonical tickets (the local loader's
mapping and cleaning), then the decisions (``predict``) or the per-ticket facts evaluation counts (``evaluate``).
The bundle arrives as files (``SparkContext.addFile``), is checked against its manifest and loaded once per
Python worker; nothing here unpickles anything from a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from triage.batch.read import CORRUPT, POSITION, Layout
from triage.data.loader import _canonical
from triage.data.mapping import HEADS, ColumnMapping
from triage.data.quality import DataQualityReport
from triage.data.readers import RawTable, _combine, _records_table
from triage.data.records import is_envelope, unwrap
from triage.errors import DataError, NotATicketExport
from triage.evaluation.metrics import bin_index

if TYPE_CHECKING:
    from triage.decision import Triager

SCALE_BITS = 63
"""Confidences are sent as integers ``hi * 2**32 + lo`` of 2**-63: exact, so Spark's sums are exact."""


@dataclass(frozen=True)
class ShippedBundle:
    """How an executor finds and trusts the bundle: the name it was added under, the public keys the driver
    verified it with (base64) and the triager's options on the driver (JSON)."""

    name: str
    trusted_keys: tuple[str, ...]
    options: str


_LOADED: dict[ShippedBundle, Triager] = {}


def shipped_triager(bundle: ShippedBundle) -> Triager:
    """The triager of the shipped bundle, loaded once per Python worker (checksums and signature checked)."""
    if bundle not in _LOADED:
        from pyspark import SparkFiles

        from triage.decision import Triager
        from triage.models import load_bundle
        from triage.models.signing import trusted_keys

        root = Path(SparkFiles.get(bundle.name))
        loaded = load_bundle(root, trusted_keys=trusted_keys(bundle.trusted_keys))
        _LOADED[bundle] = Triager(loaded, **json.loads(bundle.options))
    return _LOADED[bundle]


def _raw_table(batch: pd.DataFrame, layout: Layout) -> tuple[RawTable, pd.DataFrame]:
    """The batch as the local reader would table it, and the position of each of its rows."""
    position = batch[list(POSITION)].reset_index(drop=True)
    rows = batch.drop(columns=list(POSITION)).reset_index(drop=True)
    numbers = (position[POSITION[3]] + 1).tolist()
    path = Path(layout.path)
    if layout.fmt in ("csv", "tsv"):
        good = rows[CORRUPT].isna().to_numpy()
        cells = rows.loc[good, [f"_c{i}" for i in range(len(layout.header))]].fillna("")
        frame, _ = _combine(list(layout.header), cells.to_numpy(dtype=object).tolist())
        return RawTable(path, frame, [n for n, g in zip(numbers, good, strict=True) if g]), position[good]
    if layout.fmt == "jsonl":
        records: list[tuple[int, Any]] = []
        owners: list[int] = []
        for i, line in enumerate(rows["value"].tolist()):
            if not line or not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue  # an unreadable line: counted on the driver (unreadable_rows), never kept
            found = _unwrapped(doc, layout.path)
            records.extend((numbers[i], r) for r in found)
            owners.extend([i] * len(found))
        table = _records_table(path, records, [], "line", "JSON Lines")
        kept = [owners[j] for j, (_, record) in enumerate(records) if isinstance(record, dict)]
        return table, position.iloc[kept].reset_index(drop=True)
    frame = rows.astype("string").fillna("").astype(str)  # Parquet: as the local reader types its cells
    return RawTable(path, frame, numbers, unit="row"), position


def _unwrapped(doc: Any, where: str) -> list[Any]:
    if not is_envelope(doc):
        return [doc]
    try:
        return list(unwrap(doc, where).records)
    except NotATicketExport:
        return []


def canonical(batch: pd.DataFrame, layout: Layout, mapping: ColumnMapping, *, require_labels: bool) -> pd.DataFrame:
    """Canonical tickets of one batch (``id``, ``text``, the heads found...) with their position columns; as
    the local loader, rows without text are left out, and for evaluation rows without any label."""
    table, position = _raw_table(batch, layout)
    if table.frame.empty:
        return pd.DataFrame(columns=["id", "text", *POSITION])
    frame = _canonical(table, mapping, DataQualityReport(files=[layout.path], mapping=mapping.name), require_labels)
    frame = frame.reset_index(drop=True)
    for column in POSITION:
        frame[column] = position[column].to_numpy()
    heads = [h for h in HEADS if h in frame.columns]
    keep = frame["text"] != ""
    for head in heads:
        frame[head] = frame[head].where(frame[head] != "")
    if require_labels:
        keep &= frame[heads].notna().any(axis=1) if heads else False
    return frame[keep].reset_index(drop=True)


def check_columns(columns: list[str], layout: Layout, mapping: ColumnMapping, *, require_labels: bool) -> None:
    """Fail on the driver, as the local loader does, when a column the mapping names is missing."""
    names = list(layout.header) if layout.fmt in ("csv", "tsv") else [c for c in columns if c not in POSITION]
    if layout.fmt == "jsonl":
        return  # JSON records carry their own fields: checked per batch on the executors
    frame = pd.DataFrame({name: pd.Series([], dtype=str) for name in dict.fromkeys(names)})
    _canonical(
        RawTable(Path(layout.path), frame, []),
        mapping,
        DataQualityReport(files=[layout.path], mapping=mapping.name),
        require_labels,
    )


def predict_batches(
    batches: Iterator[pd.DataFrame], layout: Layout, mapping: ColumnMapping, bundle: ShippedBundle
) -> Iterator[pd.DataFrame]:
    """``mapInPandas``: the columns of local ``triage predict`` (id, per head label, confidence, threshold and
    prediction set, then decision, reason codes and reasons) for each ticket."""
    from triage.registry.predictions import decision_columns

    triager = shipped_triager(bundle)
    for batch in batches:
        frame = canonical(batch, layout, mapping, require_labels=False)
        if frame.empty:
            continue
        out = pd.DataFrame(decision_columns(triager, frame["text"].tolist()))
        out.insert(0, "id", frame["id"].astype(str).to_numpy())
        yield out


def confidence_parts(confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each confidence (in [0, 1]) as ``hi * 2**32 + lo`` units of 2**-63, exactly; raises when a value has
    finer bits (below 2**-11, impossible for a top class of fewer than 2,048)."""
    scaled = np.ldexp(np.asarray(confidence, dtype=np.float64), 31)
    hi = np.floor(scaled)
    lo = np.ldexp(scaled - hi, 32)
    if not (np.array_equal(lo, np.floor(lo)) and (hi >= 0).all()):
        raise DataError("a confidence is not a multiple of 2**-63: too many classes for exact sums")
    return hi.astype(np.int64), lo.astype(np.int64)


def evaluation_batches(
    batches: Iterator[pd.DataFrame], layout: Layout, mapping: ColumnMapping, bundle: ShippedBundle
) -> Iterator[pd.DataFrame]:
    """``mapInPandas``: per labelled ticket, what :func:`triage.evaluation.evaluate` counts: per head the true
    and predicted labels, the confidence (bin, exact parts), confident, the true label in the prediction set
    and the set's size; then auto-routed, unfamiliar, the rules' vetoes, all heads right, an unknown label and
    the single global threshold's decision. Also the ticket's position, for the risk-coverage order."""
    triager = shipped_triager(bundle)
    model = triager.bundle.model
    for batch in batches:
        frame = canonical(batch, layout, mapping, require_labels=True)
        if frame.empty:
            continue
        assessment = triager.assess(frame["text"].tolist())
        n = len(frame)
        out = pd.DataFrame({c: frame[c].to_numpy() for c in POSITION})
        all_correct = np.ones(n, dtype=bool)
        unknown_any = np.zeros(n, dtype=bool)
        for head, p in assessment.probabilities.items():
            classes = model.classes(head).astype(str)
            truth = frame[head] if head in frame.columns else pd.Series([None] * n, dtype=object)
            labelled = truth.notna().to_numpy()
            truth_str = truth.astype(object).where(labelled, "").astype(str).to_numpy()
            predicted = classes[p.argmax(axis=1)]
            confidence = p.max(axis=1)
            correct = predicted == truth_str
            known = np.isin(truth_str, classes)
            index = np.where(known, np.searchsorted(classes, truth_str), 0)
            in_set = known & assessment.prediction_sets[head][np.arange(n), index]
            hi, lo = confidence_parts(confidence)
            out[f"{head}_true"] = pd.Series(truth_str, dtype=object).where(labelled, None)
            out[f"{head}_pred"] = predicted
            out[f"{head}_conf"] = confidence
            out[f"{head}_bin"] = bin_index(confidence).astype(np.int32)
            out[f"{head}_hi"], out[f"{head}_lo"] = hi, lo
            out[f"{head}_confident"] = assessment.confident[head]
            out[f"{head}_in_set"] = in_set
            out[f"{head}_set_size"] = assessment.prediction_sets[head].sum(axis=1).astype(np.int32)
            all_correct[labelled] &= correct[labelled]
            unknown_any |= labelled & ~known
        out["auto"] = assessment.auto_route
        out["unfamiliar"] = assessment.unfamiliar
        for name in ("priority_risk", "tier_risk"):
            risk = getattr(assessment, name)
            out[name] = pd.Series(risk, dtype="boolean") if risk is not None else pd.Series([None] * n, dtype="boolean")
        out["all_correct"] = all_correct
        out["unknown_any"] = unknown_any
        out["global_auto"] = np.logical_and.reduce(
            [p.max(axis=1) >= triager.default_threshold for p in assessment.probabilities.values()]
        )
        yield out


def risk_terms(
    batches: Iterator[pd.DataFrame], offsets: dict[tuple[int, str], tuple[int, int]], picks: dict[str, frozenset[int]]
) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` over the tickets sorted by head, then confidence (highest first), then as read: per head,
    the exact sum of this partition's risks ``errors in the top k / k`` and the risk and confidence at the
    picked ranks. ``offsets`` gives per (partition, head) the tickets and errors of the partitions before it."""
    from fractions import Fraction

    from triage.evaluation.metrics import exact_sum

    state: dict[str, tuple[int, int]] = {}
    totals: dict[str, Fraction] = {}
    rows = []
    for batch in batches:
        if batch.empty:
            continue
        partition = int(batch["pid"].iloc[0])
        for head, part in batch.groupby("head", sort=False):
            head = str(head)
            rank, errors = state.get(head) or offsets[(partition, head)]
            cumulative = errors + np.cumsum(part["wrong"].to_numpy(dtype=np.int64))
            ranks = rank + np.arange(1, len(part) + 1)
            risk = cumulative / ranks
            totals[head] = totals.get(head, Fraction(0)) + exact_sum(risk)
            confidence = part["conf"].to_numpy()
            for i in np.flatnonzero(np.isin(ranks - 1, list(picks[head]))):
                rows.append((head, int(ranks[i] - 1), float(risk[i]), float(confidence[i]), ""))
            state[head] = (int(ranks[-1]), int(cumulative[-1]))
    for head, total in totals.items():
        rows.append((head, -1, 0.0, 0.0, f"{total.numerator}/{total.denominator}"))
    yield pd.DataFrame(rows, columns=["head", "rank", "risk", "conf", "sum"])
