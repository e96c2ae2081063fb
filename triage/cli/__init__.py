"""The ``triage`` command line: train, evaluate, predict and inspect model bundles."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from triage.errors import TriageError

app = typer.Typer(
    help="triage: learn ticket category, priority and support tier from your help desk's history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)


def main() -> None:
    """Console-script entry point: domain errors become one red line and exit code 2, never a traceback."""
    from triage.cli import commands, keys  # noqa: F401  (registers the commands)

    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[logging.StreamHandler(sys.stderr)])
    for noisy in ("mlflow", "alembic", "urllib3", "httpx", "onnxruntime", "transformers", "torch"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        app()
    except TriageError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2)
