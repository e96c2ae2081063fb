"""``triage keys``: the Ed25519 keys that sign bundles and that services trust."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triage.cli import app, err

keys_app = typer.Typer(
    help="Signing keys: training signs every bundle; a service loads only bundles signed by a key it trusts.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

KeyOpt = Annotated[
    Path | None, typer.Option("--key", help="Private key file (default: TRIAGE_SIGNING_KEY, .triage-keys/signing.pem).")
]


def _key_path(key: Path | None) -> Path:
    from triage.settings import get_settings

    return key or get_settings().signing_key


@keys_app.command("show")
def show(key: KeyOpt = None) -> None:
    """Print the public key (created with its private half when absent): put it in TRIAGE_TRUSTED_KEYS on
    every server that should serve bundles signed with this key."""
    from triage.models.signing import key_id, load_or_create_signing_key, public_key_text

    path = _key_path(key)
    public = load_or_create_signing_key(path).public_key()
    err.print(f"key {path}, id {key_id(public)}; on a server: TRIAGE_TRUSTED_KEYS='[\"{public_key_text(public)}\"]'")
    typer.echo(public_key_text(public))


@keys_app.command("sign")
def sign(
    model: Annotated[Path, typer.Option("--model", help="Bundle directory to sign.")],
    key: KeyOpt = None,
) -> None:
    """Sign a bundle with this key (e.g. a release key, after review), once its files match its manifest."""
    from triage.models.bundle import sign_bundle

    key_id = sign_bundle(model, _key_path(key))
    typer.echo(f"signed {model} with key {key_id}")
