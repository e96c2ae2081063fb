"""The commands of the ``triage`` CLI. Each is short: parse options, call the library, print a summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from triage.cli import app, err
from triage.cli.batch import (
    BatchDataArg,
    Engine,
    EngineOpt,
    MasterOpt,
    bundle_source,
    evaluate_on_spark,
    local_paths,
    predict_on_spark,
    session_of,
)

if TYPE_CHECKING:
    import pandas as pd

    from triage.data import ColumnMapping
    from triage.data.loader import LabelledSource
    from triage.decision import Triager
    from triage.models import Manifest
from triage.cli.options import (
    DataArg,
    DateFormatOpt,
    DayfirstOpt,
    EncodingOpt,
    IdOpt,
    LabelOpt,
    MappingOpt,
    ModelOpt,
    TextOpt,
    TimeOpt,
    mapping_from_options,
)

out = Console()


def _metrics_table(metrics: dict) -> Table:
    table = Table("head", "tickets", "accuracy", "macro-F1", "ECE", "auto-routed", "auto precision", title="metrics")
    for head, m in metrics.items():
        if isinstance(m, dict) and ("accuracy" in m or head == "overall"):
            auto = m.get("auto_route") or {}
            table.add_row(
                head,
                str(m.get("n_tickets", auto.get("n", ""))),
                *(f"{m[k]:.4f}" if k in m else "" for k in ("accuracy", "macro_f1", "ece")),
                f"{auto['coverage']:.1%}" if auto else "",
                f"{auto['precision']:.4f}" if auto.get("precision") is not None else "",
            )
    return table


def _triager(model: Path) -> Triager:
    from triage.decision import Triager
    from triage.models import load_bundle
    from triage.settings import get_settings

    return Triager.from_settings(load_bundle(model), get_settings())


def _precision_targets(values: list[str]) -> dict:
    """``--precision-target`` values as TrainConfig fields: one number for every head, HEAD=NUMBER per head."""
    from triage.data.mapping import HEADS

    default: float | None = 0.95
    per_head: dict[str, float] = {}
    for value in values:
        head, _, number = value.rpartition("=")
        if head and head not in HEADS:
            raise typer.BadParameter(f"{value!r}: unknown head {head!r} (one of {', '.join(HEADS)})")
        try:
            target = float(number)
        except ValueError:
            raise typer.BadParameter(f"{value!r}: expected a number or HEAD=NUMBER") from None
        if not 0.0 <= target < 1.0:
            raise typer.BadParameter(f"{value!r}: a precision target is between 0 and 1")
        if head:
            per_head[head] = target
        else:
            default = target or None
    return {"precision_target": default, "precision_targets": per_head}


def _thresholds_table(manifest: Manifest) -> Table:
    table = Table("head", "target", "head threshold", "own", "pooled", "never routed", title="auto-routing thresholds")
    for head, info in manifest.heads.items():
        sources = [c.source for c in info.class_thresholds.values()]
        never = [label for label, c in info.class_thresholds.items() if c.threshold is None]
        table.add_row(
            head,
            f"{info.precision_target:.2f}" if info.precision_target else "none",
            "never" if info.precision_target and info.threshold is None else f"{info.threshold or 0.5:.2f}",
            str(sources.count("class")),
            str(sources.count("pooled")),
            f"{len(never)}: {', '.join(never[:5])}{' ...' if len(never) > 5 else ''}" if never else "0",
        )
    return table


def _false_alarm_rate(value: str) -> float | str | None:
    """``--novelty-false-alarm``: auto, a rate in (0, 1), or 0 for no novelty check."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        rate = float(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected auto or a number between 0 and 1") from None
    if not 0.0 <= rate < 1.0:
        raise typer.BadParameter(f"{value!r}: a false-alarm rate is between 0 (no novelty check) and 1")
    return rate or None


class Trees(StrEnum):
    """Choices of ``--trees``."""

    auto = "auto"
    on = "on"
    off = "off"


class Head(StrEnum):
    """Choices of ``--head``."""

    auto = "auto"
    svm = "svm"
    logistic = "logistic"


@app.command()
def train(
    data: BatchDataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Bundle directory to write (replaced if present).")],
    text: TextOpt = None,
    label: LabelOpt = None,
    mapping: MappingOpt = None,
    id_column: IdOpt = None,
    time_column: TimeOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    features: Annotated[str, typer.Option(help="auto, tfidf, tfidf+embedding or embedding.")] = "auto",
    trees: Annotated[
        Trees,
        typer.Option(
            help="Boosted trees on the words beside the linear model: auto (kept where they help on a "
            "validation split), on or off.",
        ),
    ] = Trees.auto,
    holdout: Annotated[float, typer.Option(help="Share held out for test metrics (0: train on all).")] = 0.2,
    max_tickets: Annotated[
        int,
        typer.Option(
            min=0,
            help="Train on at most this many tickets: the most recent (a random sample without timestamps), "
            "every class keeping --min-per-class; 0: every ticket. The share used is printed and kept in the "
            "manifest.",
        ),
    ] = 100_000,
    min_per_class: Annotated[
        int, typer.Option(min=1, help="With --max-tickets: tickets every class keeps, however old.")
    ] = 50,
    no_refit: Annotated[
        bool,
        typer.Option(
            "--no-refit",
            help="Ship the model measured on the hold-out instead of refitting it on every ticket afterwards.",
        ),
    ] = False,
    embedding_model: Annotated[str | None, typer.Option(help="Sentence-transformer name or folder.")] = None,
    min_class_count: Annotated[int, typer.Option(help="Rarer classes are left out of their head.")] = 5,
    precision_target: Annotated[
        list[str] | None,
        typer.Option(
            help="Precision the auto-routed tickets of each class must reach, at 95% confidence: a number for "
            "every head and/or HEAD=NUMBER, repeatable (default 0.95; 0: no target, fixed threshold 0.5)."
        ),
    ] = None,
    novelty_false_alarm: Annotated[
        str,
        typer.Option(
            help="Share of ordinary tickets flagged unfamiliar, mostly ones the classifier is unsure of anyway: "
            "auto (the lowest that defers --novelty-target of simulated new kinds of request, found by hiding a "
            "few known classes at a time), a number, or 0 (no novelty check)."
        ),
    ] = "auto",
    novelty_target: Annotated[
        float,
        typer.Option(
            min=0.01, max=0.99, help="With --novelty-false-alarm auto: share of simulated new kinds to defer."
        ),
    ] = 0.9,
    novelty_seconds: Annotated[
        float, typer.Option(min=1.0, help="With --novelty-false-alarm auto: time budget of the simulation.")
    ] = 30.0,
    fine_tune: Annotated[
        Trees,
        typer.Option(
            help="Adapt the sentence encoder to the classes (contrastive fine-tuning, once per calibration fold "
            "and once on all tickets; minutes of CPU): auto (when the median class has under 15 tickets and "
            "there are at most 3,000), on or off (the default: a point of accuracy for 70 times the training "
            "time, benchmarks/README.md).",
        ),
    ] = Trees.off,
    linear: Annotated[
        Head,
        typer.Option(
            "--head",
            help="The heads' linear model: auto (a logistic regression with C 100 when the median class has "
            "under 15 tickets and there are at most 200 classes, else a linear SVM with C 0.5), svm or logistic.",
        ),
    ] = Head.auto,
    c: Annotated[
        float | None, typer.Option("--C", min=1e-6, help="The linear model's C (default: see --head).")
    ] = None,
    no_quantize: Annotated[bool, typer.Option("--no-quantize", help="Keep the encoder in fp32.")] = False,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Do not track the run in MLflow.")] = False,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="Also learn from the store's labelled tickets: outcomes from the ticketing system, else agents' "
            "reviews (the store wins over an export's ticket with the same id; purged text is left out).",
        ),
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="The store read by --from-store (default: TRIAGE_DATABASE_URL)."),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="local: read the exports in this process; spark: read, clean, deduplicate and count them on "
            "Spark (files or folders, local or cluster URIs), which collects only the --max-tickets sample to "
            "train on here (needs the spark extra and Java 17).",
        ),
    ] = Engine.local,
    master: MasterOpt = None,
    register: Annotated[
        str | None,
        typer.Option(
            "--register",
            metavar="NAME",
            help="Also log the bundle as a new version of this registered model in the MLflow Model Registry "
            "(pyfunc flavour); `triage promote NAME` makes it the champion.",
        ),
    ] = None,
) -> None:
    """Train a model bundle (category, priority, tier: whichever the export labels) from ticket exports."""
    if register is not None and no_mlflow:
        raise typer.BadParameter("--register logs to MLflow: it cannot go with --no-mlflow", param_hint="--register")
    from training import TrainConfig
    from training import train as run_training

    config = TrainConfig(
        feature_set=features,
        trees=trees.value,
        holdout=holdout,
        max_tickets=max_tickets,
        min_per_class=min_per_class,
        refit=not no_refit,
        embedding_model=embedding_model,
        min_class_count=min_class_count,
        novelty_false_alarm_rate=_false_alarm_rate(novelty_false_alarm),
        novelty_target=novelty_target,
        novelty_seconds=novelty_seconds,
        **_precision_targets(precision_target or []),
        quantize=not no_quantize,
        fine_tune=fine_tune.value,
        loss=linear.value,
        C=c,
        mlflow=not no_mlflow,
    )
    export_mapping = mapping_from_options(
        mapping, text, label, id_column, time_column, encoding=encoding, date_format=date_format, dayfirst=dayfirst
    )
    if engine is Engine.spark and from_store:
        raise typer.BadParameter("--from-store needs --engine local", param_hint="--from-store")
    labelled = _store_source(database_url) if from_store else None
    spark = session_of(master) if engine is Engine.spark else None
    paths = data if spark is not None else local_paths(data)
    result = run_training(paths, out_dir, export_mapping, config=config, labelled=labelled, spark=spark)
    if result.sample is not None and result.sample.method != "all":
        err.print(f"tickets: {result.sample.description}")
    err.print(f"split: {result.split.description}")
    if result.selection:
        err.print(f"model: {result.selection.reason}")
    tuning = result.bundle.manifest.training.get("fine_tune") or {}
    if tuning.get("on"):
        err.print(f"encoder fine-tuned: {tuning['reason']} ({tuning['seconds']:.0f} s)")
    if result.metrics:
        out.print(_metrics_table(result.metrics))
    manifest = result.bundle.manifest
    final = manifest.training.get("final_model") or {}
    if final.get("refit"):
        err.print(f"final model: {final['description']}")
    choice = manifest.training.get("novelty_rate")
    if choice:
        err.print(f"novelty check: {choice['reason']}")
    out.print(_thresholds_table(manifest))
    for head, reason in manifest.skipped_heads.items():
        err.print(f"[yellow]head {head} not trained:[/] {reason}")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    out.print(f"bundle [bold]{result.bundle.path}[/] version {manifest.model_version} ({timing})")
    if result.run_id:
        out.print(f"MLflow run {result.run_id}")
    if register is not None:
        from triage.registry import register_bundle

        version = register_bundle(result.bundle.path, register, run_id=result.run_id)
        out.print(f"registered: models:/{register}/{version.version} (promote it with `triage promote {register}`)")


def _store_source(url: str | None) -> LabelledSource:
    """The store's labelled tickets for ``train --from-store`` (a store that is not migrated stops the run)."""
    from triage.cli.db import open_store
    from triage.store.labels import training_source

    store = open_store(url)
    try:
        source = training_source(store)
    finally:
        store.dispose()
    kinds = source.frame["provenance"].value_counts()
    listed = ", ".join(f"{n} {kind}" for kind, n in kinds.items()) or "none"
    err.print(f"{source.name}: {len(source.frame)} labelled tickets ({listed})")
    return source


SliceOpt = Annotated[
    list[str] | None,
    typer.Option("--slice", help="Also report metrics per value of this export column (repeatable); month: by month."),
]
NoMlflowOpt = Annotated[bool, typer.Option("--no-mlflow", help="Do not log the report to the model's MLflow run.")]


@app.command()
def evaluate(
    model: ModelOpt,
    data: BatchDataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Report directory (metrics.json and more).")],
    text: TextOpt = None,
    label: LabelOpt = None,
    mapping: MappingOpt = None,
    id_column: IdOpt = None,
    time_column: TimeOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    slice_by: SliceOpt = None,
    examples: Annotated[
        bool, typer.Option(help="Show a few shortened tickets per frequent confusion (ticket text is personal data).")
    ] = True,
    no_mlflow: NoMlflowOpt = False,
    engine: EngineOpt = Engine.local,
    master: MasterOpt = None,
) -> None:
    """Evaluate a bundle on labelled tickets; writes metrics.json, report.html, report.md, data_quality.json
    (with --engine spark: the same metrics and reports, from counts aggregated on Spark; no example tickets)."""
    from triage.data import load_tickets
    from triage.evaluation import evaluate as run_evaluation
    from triage.evaluation.report import write_reports
    from triage.tracking import log_evaluation

    triager = _triager(bundle_source(model))
    export_mapping = _bundle_mapping(
        triager, mapping, text, label, id_column, time_column, encoding, date_format, dayfirst
    )
    if engine is Engine.spark:
        if slice_by:
            raise typer.BadParameter("slices need --engine local", param_hint="--slice")
        metrics = evaluate_on_spark(triager, data, out_dir, export_mapping, master)
        out.print(_metrics_table(metrics))
        out.print(f"wrote {out_dir}/metrics.json, report.html, report.md (no example tickets: they stay on Spark)")
        if not no_mlflow:
            _log(lambda: log_evaluation(triager.bundle.manifest, out_dir, metrics, kind="evaluation"))
        return
    tickets = load_tickets(local_paths(data), export_mapping, dedupe=False)
    tickets.quality.render()
    _warn_unknown_labels(triager, tickets.frame)
    evaluation = run_evaluation(triager, tickets.frame, slices=slice_by or ())
    metrics = evaluation.metrics
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out_dir / "data_quality.json").write_text(tickets.quality.model_dump_json(indent=2))
    write_reports(evaluation, tickets.frame, triager.bundle.manifest, tickets.quality, out_dir, examples=examples)
    out.print(_metrics_table(metrics))
    out.print(f"wrote {out_dir}/metrics.json, report.html, report.md")
    if not no_mlflow:
        _log(lambda: log_evaluation(triager.bundle.manifest, out_dir, metrics, kind="evaluation"))


@app.command()
def compare(
    model: Annotated[Path, typer.Option("--model", help="The new bundle (challenger).")],
    baseline: Annotated[Path, typer.Option("--baseline", help="The bundle in service (champion).")],
    data: DataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Comparison directory (compare.json, compare.md).")],
    text: TextOpt = None,
    label: LabelOpt = None,
    mapping: MappingOpt = None,
    id_column: IdOpt = None,
    time_column: TimeOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    max_recall_drop: Annotated[float, typer.Option(help="Gate: largest allowed drop of a class's recall.")] = 0.05,
    min_support: Annotated[int, typer.Option(help="Gate: classes with fewer tickets are not gated.")] = 20,
    min_precision: Annotated[
        float | None, typer.Option(help="Gate: least precision of auto-routed tickets (default: the new target).")
    ] = None,
    significance: Annotated[
        float | None,
        typer.Option(help="Gate: a recall drop fails only when McNemar's p-value is below this (e.g. 0.05)."),
    ] = None,
    ignore_missing_heads: Annotated[
        bool,
        typer.Option(
            "--ignore-missing-heads", help="Gate: a head only one bundle predicts is reported, not a failure."
        ),
    ] = False,
    no_mlflow: NoMlflowOpt = False,
) -> None:
    """Evaluate a new bundle and the one in service on the same tickets; report per-class differences with
    McNemar tests and exit 1 when the promotion gate fails (a retraining job runs this before promotion)."""
    from triage.data import load_tickets
    from triage.evaluation import evaluate as run_evaluation
    from triage.evaluation.compare import Gate, render_markdown
    from triage.evaluation.compare import compare as run_compare
    from triage.tracking import log_evaluation

    gate = Gate(
        max_recall_drop=max_recall_drop,
        min_support=min_support,
        min_precision=min_precision,
        significance=significance,
        ignore_missing_heads=ignore_missing_heads,
    )
    new, old = _triager(model), _triager(baseline)
    export_mapping = _bundle_mapping(new, mapping, text, label, id_column, time_column, encoding, date_format, dayfirst)
    tickets = load_tickets(data, export_mapping, dedupe=False)
    tickets.quality.render()
    _warn_unknown_labels(new, tickets.frame)
    frame = tickets.frame
    result = run_compare(run_evaluation(new, frame), run_evaluation(old, frame), frame, gate)
    result = {"model_version": new.version, "baseline_version": old.version, **result}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "compare.json").write_text(json.dumps(result, indent=2))
    (out_dir / "compare.md").write_text(render_markdown(result, new.version, old.version))
    table = Table("head", "champion", "challenger", "McNemar p", title=f"{new.version} vs {old.version}")
    for head, r in result["heads"].items():
        table.add_row(head, f"{r['accuracy_old']:.4f}", f"{r['accuracy_new']:.4f}", f"{r['mcnemar']['p_value']:.3g}")
    out.print(table)
    for reason in result["missing_heads"].values():
        err.print(f"[yellow]{reason}[/]")
    out.print(f"wrote {out_dir}/compare.json, compare.md")
    if not no_mlflow:
        gate_metrics = {
            "gate": {"passed": float(result["gate"]["passed"]), "failures": len(result["gate"]["failures"])}
        }
        _log(lambda: log_evaluation(new.bundle.manifest, out_dir, gate_metrics, kind="compare"))
    if not result["gate"]["passed"]:
        for failure in result["gate"]["failures"]:
            err.print(f"[red]gate:[/] {failure}")
        raise typer.Exit(1)
    out.print("[green]gate passed[/]")


def _bundle_mapping(
    triager: Triager,
    mapping: str | None,
    text: str | None,
    labels: list[str] | None,
    id_column: str | None,
    time_column: str | None,
    encoding: str | None,
    date_format: str | None,
    dayfirst: bool | None,
) -> ColumnMapping:
    """The mapping a command on a bundle reads with: the command's options over the bundle's own mapping."""
    return mapping_from_options(
        mapping,
        text,
        labels,
        id_column,
        time_column,
        encoding=encoding,
        date_format=date_format,
        dayfirst=dayfirst,
        stored=_stored_mapping(triager, mapping),
    )


def _stored_mapping(triager: Triager, mapping: str | None) -> dict | None:
    """The bundle's training mapping, when no --mapping is given (and said so on screen)."""
    stored = triager.bundle.manifest.mapping
    if mapping is None and stored is not None:
        err.print(f"columns as in training: mapping {stored.get('name')!r} from the bundle (--mapping overrides)")
        return stored
    return None


def _warn_unknown_labels(triager: Triager, frame: pd.DataFrame, *, share: float = 0.5) -> None:
    """Warn when most labelled tickets of a head carry labels the model never learnt: a sign of the wrong
    column or mapping (the tier of a ServiceNow export without its tier_map, say)."""
    for head in triager.bundle.model.heads_:
        if head not in frame.columns:
            continue
        labels = frame[head].dropna().astype(str)
        if labels.empty:
            continue
        unknown = ~labels.isin(set(triager.bundle.model.classes(head)))
        if unknown.mean() > share:
            examples = ", ".join(repr(v) for v in labels[unknown].value_counts().index[:3])
            err.print(
                f"[yellow]warning:[/] head {head}: {unknown.mean():.0%} of the labelled tickets carry labels the "
                f"model does not know (e.g. {examples}); is this the column, mapping or tier_map used in training?"
            )


def _decision_rows(triager: Triager, texts: list[str], batch: int = 1024) -> dict[str, list]:
    """The API's decision for each text as table columns, computed in batches (as the pyfunc model answers)."""
    from triage.registry.predictions import decision_columns

    return decision_columns(triager, texts, batch)


def _log(action: Callable[[], str | None]) -> None:
    """Run an MLflow logging step; a tracking store that lacks the model's run is reported, not fatal."""
    try:
        where = action()
    except Exception as exc:
        err.print(f"[yellow]warning:[/] report not logged to MLflow ({type(exc).__name__}: {exc})")
        return
    if where:
        out.print(where)


@app.command()
def predict(
    model: ModelOpt,
    data: BatchDataArg,
    out_path: Annotated[
        str,
        typer.Option(
            "--out", help="CSV to write: one row per ticket (--engine spark: a folder of Parquet, by decision)."
        ),
    ],
    text: TextOpt = None,
    mapping: MappingOpt = None,
    id_column: IdOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    engine: EngineOpt = Engine.local,
    master: MasterOpt = None,
) -> None:
    """Predict every head for every ticket of the exports; writes per ticket its id, per head the label, its
    confidence, the threshold it was held to and the prediction set, then the decision and the reasons for
    review: what the API answers, as a table (with --engine spark, as Parquet partitioned by decision)."""
    import pandas as pd

    from triage.data import load_tickets

    triager = _triager(bundle_source(model))
    export_mapping = _bundle_mapping(triager, mapping, text, None, id_column, None, encoding, date_format, dayfirst)
    if engine is Engine.spark:
        out.print(predict_on_spark(triager, data, out_path, export_mapping, master))
        return
    tickets = load_tickets(local_paths(data), export_mapping, require_labels=False, dedupe=False)
    tickets.quality.render()
    predictions = pd.DataFrame(_decision_rows(triager, tickets.frame["text"].tolist()))
    predictions.insert(0, "id", tickets.frame["id"].to_numpy())
    out_file = Path(out_path)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    predictions.to_csv(out_file, index=False, float_format="%.4f")
    out.print(f"wrote {len(predictions)} predictions to {out_file}")


@app.command()
def info(
    model: ModelOpt,
    as_json: Annotated[bool, typer.Option("--json", help="The whole manifest as JSON instead of a summary.")] = False,
) -> None:
    """Show what a bundle is: verified (signature, files, checksums) without loading any fitted object."""
    from triage.models import verify_bundle

    manifest = verify_bundle(bundle_source(model))
    if as_json:
        typer.echo(manifest.model_dump_json(indent=2))
        return
    out.print(_bundle_summary(manifest))
    out.print(_thresholds_table(manifest))
    out.print("[dim]the whole manifest: triage info --json[/]")


def _bundle_summary(manifest: Manifest) -> Table:
    """A bundle's facts in one table: version, features, heads and their hold-out accuracy, data, novelty."""
    table = Table("", "", title=f"model {manifest.model_version}", show_header=False)
    params = manifest.model_params
    table.add_row("created", f"{manifest.created_at:%Y-%m-%d %H:%M} UTC, bundle format {manifest.format_version}")
    table.add_row(
        "features",
        f"{params.get('feature_set')}{' + boosted trees' if params.get('trees') else ''}"
        + (f", encoder {manifest.encoder.get('model_name')}" if manifest.encoder else ""),
    )
    linear = manifest.training.get("head")
    if linear:  # bundles trained before the head was chosen per desk have none
        table.add_row("linear model", f"{linear['loss']}, C {linear['C']:g} ({linear['reason']})")
    for head, info in manifest.heads.items():
        accuracy = info.metrics.get("accuracy")
        held_out = f", hold-out accuracy {accuracy:.4f}" if accuracy is not None else ""
        table.add_row(f"head {head}", f"{len(info.labels)} classes, {info.n_train} training tickets{held_out}")
    for head, reason in manifest.skipped_heads.items():
        table.add_row(f"head {head}", f"not trained: {reason}")
    novelty = manifest.novelty
    if novelty:
        choice = manifest.training.get("novelty_rate") or {}
        estimate = (
            f"; chosen to defer {choice['target']:.0%} of simulated new kinds, estimate "
            f"{choice['new_kinds_deferred']:.1%} ({choice['rounds']} rounds)"
            if choice.get("new_kinds_deferred") is not None
            else ""
        )
        table.add_row("novelty", f"{novelty.representation}, false-alarm rate {novelty.false_alarm_rate}{estimate}")
    final = manifest.training.get("final_model") or {}
    if final.get("refit"):
        table.add_row("final model", f"refitted on all {final['n_tickets']} tickets after the hold-out measurement")
    data = manifest.data
    table.add_row("data", f"{data.get('n_tickets', '?')} tickets, fingerprint {str(data.get('fingerprint', ''))[:12]}")
    if manifest.mapping:
        table.add_row("mapping", str(manifest.mapping.get("name")))
    run = manifest.training.get("mlflow_run_id")
    if run:
        table.add_row("MLflow run", str(run))
    table.add_row("files", f"{len(manifest.files)} files, signed and verified")
    return table


@app.command()
def serve(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model bundle directory, or a registered model: models:/NAME@champion, resolved and downloaded "
            "under TRIAGE_MODELS_ROOT at start and on each reload (default: TRIAGE_MODEL_DIR, models/default).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes, each with the model (default: one per core); reloads, metrics and the store "
            "work across them.",
            min=1,
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth", help="Serve without API keys, every route open: a local demo only (TRIAGE_AUTH=off)."
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (FastAPI + uvicorn) for a model bundle. Send SIGHUP or POST /v1/admin/reload to
    swap in a retrained bundle (or the new champion of models:/NAME@champion) without downtime. Refuses to
    start without TRIAGE_API_KEYS unless --no-auth."""
    import os

    from triage.api import server

    # The workers read their settings from the environment: options go there, over the variables.
    if model is not None:
        os.environ["TRIAGE_MODEL_DIR"] = str(model)
    if no_auth:
        os.environ["TRIAGE_AUTH"] = "off"
    count = workers if workers is not None else server.default_workers()
    with server.shared_folder(count) as folder:  # before the service is imported (its metrics need to know)
        from triage.api.auth import check_auth_settings
        from triage.api.paths import bundle_folder
        from triage.models import read_manifest
        from triage.registry import is_registry_uri
        from triage.settings import get_settings

        get_settings.cache_clear()
        settings = get_settings()
        check_auth_settings(settings)
        if is_registry_uri(settings.model_dir):  # resolved, downloaded and verified now: the workers find it cached
            bundle_folder(settings.model_dir, settings)
        else:
            read_manifest(settings.model_dir)  # fail fast, with the reason, on a missing or incompatible bundle
        server.run(host=host, port=port, workers=count, folder=folder, shutdown_grace=settings.shutdown_grace)
