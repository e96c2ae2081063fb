"""`triage keys`: the public key an operator trusts, and signing a bundle with a release key."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.cli import app, keys  # noqa: F401  (registers the commands)
from triage.errors import BundleSignatureError
from triage.models import load_bundle
from triage.settings import get_settings

runner = CliRunner()


def test_show_prints_the_key_that_trusts_a_release(
    trained_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = tmp_path / "release.pem"
    shown = runner.invoke(app, ["keys", "show", "--key", str(release)])
    assert shown.exit_code == 0, shown.output
    public = shown.stdout.strip().splitlines()[-1]
    assert len(public) == 44 and release.exists()  # base64 of 32 bytes; created on first use

    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "bundle"))
    monkeypatch.setenv("TRIAGE_TRUSTED_KEYS", json.dumps([public]))
    get_settings.cache_clear()
    with pytest.raises(BundleSignatureError, match="does not trust"):
        load_bundle(bundle)  # signed by the training key, which this server no longer trusts
    signed = runner.invoke(app, ["keys", "sign", "--model", str(bundle), "--key", str(release)])
    assert signed.exit_code == 0, signed.output
    assert load_bundle(bundle).manifest.heads


def test_sign_refuses_a_bundle_whose_files_do_not_match(trained_bundle: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "bundle"))
    with (bundle / "heads" / "category.npz").open("ab") as handle:
        handle.write(b"\0")
    result = runner.invoke(app, ["keys", "sign", "--model", str(bundle), "--key", str(tmp_path / "k.pem")])
    assert result.exit_code != 0
    assert "heads/category.npz was changed" in str(result.exception)
