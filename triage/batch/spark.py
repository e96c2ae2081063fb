"""Batch prediction and evaluation on Spark. The driver verifies the bundle once, ships its folder to the
executors (``SparkContext.addFile``) and only ever receives aggregates: decision counts, or the counts that
``metrics.json`` is computed from.

>>> spark = spark_session("local[2]")  # doctest: +SKIP
>>> predict(spark, "models/default", ["s3a://desk/tickets/2025/"], "s3a://desk/triaged/")  # doctest: +SKIP
{'auto_route': 3310, 'review': 6690}
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.batch.aggregate import HeadCounts, OverallCounts, Pair, metrics_from_counts
from triage.batch.read import CORRUPT, POSITION, Source, read_sources
from triage.batch.score import (
    SCALE_BITS,
    ShippedBundle,
    check_columns,
    evaluation_batches,
    predict_batches,
    risk_terms,
)
from triage.data.mapping import ColumnMapping
from triage.errors import DataError
from triage.evaluation.metrics import ConfidenceBin

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from triage.data.quality import DataQualityReport
    from triage.decision import Triager

RISK_POINTS = 20


def spark_session(master: str | None = None, *, app_name: str = "triage") -> SparkSession:
    """The session to run on: ``master`` (``local[2]``, ``spark://host:7077``, ``yarn``...) or, without it, what
    ``spark-submit`` or the cluster configured (a local one when nothing is)."""
    import sys

    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    conf = SparkConf()
    if (master or conf.get("spark.master", "local[*]")).startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local workers run this Python (the venv's)
        memory = local_driver_memory(conf, dict(os.environ))
        if memory is not None:
            builder = builder.config("spark.driver.memory", memory)
    return builder.getOrCreate()


def local_driver_memory(conf: Any, environ: dict[str, str]) -> str | None:
    """The heap of a local Spark's one JVM (driver and executors alike) unless the user chose one: a quarter of
    the machine's memory, between 1 and 4 GB. Spark's own 1 GB default loses task results and runs out of heap
    on a million tickets (the text of a training sample is collected through it); a heap is a limit, not an
    allocation."""
    if conf.contains("spark.driver.memory") or "SPARK_DRIVER_MEMORY" in environ:
        return None
    if "--driver-memory" in environ.get("PYSPARK_SUBMIT_ARGS", ""):
        return None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on every platform
        return None
    return f"{max(1, min(4, total // 4 // 2**30))}g"


def ship_bundle(spark: SparkSession, triager: Triager, options: dict[str, Any]) -> ShippedBundle:
    """Make the verified bundle's folder available to every executor, with the keys that verified it on the
    driver and the triager's ``options`` (:meth:`~triage.decision.Triager.options`)."""
    import json

    from triage.models.bundle import default_trusted_keys
    from triage.models.signing import public_key_text

    root = Path(triager.bundle.path).resolve()
    spark.sparkContext.addFile(str(root), recursive=True)
    keys = tuple(sorted(public_key_text(k) for k in default_trusted_keys().values()))
    return ShippedBundle(root.name, keys, json.dumps(options, sort_keys=True))


def _balanced(spark: SparkSession, frame: DataFrame) -> DataFrame:
    """A frame with at least as many partitions as the cluster has cores (one big CSV is a single partition)."""
    cores = spark.sparkContext.defaultParallelism
    return frame.repartition(cores) if frame.rdd.getNumPartitions() < cores else frame


def _read(spark: Any, paths: Sequence[str], mapping: ColumnMapping, warn: Any) -> tuple[list[Source], list[int]]:
    """The sources of ``paths`` and the rows read from each, its unreadable rows counted in the same pass and
    said through ``warn``."""
    sources = read_sources(spark, paths, encoding=mapping.encoding)
    read = []
    for source in sources:
        rows, bad = _row_counts(source)
        read.append(rows)
        if bad and warn:
            warn(f"{source.layout.path}: {bad} unreadable rows left out (wrong field count or invalid JSON)")
    return sources, read


def _row_counts(source: Source) -> tuple[int, int]:
    """The rows of a source and, of them, those unreadable (left out): a CSV row whose field count is not the
    header's, a JSON line that does not parse. One pass over the data."""
    from pyspark.sql import functions as F

    layout, frame = source.layout, source.frame
    if layout.fmt in ("csv", "tsv"):
        cached = frame.cache()  # Spark filters on the corrupt-record column of a cached CSV only
        try:
            counts = cached.agg(F.count(F.lit(1)), F.count(F.col(CORRUPT))).first()
        finally:
            cached.unpersist()
    elif layout.fmt == "jsonl":
        line = F.trim(F.col("value"))
        bad = (line != "") & F.get_json_object(F.col("value"), "$").isNull()
        counts = frame.agg(F.count(F.lit(1)), F.count(F.when(bad, 1))).first()
    else:
        return frame.count(), 0
    assert counts is not None  # an aggregate without grouping has one row
    return int(counts[0]), int(counts[1])


def _scored(
    spark: SparkSession, sources: list[Source], mapping: ColumnMapping, schema: Any, function: Any, *, labels: bool
) -> DataFrame:
    frames = []
    for source in sources:
        check_columns(source.frame.columns, source.layout, mapping, require_labels=labels)
        run = partial(function, layout=source.layout, mapping=mapping)
        frames.append(_balanced(spark, source.frame).mapInPandas(lambda it, run=run: run(it), schema))  # type: ignore[misc]
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def _decision_schema(triager: Triager) -> Any:
    """The Spark schema of local ``predict``'s columns, from the columns it writes for one probe text."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    from triage.registry.predictions import decision_columns

    columns = ["id", *decision_columns(triager, ["probe"])]
    numeric = tuple(f"_{suffix}" for suffix in ("confidence", "threshold"))
    return StructType([StructField(c, DoubleType() if c.endswith(numeric) else StringType()) for c in columns])


def predict(
    spark: SparkSession,
    triager: Triager,
    options: dict[str, Any],
    paths: Sequence[str],
    out_dir: str,
    mapping: ColumnMapping | None = None,
    *,
    warn: Any = None,
) -> dict[str, int]:
    """Score every ticket of ``paths`` and write Parquet to ``out_dir`` (replaced), partitioned by decision,
    with the columns of local ``triage predict``; returns the number of tickets per decision."""
    from pyspark.sql import functions as F

    mapping = mapping or ColumnMapping()
    sources, _ = _read(spark, paths, mapping, warn)
    bundle = ship_bundle(spark, triager, options)
    function = partial(predict_batches, bundle=bundle)
    scored = _scored(spark, sources, mapping, _decision_schema(triager), function, labels=False)
    scored.write.mode("overwrite").partitionBy("decision").parquet(out_dir)
    literal = re.sub(r"([\\\[\]{}*?])", r"\\\1", str(out_dir))  # read back the folder itself, not a glob
    written = spark.read.parquet(literal).groupBy("decision").agg(F.count(F.lit(1)).alias("n")).collect()
    return {row["decision"]: int(row["n"]) for row in written}


def _evaluation_schema(triager: Triager) -> Any:
    from pyspark.sql.types import (
        BooleanType,
        DoubleType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    fields = [
        StructField(POSITION[0], IntegerType()),
        StructField(POSITION[1], StringType()),
        StructField(POSITION[2], LongType()),
        StructField(POSITION[3], LongType()),
    ]
    for head in triager.bundle.model.heads_:
        fields += [
            StructField(f"{head}_true", StringType()),
            StructField(f"{head}_pred", StringType()),
            StructField(f"{head}_conf", DoubleType()),
            StructField(f"{head}_bin", IntegerType()),
            StructField(f"{head}_hi", LongType()),
            StructField(f"{head}_lo", LongType()),
            StructField(f"{head}_confident", BooleanType()),
            StructField(f"{head}_in_set", BooleanType()),
            StructField(f"{head}_set_size", IntegerType()),
        ]
    fields += [
        StructField(name, BooleanType())
        for name in ("auto", "unfamiliar", "priority_risk", "tier_risk", "all_correct", "unknown_any", "global_auto")
    ]
    return StructType(fields)


def _count(condition: Any) -> Any:
    from pyspark.sql import functions as F

    return F.count(F.when(condition, 1))


def _overall(rows: DataFrame) -> OverallCounts:
    from pyspark.sql import functions as F

    c = F.col
    unknown = c("unknown_any")
    got = rows.agg(
        F.count(F.lit(1)).alias("n"),
        _count(c("auto")).alias("auto"),
        _count(c("auto") & c("all_correct")).alias("auto_correct"),
        _count(c("unfamiliar")).alias("unfamiliar"),
        _count(c("priority_risk")).alias("priority_risk"),
        F.count(c("priority_risk")).alias("priority_known"),
        _count(c("tier_risk")).alias("tier_risk"),
        F.count(c("tier_risk")).alias("tier_known"),
        _count(unknown).alias("unknown"),
        _count(unknown & ~c("auto")).alias("unknown_deferred"),
        _count(c("global_auto")).alias("global_auto"),
        _count(c("global_auto") & c("all_correct")).alias("global_auto_correct"),
        _count(unknown & ~c("global_auto")).alias("global_unknown_deferred"),
    ).first()
    assert got is not None
    values = got.asDict()
    return OverallCounts(
        n=values["n"],
        auto=values["auto"],
        auto_correct=values["auto_correct"],
        unfamiliar=values["unfamiliar"],
        priority_risk=values["priority_risk"] if values["priority_known"] else None,
        tier_risk=values["tier_risk"] if values["tier_known"] else None,
        unknown=values["unknown"],
        unknown_deferred=values["unknown_deferred"],
        global_auto=values["global_auto"],
        global_auto_correct=values["global_auto_correct"],
        global_unknown_deferred=values["global_unknown_deferred"],
    )


def _stacked(rows: DataFrame, heads: list[str]) -> DataFrame:
    """One row per (labelled ticket, head): the heads side by side become rows, so one pass serves them all."""
    from pyspark.sql import functions as F

    c = F.col
    parts = [
        rows.where(c(f"{head}_true").isNotNull()).select(
            F.lit(head).alias("head"),
            c(f"{head}_true").alias("true"),
            c(f"{head}_pred").alias("pred"),
            c(f"{head}_conf").alias("conf"),
            c(f"{head}_bin").alias("bin"),
            c(f"{head}_hi").alias("hi"),
            c(f"{head}_lo").alias("lo"),
            c(f"{head}_confident").alias("confident"),
            c(f"{head}_in_set").alias("in_set"),
            c(f"{head}_set_size").alias("set_size"),
            c("auto"),
            *POSITION,
        )
        for head in heads
    ]
    stacked = parts[0]
    for part in parts[1:]:
        stacked = stacked.unionByName(part)
    return stacked


def _risk_coverage(stacked: DataFrame, sizes: dict[str, int]) -> dict[str, tuple[Fraction, list[dict[str, Any]]]]:
    """Per head, the exact sum of the risks of routing the most confident first (ties in the order the files
    are read, as the local evaluation's stable sort) and the curve's points: one distributed sort of every
    head's tickets, then two passes, with only per-partition counts and 20 points per head on the driver."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    c = F.col
    ordered = (
        stacked.select("head", "conf", (c("true") != c("pred")).cast("int").alias("wrong"), *POSITION)
        .orderBy(c("head"), c("conf").desc(), *(c(p).asc() for p in POSITION))
        .withColumn("pid", F.spark_partition_id())
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        counts = ordered.groupBy("pid", "head").agg(F.count(F.lit(1)).alias("n"), F.sum("wrong").alias("e")).collect()
        offsets: dict[tuple[int, str], tuple[int, int]] = {}
        running: dict[str, tuple[int, int]] = {}
        for row in sorted(counts, key=lambda r: r["pid"]):
            rank, errors = running.get(row["head"], (0, 0))
            offsets[(int(row["pid"]), row["head"])] = (rank, errors)
            running[row["head"]] = (rank + int(row["n"]), errors + int(row["e"]))
        picks = {
            head: frozenset(
                np.unique(np.ceil(n * np.arange(1, RISK_POINTS + 1) / RISK_POINTS).astype(int) - 1).tolist()
            )
            for head, n in sizes.items()
        }
        schema = StructType(
            [
                StructField("head", StringType()),
                StructField("rank", LongType()),
                StructField("risk", DoubleType()),
                StructField("conf", DoubleType()),
                StructField("sum", StringType()),
            ]
        )
        terms = partial(risk_terms, offsets=offsets, picks=picks)
        got = ordered.select("head", "conf", "wrong", "pid").mapInPandas(lambda it: terms(it), schema).collect()
    finally:
        ordered.unpersist()
    result = {}
    for head, n in sizes.items():
        mine = [r for r in got if r["head"] == head]
        total = sum((Fraction(r["sum"]) for r in mine if r["rank"] < 0), Fraction(0))
        points = sorted((r for r in mine if r["rank"] >= 0), key=lambda r: r["rank"])
        curve = [
            {"coverage": round((r["rank"] + 1) / n, 4), "risk": round(r["risk"], 4), "threshold": round(r["conf"], 4)}
            for r in points
        ]
        result[head] = (total, curve)
    return result


def _head_counts(rows: DataFrame, heads: list[str]) -> dict[str, HeadCounts]:
    """Per head with labelled tickets: its (true, predicted) pairs, confidence bins and prediction-set counts,
    from three aggregations over every head at once, and its risk-coverage sums."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    c = F.col
    stacked = _stacked(rows, heads).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        pairs = (
            stacked.groupBy("head", "true", "pred")
            .agg(
                F.count(F.lit(1)).alias("n"), _count(c("confident")).alias("confident"), _count(c("auto")).alias("auto")
            )
            .collect()
        )
        bins = (
            stacked.groupBy("head", "bin")
            .agg(
                F.count(F.lit(1)).alias("n"),
                _count(c("true") == c("pred")).alias("correct"),
                F.sum("hi").alias("hi"),
                F.sum("lo").alias("lo"),
            )
            .collect()
        )
        sets = {
            r["head"]: r
            for r in stacked.groupBy("head")
            .agg(
                F.count(F.lit(1)).alias("n"),
                _count(c("in_set")).alias("in_set"),
                F.sum("set_size").alias("size"),
                _count(c("set_size") == 1).alias("single"),
            )
            .collect()
        }
        risks = _risk_coverage(stacked, {head: int(r["n"]) for head, r in sets.items()})
    finally:
        stacked.unpersist()
    result = {}
    for head in heads:
        if head not in sets:
            continue
        head_bins = sorted((b for b in bins if b["head"] == head), key=lambda b: b["bin"])
        result[head] = HeadCounts(
            pairs=[
                Pair(p["true"], p["pred"], int(p["n"]), int(p["confident"]), int(p["auto"]))
                for p in pairs
                if p["head"] == head
            ],
            bins=[
                ConfidenceBin(
                    int(b["bin"]),
                    int(b["n"]),
                    int(b["correct"]),
                    Fraction((int(b["hi"]) << 32) + int(b["lo"]), 1 << SCALE_BITS),
                )
                for b in head_bins
            ],
            in_set=int(sets[head]["in_set"]),
            set_size_sum=int(sets[head]["size"]),
            single_set=int(sets[head]["single"]),
            aurc_sum=risks[head][0],
            curve=risks[head][1],
        )
    return result


def evaluate(
    spark: SparkSession,
    triager: Triager,
    options: dict[str, Any],
    paths: Sequence[str],
    mapping: ColumnMapping | None = None,
    *,
    warn: Any = None,
    report: DataQualityReport | None = None,
) -> dict[str, Any]:
    """``metrics.json`` of local ``triage evaluate`` for the labelled tickets of ``paths``, computed from counts
    aggregated in Spark (the per-ticket rows stay on the executors, cached for the few passes it takes).
    ``report`` gets the rows read and kept (those left out are unreadable, without text or without label)."""
    from pyspark import StorageLevel

    mapping = mapping or ColumnMapping()
    sources, rows_read = _read(spark, paths, mapping, warn)
    if report is not None:
        report.rows_read += sum(rows_read)
    bundle = ship_bundle(spark, triager, options)
    function = partial(evaluation_batches, bundle=bundle)
    rows = _scored(spark, sources, mapping, _evaluation_schema(triager), function, labels=True)
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        overall = _overall(rows)
        if overall.n == 0:
            raise DataError(f"no labelled tickets with text in {', '.join(map(str, paths))}")
        heads = _head_counts(rows, list(triager.bundle.model.heads_))
    finally:
        rows.unpersist()
    if report is not None:
        report.rows_kept += overall.n
        if report.rows_read > overall.n:
            report.dropped["unreadable_no_text_or_no_label"] = report.rows_read - overall.n
    return metrics_from_counts(triager, heads, overall)
