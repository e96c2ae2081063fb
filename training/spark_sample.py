"""Training on a history too large to read on one machine (``triage train --engine spark``).

Spark reads the exports (files or folders, local or cluster URIs: :mod:`triage.batch.read`), maps and cleans
every ticket on the executors with the local loader's rules (:func:`triage.batch.score.canonical`, then the
creation times parsed as the loader parses them), drops what the local loader drops (no text, no label, a
repeated id, a repeated text with the same labels: the first in file order is kept), counts every class of
every head, and chooses the tickets a capped training uses with the rule of :func:`training.sampling.recent_sample`:
every class's ``min_per_class`` most recent tickets first, then the most recent of the rest up to
``max_tickets``. Only that sample reaches the driver, which trains on it as usual; the rest of the history is
read once and counted, never collected. Without usable timestamps the sample is drawn by a seeded hash of each
row's position (the same sample on every run of the same files, not the one a local run draws).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from functools import partial, reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from training.sampling import MIN_TIMESTAMP_SHARE, Sample
from triage.batch.read import POSITION, Layout
from triage.batch.score import canonical
from triage.data.loader import RARE_POLICY, Tickets, _canonical, _parse_times
from triage.data.mapping import HEADS, ColumnMapping
from triage.data.quality import DataQualityReport, FileRead, HeadQuality
from triage.data.readers import RawTable
from triage.errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

TEXT_FIELDS = ("id", "text")
"""What reaches Spark's cache and the driver of each ticket's text: training reads the cleaned text only, so the
subject and body are not carried (a third of the bytes, each)."""
CREATED = "created_us"
"""The creation time sent from the executors: microseconds since the epoch (UTC), null when unknown."""


def ticket_batches(batches: Iterator[pd.DataFrame], layout: Layout, mapping: ColumnMapping) -> Iterator[pd.DataFrame]:
    """``mapInPandas``: the canonical tickets of each batch with a text (labelled or not: the driver counts
    the unlabelled), their creation time and their position in the input."""
    for batch in batches:
        frame = canonical(batch, layout, mapping, require_labels=False)
        if frame.empty:
            continue
        frame = frame.set_index(pd.RangeIndex(len(frame)))
        _parse_times(frame, DataQualityReport(files=[layout.path], mapping=mapping.name), mapping)
        times = pd.to_datetime(frame["created_at"], utc=True)
        out = pd.DataFrame({field: frame[field].astype(str).to_numpy() for field in TEXT_FIELDS})
        for head in HEADS:
            values = frame[head] if head in frame.columns else pd.Series([None] * len(frame))
            out[head] = values.astype(object).where(values.notna(), None).to_numpy()
        out[CREATED] = pd.array((times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1), dtype="Int64")
        for column in POSITION:
            out[column] = frame[column].to_numpy()
        yield out


def _schema() -> Any:
    from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

    fields = [StructField(name, StringType()) for name in (*TEXT_FIELDS, *HEADS)]
    fields.append(StructField(CREATED, LongType()))
    kinds = (IntegerType(), StringType(), LongType(), LongType())
    fields += [StructField(name, kind) for name, kind in zip(POSITION, kinds, strict=True)]
    return StructType(fields)


def _columns_report(paths: Sequence[str], mapping: ColumnMapping, sources: list[Any]) -> DataQualityReport:
    """The report with the columns each field came from (as the local loader finds them in the first input)."""
    from triage.batch.score import check_columns

    report = DataQualityReport(files=list(paths), mapping=mapping.name)
    for source in sources:
        check_columns(source.frame.columns, source.layout, mapping, require_labels=True)
    first = sources[0]
    names = (
        list(first.layout.header)
        if first.layout.fmt in ("csv", "tsv")
        else [c for c in first.frame.columns if c not in POSITION and not c.startswith("__triage")]
    )
    empty = pd.DataFrame({name: pd.Series([], dtype=str) for name in dict.fromkeys(names)})
    if first.layout.fmt != "jsonl":
        _canonical(RawTable(Path(first.layout.path), empty, []), mapping, report, True)
    return report


def _first_of_each(frame: DataFrame, keys: list[str]) -> tuple[DataFrame, int]:
    """The first row (in input order) of each group of equal ``keys``; the number of rows left out."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ranked = frame.withColumn("__n", F.row_number().over(Window.partitionBy(*keys).orderBy(*POSITION)))
    dropped = ranked.where(F.col("__n") > 1).count()
    return ranked.where(F.col("__n") == 1).drop("__n"), int(dropped)


def _order(dated: bool, seed: int) -> list[Column]:
    """Newest first (undated last; of equal times, the later row first), or a seeded draw by position."""
    from pyspark.sql import functions as F

    if dated:
        return [F.col(CREATED).desc_nulls_last(), *(F.col(p).desc() for p in POSITION)]
    return [F.xxhash64(F.lit(seed), *POSITION).asc(), *(F.col(p).asc() for p in POSITION)]


def spark_training_tickets(
    spark: SparkSession,
    paths: Sequence[str],
    mapping: ColumnMapping | None = None,
    *,
    max_tickets: int | None,
    min_per_class: int = 50,
    min_class_count: int | None = None,
    seed: int = 0,
    warn: Any = None,
) -> tuple[Tickets, Sample]:
    """The tickets a training on ``paths`` uses, chosen on Spark (see the module), with the quality report of
    the whole history, and how they were chosen."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from triage.batch.spark import _balanced, _read

    mapping = mapping or ColumnMapping()
    if max_tickets is not None and max_tickets < 0:
        raise ValueError(f"max_tickets must be 0 (no cap) or positive, got {max_tickets}")
    sources, rows_read = _read(spark, list(paths), mapping, warn)
    report = _columns_report(paths, mapping, sources)
    frames = []
    for source, rows in zip(sources, rows_read, strict=True):
        run = partial(ticket_batches, layout=source.layout, mapping=mapping)
        frames.append(_balanced(spark, source.frame).mapInPandas(lambda it, run=run: run(it), _schema()))  # type: ignore[misc]
        report.rows_read += rows
        report.reads.append(FileRead(file=source.layout.path, format=f"{source.layout.fmt} (Spark)", rows=rows))
    tickets = frames[0]
    for frame in frames[1:]:
        tickets = tickets.unionByName(frame)
    tickets = tickets.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with_text = tickets.count()
        _count(report, "empty_text", report.rows_read - with_text)
        present = tickets.select(*(F.count(F.col(h)).alias(h) for h in HEADS)).first()
        heads = [h for h in HEADS if present is not None and present[h]]
        if not heads:
            raise DataError(f"no label column found in {', '.join(paths)}; name one with --label HEAD=COLUMN")
        labelled = tickets.where(reduce(operator.or_, [F.col(h).isNotNull() for h in heads]))
        _count(report, "missing_label", with_text - labelled.count())
        kept, repeated = _first_of_each(labelled, ["id"])
        _count(report, "duplicate_id", repeated)
        kept, repeated = _first_of_each(kept, ["text", *heads])
        _count(report, "duplicate", repeated)
        kept = kept.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            return _sampled(kept, heads, report, max_tickets, min_per_class, min_class_count, seed)
        finally:
            kept.unpersist()
    finally:
        tickets.unpersist()


def _count(report: DataQualityReport, reason: str, n: int) -> None:
    if n:
        report.dropped[reason] = report.dropped.get(reason, 0) + int(n)
        report.problems_total += int(n)


def _sampled(
    kept: DataFrame,
    heads: list[str],
    report: DataQualityReport,
    max_tickets: int | None,
    min_per_class: int,
    min_class_count: int | None,
    seed: int,
) -> tuple[Tickets, Sample]:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    n = kept.count()
    counts = {
        h: {
            str(r[h]): int(r["n"])
            for r in kept.where(F.col(h).isNotNull()).groupBy(h).agg(F.count("*").alias("n")).collect()
        }
        for h in heads
    }
    for head in heads:
        labels = dict(sorted(counts[head].items(), key=lambda kv: (-kv[1], kv[0])))
        rare = {k: v for k, v in labels.items() if min_class_count and v < min_class_count}
        report.heads[head] = HeadQuality(
            column=report.columns.get(head, head),
            labelled=sum(labels.values()),
            missing=n - sum(labels.values()),
            label_counts=labels,
            rare_classes=rare,
            rare_policy=RARE_POLICY if rare else "",
        )
    report.rows_kept = n
    if min_per_class < 1:
        raise ValueError(f"min_per_class must be at least 1, got {min_per_class}")
    if not max_tickets or n <= max_tickets:
        frame = _collect(kept)
        return Tickets(frame, report), Sample(
            np.arange(n), n, max_tickets or None, min_per_class, "all", 0, engine="spark"
        )
    dated = kept.where(F.col(CREATED).isNotNull()).count() >= MIN_TIMESTAMP_SHARE * n
    order = _order(dated, seed)
    reserved = F.lit(False)
    for head in heads:
        n_classes = len(counts[head])
        per_class = max(1, min(min_per_class, max_tickets // max(1, n_classes * len(heads))))
        rank = F.row_number().over(Window.partitionBy(head).orderBy(*order))
        kept = kept.withColumn(f"__first_{head}", F.col(head).isNotNull() & (rank <= per_class))
        reserved = reserved | F.col(f"__first_{head}")
    flagged = kept.withColumn("__reserved", reserved).persist()
    try:
        n_reserved = flagged.where("__reserved").count()
        in_top = flagged.orderBy(*order).limit(max_tickets).where("__reserved").count()
        extra = n_reserved - in_top  # reserved tickets older than the cut: they push out the oldest of the rest
        rest = flagged.where(~F.col("__reserved")).orderBy(*order).limit(max(0, max_tickets - n_reserved))
        chosen = flagged.where("__reserved").unionByName(rest)
        oldest = None
        if dated:
            newest = flagged.orderBy(*order).limit(max_tickets - extra)
            cut = newest.agg(F.min(CREATED), F.count(F.when(F.col(CREATED).isNull(), 1))).first()
            if cut is not None and cut[0] is not None and not cut[1]:  # as locally: none when undated are in it
                oldest = f"{pd.Timestamp(cut[0], unit='us', tz='UTC'):%Y-%m-%d %H:%M}"
        frame = _collect(chosen)
    finally:
        flagged.unpersist()
    method = "time" if dated else "random"
    sample = Sample(np.arange(len(frame)), n, max_tickets, min_per_class, method, extra, oldest, engine="spark")
    return Tickets(frame, report), sample


def _collect(tickets: DataFrame) -> pd.DataFrame:
    """The chosen tickets on the driver, in input order, as the local loader's frame (canonical columns)."""
    columns = [*TEXT_FIELDS, *HEADS, CREATED, *POSITION]
    collected: pd.DataFrame = tickets.select(*columns).toPandas()
    rows = collected.sort_values(list(POSITION), kind="stable").reset_index(drop=True)
    frame = pd.DataFrame({"id": rows["id"].astype(str)})
    frame["created_at"] = pd.to_datetime(rows[CREATED].astype("Int64").astype("float64"), unit="us", utc=True)
    frame["subject"] = frame["body"] = ""  # not collected: the cleaned text holds both
    frame["text"] = rows["text"].fillna("").astype(str)
    for head in HEADS:
        if rows[head].notna().any():
            frame[head] = rows[head].astype(object).where(rows[head].notna(), None)
    frame["provenance"] = "export"
    frame["_file"], frame["_row"], frame["_unit"] = rows[POSITION[1]], rows[POSITION[3]] + 1, "row"
    return frame
