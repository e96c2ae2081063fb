"""A service that does not record (``TRIAGE_RECORD=off``) never imports SQLAlchemy: not with the app's modules,
not at its start, not while answering; the store's names are imported at first use, and still work.

Checked in a fresh interpreter (this one has the store loaded already).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
import triage.api.main
from triage.settings import Settings

imported = "sqlalchemy" in sys.modules
app = triage.api.main.create_app(Settings(model_dir=sys.argv[1], auth="off", record=False))
with TestClient(app) as client:
    reply = client.post("/v1/triage", json={"subject": "VPN down", "body": "cannot reach the VPN since 9am"})
    ready = client.get("/readyz").status_code
    metrics = client.get("/metrics").text
    stored = client.get("/v1/tickets/INC1").status_code
served = "sqlalchemy" in sys.modules
from triage.store import Store, queue, queue_size
import triage.store.queue
from triage.monitoring import compute_quality
result = {
    "imported": imported, "served": served, "status": reply.status_code, "label": reply.json()["heads"],
    "ready": ready, "metrics": 'triage_decisions_total{outcome="' in metrics, "stored": stored,
    "later": "sqlalchemy" in sys.modules, "store": Store.__module__, "queue": callable(queue),
    "queue_after_module": triage.store.queue is queue, "quality": compute_quality.__module__,
}
print(json.dumps(result))
"""


def test_service_without_recording_never_imports_sqlalchemy(trained_bundle: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SCRIPT, str(trained_bundle)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    chain = [line for line in run.stderr.splitlines() if "triage." in line or "sqlalchemy " in line][:40]
    assert result["imported"] is False, "\n".join(chain)  # importing the app
    assert result["served"] is False, "\n".join(chain)  # starting, answering, /readyz, /metrics
    assert result["status"] == 200 and "category" in result["label"]
    assert result["ready"] == 200 and result["metrics"]
    assert result["stored"] == 404  # recording is off: no ticket is stored
    # the store's and monitoring's names are imported at first use, and are the real ones
    assert result["later"] is True
    assert result["store"] == "triage.store.engine" and result["quality"] == "triage.monitoring.quality"
    assert result["queue"] and result["queue_after_module"]  # `queue` stays the function once its module loads


def test_lazy_packages_list_every_name_they_import() -> None:
    import triage.monitoring
    import triage.store

    for package in (triage.store, triage.monitoring):
        homes = {name: module for module, names in package._MODULES.items() for name in names}
        assert sorted(package.__all__) == sorted(homes)
        for name in package.__all__:
            module = importlib.import_module(f"{package.__name__}.{homes[name]}")
            assert getattr(package, name) is getattr(module, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        triage.store.nothing  # noqa: B018
