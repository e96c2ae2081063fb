"""The ``triage`` command line: train, evaluate, predict and inspect model bundles."""

from __future__ import annotations

import logging
import re
import sys

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

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
    from triage.cli import agents, commands, db, export, keys, monitor, registry, topics  # noqa: F401  (registers the commands)

    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[logging.StreamHandler(sys.stderr)])
    for noisy in ("mlflow", "alembic", "urllib3", "httpx", "onnxruntime", "transformers", "torch"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        app()
    except TriageError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    except (ValidationError, SettingsError) as exc:
        if isinstance(exc, ValidationError) and exc.title != "Settings":
            raise
        err.print(f"[red]error:[/] {escape(settings_problem(exc))}")
        sys.exit(2)


def settings_problem(exc: ValidationError | SettingsError) -> str:
    """One line naming each ``TRIAGE_*`` variable at fault and why, never its value (keys are secrets)."""
    if isinstance(exc, SettingsError):
        field = re.search(r'field "([^"]+)"', str(exc))
        name = f"TRIAGE_{field.group(1).upper()}" if field else "a TRIAGE_* setting"
        return f'invalid setting {name}: not valid JSON (a list is written like \'["a", "b"]\')'
    problems = []
    for e in exc.errors(include_input=False, include_url=False):
        name = f"TRIAGE_{str(e['loc'][0]).upper()}" if e["loc"] else "TRIAGE_*"
        problems.append(f"{name}: {e['msg'].removeprefix('Value error, ')}")
    return "invalid setting " + "; ".join(problems)
