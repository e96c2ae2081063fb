"""The exported-encoder cache: two trainings at once export in turn, and an interrupted export is redone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from triage.features import encoder
from triage.features.encoder import ENCODER_FILES, cached_encoder


def test_two_trainings_export_one_after_the_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running, overlaps, exports = [0], [], []

    def fake_export(model_name: str, out_dir: Path, **kwargs: object) -> Path:
        running[0] += 1
        overlaps.append(running[0])
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "half-written").write_text("x")
        time.sleep(0.2)  # long enough for the other thread to arrive
        for name in ENCODER_FILES:
            (out_dir / name).write_text(name)
        (out_dir / "half-written").unlink()
        exports.append(out_dir)
        running[0] -= 1
        return out_dir

    monkeypatch.setattr(encoder, "export_encoder", fake_export)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(cached_encoder("m", tmp_path))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert max(overlaps) == 1 and len(exports) == 1  # the second waited, then found the first's folder
    assert results[0] == results[1] and all((results[0] / n).is_file() for n in ENCODER_FILES)


def test_an_interrupted_export_is_removed_and_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_export(model_name: str, out_dir: Path, **kwargs: object) -> Path:
        assert not out_dir.exists()  # what the interrupted run left was removed first
        out_dir.mkdir(parents=True)
        for name in ENCODER_FILES:
            (out_dir / name).write_text(name)
        return out_dir

    monkeypatch.setattr(encoder, "export_encoder", fake_export)
    first = cached_encoder("m", tmp_path)
    first.rename(first.with_name(first.name + ".partial"))  # as if killed before the rename
    (first.with_name(first.name + ".partial") / "model.onnx").write_text("truncated")
    again = cached_encoder("m", tmp_path)
    assert again == first and (again / "model.onnx").read_text() == "model.onnx"
    assert not first.with_name(first.name + ".partial").exists()
