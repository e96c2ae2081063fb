"""Serving needs none of the training libraries: the service and ``triage predict`` run on a bundle with
embeddings and trees without importing torch, transformers, sentence-transformers, matplotlib or MLflow.

Checked in a fresh interpreter (this one has them loaded already, to build the tiny encoder).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import BUNDLED

TRAINING_ONLY = ("torch", "transformers", "sentence_transformers", "matplotlib", "mlflow", "onnx", "training")

SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from triage.api.main import create_app
from triage.settings import Settings

bundle, tickets, out = sys.argv[1:4]
with TestClient(create_app(Settings(model_dir=bundle, auth="off", record=False))) as client:
    reply = client.post("/v1/triage", json={"subject": "VPN down", "body": "cannot reach the VPN since 9am"})
from triage.cli import main
sys.argv = ["triage", "predict", "--model", bundle, tickets, "--out", out]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
modules = {name.split(".")[0] for name in sys.modules}
loaded = sorted(modules & set(json.loads(sys.stdin.read())))
result = {"status": reply.status_code, "body": reply.json(), "loaded": loaded, "onnx": "onnxruntime" in modules}
print(json.dumps(result))
"""


def _importers(importtime: str, names: list[str]) -> str:
    """The lines of ``-X importtime`` after the first of ``names``: the chain of modules that imported it."""
    lines = importtime.splitlines()
    first = next(i for i, line in enumerate(lines) if line.split("|")[-1].strip() in names)
    return "\n".join(lines[first : first + 25])


def test_service_and_predict_import_no_training_library(tmp_path: Path, tiny_encoder: Path) -> None:
    from triage.data.cleaning import ticket_text
    from triage.models import TriageModel, save_bundle

    frame = pd.read_csv(BUNDLED).sample(300, random_state=2)
    texts = [ticket_text(s, b) for s, b in zip(frame["subject"], frame["body"], strict=True)]
    model = TriageModel(feature_set="tfidf+embedding", encoder_dir=tiny_encoder, trees=True)
    bundle = save_bundle(model.fit(texts, frame[["category", "tier"]]), tmp_path / "bundle").path
    tickets = tmp_path / "tickets.csv"
    frame.head(20).to_csv(tickets, index=False)

    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SCRIPT, str(bundle), str(tickets), str(tmp_path / "out.csv")],
        input=json.dumps(TRAINING_ONLY),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == 200 and result["body"]["heads"]["category"]["label"] in set(frame["category"])
    assert len(pd.read_csv(tmp_path / "out.csv")) == 20
    assert result["onnx"]  # the tickets were embedded, by onnxruntime
    assert result["loaded"] == [], _importers(run.stderr, result["loaded"])  # none was imported
