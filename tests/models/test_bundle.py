"""The bundle format: plain files with checksums, a signature, and nothing that can run code when loaded."""

import json
import shutil
from pathlib import Path

import pytest

from triage.errors import BundleError, BundleIntegrityError, BundleSignatureError, BundleVersionError
from triage.models import load_bundle, read_manifest, verify_bundle
from triage.models.bundle import FORMAT_VERSION
from triage.models.signing import SIGNATURE, load_or_create_signing_key, sign
from triage.settings import get_settings


@pytest.fixture
def bundle_copy(trained_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained_bundle, tmp_path / "bundle"))


def resign(bundle: Path, raw: dict | None = None, *, key_path: Path | None = None) -> None:
    """Write ``raw`` as the manifest (default: unchanged) and sign it as training would: what an attacker
    who holds the signing key, or a buggy trainer, could produce."""
    path = bundle / "manifest.json"
    data = json.dumps(raw if raw is not None else json.loads(path.read_text()), indent=2).encode()
    path.write_bytes(data)
    key = load_or_create_signing_key(key_path or get_settings().signing_key)
    (bundle / SIGNATURE).write_text(json.dumps(sign(data, key)))


def test_manifest_is_plain_json_with_labels_versions_and_checksums(trained_bundle: Path) -> None:
    raw = json.loads((trained_bundle / "manifest.json").read_text())
    assert raw["format_version"] == FORMAT_VERSION == 4
    assert set(raw["heads"]) == {"category", "priority", "tier"}
    assert len(raw["heads"]["category"]["labels"]) == 14
    assert {"features/word.skops", "heads/category.skops", "heads/category.npz", "README.md"} <= set(raw["files"])
    assert "data_quality.json" in raw["files"]
    assert all(len(digest) == 64 for digest in raw["files"].values())
    assert len(raw["data"]["fingerprint"]) == 64 and "skops" in raw["library_versions"]
    assert raw["training"]["split"]["method"] == "time"
    assert 0 < raw["metrics"]["category"]["accuracy"] <= 1
    assert raw["novelty"]["false_alarm_rate"] == 0.2 and raw["novelty"]["representation"] == "word tf-idf"
    assert raw["training"]["final_model"]["refit"] and raw["heads"]["category"]["n_train"] == raw["data"]["n_tickets"]
    assert "novelty.npz" in raw["files"]
    suffixes = {Path(name).suffix for name in raw["files"]}
    assert suffixes <= {".skops", ".npz", ".json", ".md", ".txt", ".onnx"}  # no pickle anywhere
    assert json.loads((trained_bundle / SIGNATURE).read_text())["algorithm"] == "ed25519"


def test_round_trip_predicts_the_same(trained_bundle: Path, bundle_copy: Path) -> None:
    texts = ["vpn drops every hour", "printer on floor 2 is offline"]
    first = load_bundle(trained_bundle).model
    second = load_bundle(bundle_copy).model
    assert first.predict(texts).equals(second.predict(texts))
    assert (first.analyse(texts)[1] == second.analyse(texts)[1]).all()
    assert set(first.predict(texts).columns) == {
        "category",
        "category_confidence",
        "priority",
        "priority_confidence",
        "tier",
        "tier_confidence",
    }


def test_a_file_changed_after_signing_is_refused_by_name(bundle_copy: Path) -> None:
    with (bundle_copy / "heads" / "tier.npz").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleIntegrityError, match=r"heads/tier.npz was changed"):
        load_bundle(bundle_copy)


def test_a_changed_manifest_breaks_the_signature(bundle_copy: Path) -> None:
    path = bundle_copy / "manifest.json"
    raw = json.loads(path.read_text())
    raw["heads"]["category"]["threshold"] = 0.01  # route everything: the change an attacker wants
    path.write_text(json.dumps(raw, indent=2))
    with pytest.raises(BundleSignatureError, match=r"manifest.json does not match its signature"):
        load_bundle(bundle_copy)


def test_unsigned_or_foreign_bundles_are_refused(bundle_copy: Path, tmp_path: Path) -> None:
    resign(bundle_copy, key_path=tmp_path / "someone-else.pem")
    with pytest.raises(BundleSignatureError, match="does not trust"):
        load_bundle(bundle_copy)
    (bundle_copy / SIGNATURE).unlink()
    with pytest.raises(BundleSignatureError, match="not signed"):
        load_bundle(bundle_copy)


def test_configured_trusted_keys_replace_the_local_key(
    bundle_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.models.signing import public_key_path

    other = tmp_path / "release.pem"
    resign(bundle_copy, key_path=other)
    monkeypatch.setenv("TRIAGE_TRUSTED_KEYS", json.dumps([str(public_key_path(other))]))
    get_settings.cache_clear()
    assert load_bundle(bundle_copy).manifest.heads  # signed by the configured key: loads
    monkeypatch.setenv("TRIAGE_TRUSTED_KEYS", json.dumps([public_key_path(other).read_text().strip()]))
    get_settings.cache_clear()
    assert load_bundle(bundle_copy).manifest.heads  # the key itself, as `triage keys show` prints it
    resign(bundle_copy)  # the local key is no longer trusted once keys are configured
    with pytest.raises(BundleSignatureError, match="does not trust"):
        load_bundle(bundle_copy)


def test_unlisted_files_and_links_are_refused(bundle_copy: Path, tmp_path: Path) -> None:
    (bundle_copy / "notes.txt").write_text("hello")
    with pytest.raises(BundleIntegrityError, match=r"not listed.*notes\.txt"):
        verify_bundle(bundle_copy)
    (bundle_copy / "notes.txt").unlink()
    (bundle_copy / "encoder").mkdir()
    (bundle_copy / "encoder" / "run.sh").write_text("#!/bin/sh\n")
    with pytest.raises(BundleIntegrityError, match=r"encoder/run\.sh"):
        verify_bundle(bundle_copy)
    shutil.rmtree(bundle_copy / "encoder")
    target = bundle_copy / "heads" / "tier.npz"
    outside = tmp_path / "outside.npz"
    shutil.move(target, outside)
    target.symlink_to(outside)  # same bytes, same checksum, but a link leaving the bundle
    with pytest.raises(BundleIntegrityError, match="symbolic link"):
        verify_bundle(bundle_copy)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["heads"].update({"../../evil": raw["heads"]["tier"]}), "unknown heads"),
        (lambda raw: raw["files"].update({"../outside.npz": "0" * 64}), "format does not have"),
        (lambda raw: raw["files"].update({"/etc/passwd": "0" * 64}), "format does not have"),
        (lambda raw: raw["model_params"].update({"surprise": 1}), "model_params.surprise"),
        (lambda raw: raw["heads"]["tier"].update({"n_trees": 999}), "n_trees"),
        (lambda raw: raw["files"].pop("heads/tier.skops"), r"does not list \['heads/tier.skops'\]"),
    ],
)
def test_names_in_a_signed_manifest_are_data_never_paths(bundle_copy: Path, mutate: object, message: str) -> None:
    raw = json.loads((bundle_copy / "manifest.json").read_text())
    mutate(raw)  # type: ignore[operator]
    resign(bundle_copy, raw)  # even with a valid signature
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_copy)


class _Payload:
    """Writes a file when unpickled: what a malicious bundle would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "code ran"))


def _payloads(marker: Path) -> dict[str, bytes]:
    """The same attack in the shapes each kind of bundle file could take."""
    import io
    import pickle

    import numpy as np
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    npz = io.BytesIO()
    np.savez(npz, beta=np.array([_Payload(marker)], dtype=object))  # an object array is a pickle inside
    return {
        "pickle": pickle.dumps(_Payload(marker)),
        "npz with a pickled array": npz.getvalue(),
        "skops naming a function": sio.dumps(FunctionTransformer(func=Path.write_text)),
    }


def test_a_payload_in_any_bundle_file_is_refused_and_never_runs(trained_bundle: Path, tmp_path: Path) -> None:
    from triage.models.bundle import sha256

    marker = tmp_path / "pwned"
    names = json.loads((trained_bundle / "manifest.json").read_text())["files"]
    assert len(names) >= 10
    for name in names:
        for kind, payload in _payloads(marker).items():
            bundle = Path(shutil.copytree(trained_bundle, tmp_path / "b"))
            (bundle / name).write_bytes(payload)
            raw = json.loads((bundle / "manifest.json").read_text())
            raw["files"][name] = sha256(bundle / name)
            resign(bundle, raw)  # checksums and signature all valid: only the file formats protect us
            if name in ("README.md", "data_quality.json"):
                load_bundle(bundle)  # read by people, never by the loader
            else:
                with pytest.raises(BundleError):
                    load_bundle(bundle)
            assert not marker.exists(), f"{kind} in {name} ran code"
            shutil.rmtree(bundle)
    for name in ("manifest.json", SIGNATURE):
        bundle = Path(shutil.copytree(trained_bundle, tmp_path / "b"))
        (bundle / name).write_bytes(_payloads(marker)["pickle"])
        with pytest.raises(BundleError):
            load_bundle(bundle)
        assert not marker.exists()
        shutil.rmtree(bundle)


def test_a_payload_in_tree_and_encoder_files_is_refused(tmp_path: Path, tiny_encoder: Path) -> None:
    import pandas as pd

    from tests.conftest import BUNDLED
    from triage.data.cleaning import ticket_text
    from triage.models import TriageModel, save_bundle
    from triage.models.bundle import sha256

    frame = pd.read_csv(BUNDLED).sample(300, random_state=1)
    texts = [ticket_text(s, b) for s, b in zip(frame["subject"], frame["body"], strict=True)]
    model = TriageModel(feature_set="tfidf+embedding", encoder_dir=tiny_encoder, trees=True)
    source = save_bundle(model.fit(texts, frame[["category", "tier"]]), tmp_path / "source").path
    targets = [n for n in json.loads((source / "manifest.json").read_text())["files"] if ".trees-" in n]
    targets += ["encoder/model.onnx", "encoder/tokenizer.json", "encoder/encoder.json"]
    assert len(targets) > 3
    marker = tmp_path / "pwned"
    for name in targets:
        bundle = Path(shutil.copytree(source, tmp_path / "b"))
        (bundle / name).write_bytes(_payloads(marker)["pickle"])
        raw = json.loads((bundle / "manifest.json").read_text())
        raw["files"][name] = sha256(bundle / name)
        resign(bundle, raw)
        with pytest.raises(BundleError):
            load_bundle(bundle)
        assert not marker.exists()
        shutil.rmtree(bundle)


def test_another_format_version_is_refused_with_retrain(bundle_copy: Path) -> None:
    path = bundle_copy / "manifest.json"
    raw = json.loads(path.read_text())
    raw["format_version"] = 3
    path.write_text(json.dumps(raw))
    with pytest.raises(BundleVersionError, match=r"format version 3.*retrain"):
        load_bundle(bundle_copy)


def test_a_folder_without_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a model bundle"):
        read_manifest(tmp_path)


def test_an_interrupted_write_is_cleaned_and_the_key_is_private(trained_bundle: Path, tmp_path: Path) -> None:
    from triage.models.bundle import remove_partial

    partial = tmp_path / "model.partial"
    partial.mkdir()
    (partial / "features").mkdir()
    remove_partial(tmp_path / "model")
    assert not partial.exists()
    key = get_settings().signing_key
    assert key.stat().st_mode & 0o077 == 0  # readable by its owner only
