import json
import shutil
from pathlib import Path

import pytest

from triage.errors import BundleError, BundleIntegrityError, BundleVersionError
from triage.models import load_bundle, read_manifest, verify_bundle
from triage.models.bundle import FORMAT_VERSION


@pytest.fixture
def bundle_copy(trained_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained_bundle, tmp_path / "bundle"))


def test_manifest_is_plain_json_with_labels_versions_and_checksums(trained_bundle: Path) -> None:
    raw = json.loads((trained_bundle / "manifest.json").read_text())
    assert raw["format_version"] == FORMAT_VERSION == 3
    assert set(raw["heads"]) == {"category", "priority", "tier"}
    assert len(raw["heads"]["category"]["labels"]) == 14
    assert {"features.joblib", "heads/category.joblib", "README.md", "data_quality.json"} <= set(raw["files"])
    assert all(len(digest) == 64 for digest in raw["files"].values())
    assert len(raw["data"]["fingerprint"]) == 64 and "scikit-learn" in raw["library_versions"]
    assert raw["training"]["split"]["method"] == "time"
    assert 0 < raw["metrics"]["category"]["accuracy"] <= 1
    assert raw["novelty"]["false_alarm_rate"] == 0.2 and raw["novelty"]["representation"] == "word tf-idf"
    assert "novelty.joblib" in raw["files"]


def test_round_trip_predicts_the_same(trained_bundle: Path, bundle_copy: Path) -> None:
    texts = ["vpn drops every hour", "printer on floor 2 is offline"]
    first = load_bundle(trained_bundle).model.predict(texts)
    second = load_bundle(bundle_copy).model.predict(texts)
    assert first.equals(second)
    assert set(first.columns) == {
        "category",
        "category_confidence",
        "priority",
        "priority_confidence",
        "tier",
        "tier_confidence",
    }


def test_a_tampered_file_is_refused_before_unpickling(bundle_copy: Path) -> None:
    with (bundle_copy / "heads" / "tier.joblib").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleIntegrityError, match=r"heads/tier.joblib was changed"):
        load_bundle(bundle_copy)


def test_a_missing_or_unlisted_pickle_is_refused(bundle_copy: Path) -> None:
    shutil.copy(bundle_copy / "features.joblib", bundle_copy / "extra.joblib")
    with pytest.raises(BundleIntegrityError, match="not listed"):
        verify_bundle(bundle_copy)
    (bundle_copy / "extra.joblib").unlink()
    (bundle_copy / "features.joblib").unlink()
    with pytest.raises(BundleIntegrityError, match=r"features\.joblib listed in the manifest is missing"):
        verify_bundle(bundle_copy)


def test_another_format_version_is_refused(bundle_copy: Path) -> None:
    path = bundle_copy / "manifest.json"
    raw = json.loads(path.read_text())
    raw["format_version"] = 99
    path.write_text(json.dumps(raw))
    with pytest.raises(BundleVersionError, match="format version 99"):
        load_bundle(bundle_copy)


def test_a_folder_without_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a model bundle"):
        read_manifest(tmp_path)
