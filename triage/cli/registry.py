"""Commands of the MLflow Model Registry: ``triage promote`` (the ``champion`` alias, through the comparison
gate) and ``triage retrain`` (the scheduled job: train, compare, register, promote, reload)."""

from __future__ import annotations

import logging
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from triage.cli import app, err
from triage.cli.commands import (
    Trees,
    _bundle_mapping,
    _false_alarm_rate,
    _log,
    _precision_targets,
    _store_source,
    _warn_unknown_labels,
    out,
)
from triage.cli.options import (
    DataArg,
    DateFormatOpt,
    DayfirstOpt,
    EncodingOpt,
    IdOpt,
    LabelOpt,
    MappingOpt,
    TextOpt,
    TimeOpt,
    mapping_from_options,
)
from triage.errors import TriageError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from triage.decision import Triager
    from triage.evaluation.compare import Gate

logger = logging.getLogger(__name__)

NameArg = Annotated[str, typer.Argument(help="Registered model name (as given to `triage train --register`).")]
MaxRecallDropOpt = Annotated[float, typer.Option(help="Gate: largest allowed drop of a class's recall.")]
MinSupportOpt = Annotated[int, typer.Option(help="Gate: classes with fewer tickets are not gated.")]
MinPrecisionOpt = Annotated[
    float | None, typer.Option(help="Gate: least precision of auto-routed tickets (default: the new target).")
]
SignificanceOpt = Annotated[
    float | None, typer.Option(help="Gate: a recall drop fails only when McNemar's p-value is below this.")
]
IgnoreMissingOpt = Annotated[
    bool,
    typer.Option("--ignore-missing-heads", help="Gate: a head only one bundle predicts is reported, not a failure."),
]


class RetrainExit(IntEnum):
    """Exit codes of ``triage retrain``: which step stopped it."""

    DONE = 0
    USAGE = 2
    TRAIN = 3
    COMPARE = 4
    REGISTER = 5
    GATE = 6
    PROMOTE = 7
    RELOAD = 8


def _gate(
    max_recall_drop: float, min_support: int, min_precision: float | None, significance: float | None, ignore: bool
) -> Gate:
    from triage.evaluation.compare import Gate

    return Gate(
        max_recall_drop=max_recall_drop,
        min_support=min_support,
        min_precision=min_precision,
        significance=significance,
        ignore_missing_heads=ignore,
    )


def _triager(bundle_dir: Path) -> Triager:
    from triage.decision import Triager
    from triage.models import load_bundle
    from triage.settings import get_settings

    return Triager.from_settings(load_bundle(bundle_dir), get_settings())


def _fetch(name: str, version: ModelVersion) -> Path:
    """A registered version's bundle, downloaded (once) into the cache under the models root and verified."""
    from triage.api.paths import registry_cache
    from triage.registry import fetch_bundle
    from triage.settings import get_settings

    return fetch_bundle(f"models:/{name}/{version.version}", registry_cache(get_settings()))


def _print_comparison(result: dict[str, Any]) -> None:
    title = f"{result['model_version']} (challenger) vs {result['baseline_version']} (champion)"
    table = Table("head", "champion", "challenger", "McNemar p", title=title)
    for head, r in result["heads"].items():
        table.add_row(head, f"{r['accuracy_old']:.4f}", f"{r['accuracy_new']:.4f}", f"{r['mcnemar']['p_value']:.3g}")
    out.print(table)
    for reason in result["missing_heads"].values():
        err.print(f"[yellow]{escape(str(reason))}[/]")
    for failure in result["gate"]["failures"]:
        err.print(f"[red]gate:[/] {escape(str(failure))}")


def _gate_tags(result: dict[str, Any], champion: ModelVersion) -> dict[str, str]:
    return {
        "gate": "passed" if result["gate"]["passed"] else "failed",
        "gate_against": str(champion.version),
        "gate_failures": "; ".join(result["gate"]["failures"])[:4000],
    }


@app.command()
def promote(
    name: NameArg,
    version: Annotated[str | None, typer.Option(help="Version to promote (default: the latest).")] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Labelled export(s) on which the version must pass the gate (repeatable)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote without the gate; logged, and tagged on the version.")
    ] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write compare.json and compare.md here.")] = None,
    text: TextOpt = None,
    label: LabelOpt = None,
    mapping: MappingOpt = None,
    id_column: IdOpt = None,
    time_column: TimeOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    max_recall_drop: MaxRecallDropOpt = 0.05,
    min_support: MinSupportOpt = 20,
    min_precision: MinPrecisionOpt = None,
    significance: SignificanceOpt = None,
    ignore_missing_heads: IgnoreMissingOpt = False,
) -> None:
    """Make a registered version the champion (alias `champion`) once it passes the comparison gate against
    the current champion on --data (as `triage compare`); the first version of a model needs no gate.
    Services started with --model models:/NAME@champion load it on their next reload.

    \b
    Exit codes: 0 promoted (or already the champion); 1 the gate failed, the champion is unchanged;
    2 an error (unknown model or version, no --data, unreadable data, a bundle that fails verification).
    """
    from triage.data import load_tickets
    from triage.registry import get_alias, get_version, set_champion
    from triage.registry.gate import compare_triagers, write_comparison
    from triage.registry.versions import tag_version

    challenger = get_version(name, version)
    champion = get_alias(name)
    where = f"version {challenger.version} of {name!r}"
    if champion is not None and str(champion.version) == str(challenger.version):
        out.print(f"{where} is already the champion")
        return
    _fetch(name, challenger)  # downloaded and verified: a champion the services would refuse is not promoted
    if force:
        logger.warning("promotion forced: %s becomes the champion without the gate", where)
        err.print(f"[yellow]warning:[/] promoting {where} without the gate (--force); tagged on the version")
        set_champion(name, challenger, how="forced", against=str(champion.version) if champion else None)
        out.print(f"[yellow]{where} is the champion (forced)[/]")
        return
    if champion is None:
        set_champion(name, challenger, how="first champion")
        out.print(f"[green]{where} is the champion[/] (the first: nothing to compare it with)")
        return
    if not data:
        raise typer.BadParameter(
            f"the gate compares {where} with the champion (version {champion.version}) on labelled tickets: "
            "give them with --data, or promote without the gate with --force",
            param_hint="--data",
        )
    new, old = _triager(_fetch(name, challenger)), _triager(_fetch(name, champion))  # fetched: a cache hit
    export_mapping = _bundle_mapping(new, mapping, text, label, id_column, time_column, encoding, date_format, dayfirst)
    tickets = load_tickets(data, export_mapping, dedupe=False)
    tickets.quality.render()
    _warn_unknown_labels(new, tickets.frame)
    gate = _gate(max_recall_drop, min_support, min_precision, significance, ignore_missing_heads)
    result = compare_triagers(new, old, tickets.frame, gate)
    if out_dir is not None:
        write_comparison(result, out_dir)
    _print_comparison(result)
    tag_version(name, challenger, _gate_tags(result, champion))
    if not result["gate"]["passed"]:
        err.print(f"[red]not promoted:[/] the champion stays version {champion.version}")
        raise typer.Exit(1)
    set_champion(name, challenger, how="gate passed", against=str(champion.version))
    out.print(f"[green]gate passed: {where} is the champion[/] (was version {champion.version})")


def _stop(code: RetrainExit, step: str, exc: BaseException) -> NoReturn:
    err.print(f"[red]retrain stopped at {step}:[/] {escape(str(exc))}")
    raise typer.Exit(int(code))


@app.command()
def retrain(
    data: DataArg,
    name: Annotated[str, typer.Option("--name", help="Registered model to retrain (its champion is compared).")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Where the new bundle is written (default: TRIAGE_MODELS_ROOT/candidates/NAME)."),
    ] = None,
    text: TextOpt = None,
    label: LabelOpt = None,
    mapping: MappingOpt = None,
    id_column: IdOpt = None,
    time_column: TimeOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    features: Annotated[str, typer.Option(help="auto, tfidf, tfidf+embedding or embedding.")] = "auto",
    trees: Annotated[Trees, typer.Option(help="Boosted trees beside the linear model: auto, on or off.")] = Trees.auto,
    holdout: Annotated[
        float,
        typer.Option(
            min=0.05,
            max=0.5,
            help="Share of the most recent tickets held out: the challenger and the champion are compared on them.",
        ),
    ] = 0.2,
    precision_target: Annotated[
        list[str] | None, typer.Option(help="As for `triage train`: a number and/or HEAD=NUMBER, repeatable.")
    ] = None,
    novelty_false_alarm: Annotated[
        str, typer.Option(help="As for `triage train`: auto, a share of ordinary tickets, or 0 (no check).")
    ] = "auto",
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="As for `triage train`: also learn from the store's labelled tickets (outcomes, reviews).",
        ),
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="The store read by --from-store (default: TRIAGE_DATABASE_URL)."),
    ] = None,
    max_recall_drop: MaxRecallDropOpt = 0.05,
    min_support: MinSupportOpt = 20,
    min_precision: MinPrecisionOpt = None,
    significance: SignificanceOpt = None,
    ignore_missing_heads: IgnoreMissingOpt = False,
    reload_url: Annotated[
        list[str] | None,
        typer.Option(
            "--reload-url",
            help="Base URL of a running service (e.g. http://127.0.0.1:8000) to send POST /v1/admin/reload once "
            "a new champion is set; repeatable.",
        ),
    ] = None,
    admin_key: Annotated[
        str | None,
        typer.Option(envvar="TRIAGE_ADMIN_KEY", show_default=False, help="Admin key the reloads are sent with."),
    ] = None,
) -> None:
    """The scheduled job: train on the exports (and the store's labelled tickets, --from-store), compare the
    new model with the champion on the most recent tickets (a time-ordered hold-out the new model did not
    see), register it, make it the champion if the gate passes, and tell running services to reload. The first
    run of a model registers and promotes without a comparison.

    \b
    Exit codes say which step stopped it:
      0  done: a new champion (services reloaded)
      1  an unexpected error (a bug: the traceback says where)
      2  bad options or settings
      3  the exports, the store or the training failed
      4  the comparison could not run (champion not downloadable or not verified)
      5  registering the new version failed
      6  the gate failed: the new version is registered, the champion is unchanged
      7  setting the champion alias failed
      8  a service did not reload (the new champion is set)
    """
    from training import TrainConfig
    from training import train as run_training
    from triage.registry import get_alias, register_bundle, set_champion
    from triage.registry.gate import compare_triagers, reload_services, write_comparison
    from triage.registry.versions import tag_version
    from triage.settings import get_settings
    from triage.tracking import log_evaluation

    settings = get_settings()
    out_dir = out_dir or Path(settings.models_root) / "candidates" / name
    config = TrainConfig(
        feature_set=features,
        trees=trees.value,
        holdout=holdout,
        refit=False,  # the version registered is the one compared: it never saw the held-out tickets
        novelty_false_alarm_rate=_false_alarm_rate(novelty_false_alarm),
        **_precision_targets(precision_target or []),
        mlflow=True,
    )
    export_mapping = mapping_from_options(
        mapping, text, label, id_column, time_column, encoding=encoding, date_format=date_format, dayfirst=dayfirst
    )

    try:
        labelled = _store_source(database_url) if from_store else None
        trained = run_training(data, out_dir, export_mapping, config=config, labelled=labelled)
    except TriageError as exc:
        _stop(RetrainExit.TRAIN, "training", exc)
    err.print(f"trained {trained.bundle.version}; split: {trained.split.description}")
    if trained.split.method != "time":
        err.print("[yellow]warning:[/] the tickets have no usable timestamps: compared on a random hold-out")
    held_out = trained.tickets.frame.iloc[trained.split.test]

    result: dict[str, Any] | None = None
    champion: ModelVersion | None = None
    try:
        champion = get_alias(name)
        if champion is not None:
            baseline = _triager(_fetch(name, champion))
            gate = _gate(max_recall_drop, min_support, min_precision, significance, ignore_missing_heads)
            new = _triager(trained.bundle.path)
            result = compare_triagers(new, baseline, held_out, gate)
            compare_dir = out_dir.with_name(out_dir.name + ".compare")
            write_comparison(result, compare_dir)
            _print_comparison(result)
            passed = {"gate": {"passed": float(result["gate"]["passed"]), "failures": len(result["gate"]["failures"])}}
            _log(lambda: log_evaluation(new.bundle.manifest, compare_dir, passed, kind="compare"))
        else:
            err.print(f"model {name!r} has no champion yet: the new version becomes the first, without comparison")
    except TriageError as exc:
        _stop(RetrainExit.COMPARE, "the comparison with the champion", exc)

    try:
        version = register_bundle(trained.bundle.path, name, run_id=trained.run_id)
        if result is not None and champion is not None:
            tag_version(name, version, _gate_tags(result, champion))
    except TriageError as exc:
        _stop(RetrainExit.REGISTER, "registration", exc)
    out.print(f"registered models:/{name}/{version.version} ({trained.bundle.version})")

    if result is not None and not result["gate"]["passed"]:
        err.print(f"[red]retrain stopped at the gate:[/] version {version.version} is not promoted")
        raise typer.Exit(int(RetrainExit.GATE))
    try:
        if champion is None:
            set_champion(name, version, how="first champion")
        else:
            set_champion(name, version, how="gate passed", against=str(champion.version))
    except TriageError as exc:
        _stop(RetrainExit.PROMOTE, "promotion", exc)
    out.print(f"[green]version {version.version} is the champion of {name!r}[/]")

    failed = 0
    for reloaded in reload_services(reload_url or [], admin_key):
        if reloaded.ok:
            out.print(f"{reloaded.url}: reloaded, {reloaded.detail}")
        else:
            failed += 1
            err.print(f"[red]{reloaded.url}: reload failed:[/] {escape(reloaded.detail)}")
    if failed:
        raise typer.Exit(int(RetrainExit.RELOAD))
