import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from triage.cli import (
    app,
    commands,  # noqa: F401  (registers the commands)
    main,
)

runner = CliRunner()


def test_evaluate_writes_metrics_per_head(trained_bundle: Path, small_export: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["evaluate", "--model", str(trained_bundle), str(small_export), "--out", str(tmp_path / "report")],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["n_tickets"] == 900
    for head in ("category", "priority", "tier"):
        assert {"accuracy", "macro_f1", "per_class"} <= set(metrics[head])
        some_class = next(iter(metrics[head]["per_class"].values()))
        assert set(some_class) == {"precision", "recall", "f1", "support"}
        auto = metrics[head]["auto_route"]
        manifest = json.loads((trained_bundle / "manifest.json").read_text())["heads"][head]
        assert auto["threshold"] == manifest["threshold"] and manifest["precision_target"] == auto["target"] == 0.95
        per_class = metrics[head]["per_class_auto_route"]
        assert set(per_class) == set(manifest["labels"])
        for label, row in per_class.items():
            assert row["threshold"] == manifest["class_thresholds"][label]["threshold"]
            if row["threshold"] is None:
                assert row["coverage"] == 0
        if auto["threshold"] is None:  # the head cannot reach its precision target: never auto-routed
            assert auto["coverage"] == 0
        else:
            assert 0 < auto["coverage"] <= 1 and auto["precision"] >= 0.9
        assert 0 <= metrics[head]["risk_coverage"]["aurc"] <= 1
        sets = metrics[head]["prediction_set"]
        assert sets["target_coverage"] == 0.9 and sets["mean_size"] >= 1
        assert sets["coverage"] >= 0.85  # conformal sets reach their coverage on tickets like the training ones
    assert 0 <= metrics["overall"]["unfamiliar"] < 0.3  # about the configured 0.2 on tickets like the training ones
    overall = metrics["overall"]["auto_route"]
    assert overall["n"] == 900 and overall["target"] == 0.95
    assert 0 <= metrics["overall"]["tier_risk"] <= 1
    baseline = metrics["overall"]["global_threshold"]  # the old single-threshold policy, side by side
    assert baseline["threshold"] == 0.5 and baseline["n"] == 900 and baseline["unknown_label_deferred"] is None
    assert overall["coverage"] <= min(metrics[h]["auto_route"]["coverage"] for h in ("category", "priority", "tier"))


def test_predict_writes_one_row_per_ticket(trained_bundle: Path, tmp_path: Path) -> None:
    export = tmp_path / "new.jsonl"
    export.write_text('{"id": "A", "subject": "printer jam", "body": "floor 2"}\n{"id": "B", "subject": "vpn"}\n')
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["predict", "--model", str(trained_bundle), str(export), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert frame["id"].tolist() == ["A", "B"]
    assert {
        "category",
        "category_confidence",
        "priority",
        "priority_confidence",
        "tier",
        "tier_confidence",
    } <= set(frame.columns)
    assert frame["category_confidence"].between(0, 1).all()
    assert set(frame["decision"]) <= {"auto_route", "needs_review"}


def test_train_with_generic_columns_and_labels(tmp_path: Path) -> None:
    rows = [
        {"Title": f"{w} problem {i}", "Team": "L1" if w == "printer" else "L2", "Kind": w}
        for i in range(40)
        for w in ("printer", "vpn")
    ]
    export = tmp_path / "export.csv.gz"
    pd.DataFrame(rows).to_csv(export, index=False)
    result = runner.invoke(
        app,
        [
            "train",
            str(export),
            "--out",
            str(tmp_path / "m"),
            "--text",
            "Title",
            "--label",
            "category=Kind",
            "--label",
            "tier=Team",
            "--features",
            "tfidf",
            "--no-mlflow",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert set(manifest["heads"]) == {"category", "tier"}


def test_bad_input_exits_2_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "weather.csv"
    export.write_text("date,temp\n2026-01-01,3\n")
    monkeypatch.setattr("sys.argv", ["triage", "train", str(export), "--out", str(tmp_path / "m")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "not a ticket export" in capsys.readouterr().err


def test_loading_a_tampered_bundle_exits_2(
    trained_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "b"))
    (bundle / "features.joblib").write_bytes(b"evil")
    monkeypatch.setattr(
        "sys.argv",
        [
            "triage",
            "predict",
            "--model",
            str(bundle),
            str(bundle / "x.csv"),
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "checksum mismatch" in capsys.readouterr().err


def test_precision_targets_per_head_and_bad_values() -> None:
    from triage.cli.commands import _precision_targets

    assert _precision_targets([]) == {"precision_target": 0.95, "precision_targets": {}}
    assert _precision_targets(["0.9", "priority=0.8"]) == {
        "precision_target": 0.9,
        "precision_targets": {"priority": 0.8},
    }
    assert _precision_targets(["0"])["precision_target"] is None  # no target: fixed threshold
    for bad, problem in [("colour=0.9", "unknown head"), ("high", "expected a number"), ("1.5", "between 0 and 1")]:
        result = runner.invoke(app, ["train", "x.csv", "--out", "m", "--precision-target", bad])
        assert result.exit_code == 2 and problem in result.output


def test_trees_option_is_recorded_and_bad_values_are_named(tmp_path: Path) -> None:
    rows = [{"text": f"{w} problem {i}", "category": w} for i in range(40) for w in ("printer", "vpn")]
    export = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(export, index=False)
    args = ["train", str(export), "--out", str(tmp_path / "m"), "--features", "tfidf", "--no-mlflow"]
    result = runner.invoke(app, [*args, "--trees", "on"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["model_params"]["trees"] is True
    assert manifest["training"]["feature_selection"] == {"chosen": "tfidf", "trees": True, "reason": "given"}
    result = runner.invoke(app, [*args, "--trees", "maybe"])
    assert result.exit_code == 2
    assert "--trees" in result.output and "'maybe' is not one of" in result.output
