"""Reading exports with Spark: each path (a file or a folder of files of one format) becomes a DataFrame of the
raw columns plus where each row is (file, split, position), so that results can be put in the order a local
run reads the same files. CSV/TSV and JSON Lines may be gzip or bzip2 compressed; Parquet as it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from triage.data.readers import detect_format
from triage.errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SPARK_FORMATS = ("csv", "tsv", "jsonl", "parquet")
SPARK_COMPRESSION = (None, ".gz", ".bz2")
CORRUPT = "__triage_corrupt"
POSITION = ("__triage_input", "__triage_file", "__triage_block", "__triage_row")
"""Meta columns: the index of the path on the command line, the file, the start of its split, the row."""


@dataclass(frozen=True)
class Layout:
    """How the rows of one input are to be read back into a table in Python (plain data, sent to executors):
    the format, a CSV's header (its columns are read by position) and the path as given."""

    index: int
    path: str
    fmt: str
    header: tuple[str, ...] = ()


@dataclass
class Source:
    """One input: its layout and the Spark DataFrame of its rows (raw columns and :data:`POSITION`)."""

    layout: Layout
    frame: DataFrame


def _files(spark: SparkSession, path: str) -> list[str]:
    """The data files at ``path`` (itself, or the visible files of a folder tree), through Hadoop's file system
    so that local paths and cluster URIs (hdfs://, s3a://, abfss://, dbfs:/) work alike."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)  # type: ignore[union-attr]
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(hadoop_path):
        raise DataError(f"{path}: no such file or folder")
    if fs.getFileStatus(hadoop_path).isFile():
        return [path]
    found = []
    listing = fs.listFiles(hadoop_path, True)
    while listing.hasNext():
        name = str(listing.next().getPath().toString())
        if not any(part.startswith(("_", ".")) for part in name.split("/")[-1:]):
            found.append(name)
    if not found:
        raise DataError(f"{path}: the folder holds no data files")
    return sorted(found)


def _format(path: str, files: Sequence[str]) -> str:
    """The one format of the files at ``path``, from their names."""
    from pathlib import Path

    formats = set()
    for name in files:
        fmt, compression = detect_format(Path(name.split("/")[-1]))  # DataError on an unknown format
        if fmt not in SPARK_FORMATS or compression not in SPARK_COMPRESSION:
            raise DataError(
                f"{name}: {fmt}{compression or ''} is not read on Spark; use CSV/TSV or JSON Lines (optionally .gz "
                "or .bz2) or Parquet, or the local engine (--engine local) for other formats"
            )
        formats.add(fmt)
    if len(formats) > 1:
        raise DataError(f"{path}: the folder mixes formats ({', '.join(sorted(formats))}); give one path per format")
    return formats.pop()


def _with_position(frame: DataFrame, index: int) -> DataFrame:
    from pyspark.sql import functions as F

    return frame.select(
        "*",
        F.lit(index).alias(POSITION[0]),
        F.col("_metadata.file_path").alias(POSITION[1]),
        F.col("_metadata.file_block_start").alias(POSITION[2]),
        F.monotonically_increasing_id().alias(POSITION[3]),
    )


def _csv(spark: SparkSession, path: str, fmt: str, encoding: str) -> tuple[DataFrame, tuple[str, ...]]:
    """A CSV's rows with columns by position (``_c0``...) and its header as the local reader takes it
    (stripped; a repeated name is later one multi-valued column); rows of the wrong width are marked corrupt."""
    from pyspark.sql.types import StringType, StructField, StructType

    first = spark.read.option("encoding", encoding).text(path).limit(1).collect()
    if not first:
        raise DataError(f"{path}: the file is empty")
    line = first[0][0].lstrip("\ufeff")
    delimiter = "\t" if fmt == "tsv" else max(",;\t|", key=line.count)
    header = spark.read.options(sep=delimiter, encoding=encoding, quote='"', escape='"').csv(
        spark.sparkContext.parallelize([line])
    )
    names = tuple(str(v or "").strip() for v in header.first() or ())
    schema = StructType(
        [StructField(f"_c{i}", StringType()) for i in range(len(names))] + [StructField(CORRUPT, StringType())]
    )
    frame = spark.read.csv(
        path,
        schema=schema,
        header=True,
        multiLine=True,
        sep=delimiter,
        quote='"',
        escape='"',
        encoding=encoding,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT,
    )
    return frame, names


def read_sources(spark: SparkSession, paths: Sequence[str], *, encoding: str | None = None) -> list[Source]:
    """One :class:`Source` per path. A missing path, an unknown or unsupported format, or a folder of mixed
    formats raises :class:`DataError` naming it, before anything runs on the executors."""
    if not paths:
        raise DataError("no data files given")
    sources = []
    for index, raw_path in enumerate(paths):
        path = str(raw_path)
        files = _files(spark, path)
        fmt = _format(path, files)
        header: tuple[str, ...] = ()
        if fmt in ("csv", "tsv"):
            frame, header = _csv(spark, path, fmt, encoding or "UTF-8")
        elif fmt == "jsonl":
            frame = spark.read.option("encoding", encoding or "UTF-8").text(path)
        else:
            try:
                frame = spark.read.parquet(path)
            except Exception as exc:  # Spark's AnalysisException, say, for a file that is not Parquet
                raise DataError(f"{path}: not readable as Parquet ({type(exc).__name__})") from None
        sources.append(Source(Layout(index, path, fmt, header), _with_position(frame, index)))
    return sources
