"""`triage serve` as an operator runs it: a real uvicorn subprocess on a free loopback port (issue 10,
sections 3 and 4). Every wait is bounded; every process is stopped at the end of its test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import ADMIN_KEY, KEY

TRIAGE = str(Path(sys.executable).parent / "triage")
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[str]
    base: str

    def stop(self) -> str:
        """Stop the service (if still running) and return everything it wrote to stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
        return err


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_") or k == "TRIAGE_SIGNING_KEY"}
    env["TRIAGE_CACHE_DIR"] = os.environ["TRIAGE_CACHE_DIR"]
    env["TRIAGE_RECORD"] = "off"  # no store to migrate in these processes' folders
    return {**env, **values}


def serve(cwd: Path, env: dict[str, str], *args: str) -> Served:
    port = free_port()
    command = [TRIAGE, "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    served = Served(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{served.base}/healthz", timeout=1)
            return served
        except httpx.TransportError:
            time.sleep(0.05)
    err = served.stop()
    raise AssertionError(f"triage serve did not start within {START_TIMEOUT_S} s: {err[-2000:]}")


def run_cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIAGE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def models(trained_bundle: Path, tmp_path: Path) -> Path:
    root = tmp_path / "models"
    shutil.copytree(trained_bundle, root / "default")
    return root


@pytest.fixture
def keyed_env(models: Path) -> dict[str, str]:
    return _env(
        TRIAGE_API_KEYS=json.dumps([KEY]),
        TRIAGE_ADMIN_KEYS=json.dumps([ADMIN_KEY]),
        TRIAGE_MODELS_ROOT=str(models),
        TRIAGE_SHUTDOWN_GRACE="1",
    )


@pytest.fixture
def service(models: Path, keyed_env: dict[str, str]) -> Iterator[Served]:
    served = serve(models.parent, keyed_env, "--model", str(models / "default"), "--workers", "1")
    yield served
    served.stop()


def _wait_for(check: object, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_serve_answers_reloads_on_sighup_and_drains_on_sigterm(service: Served) -> None:
    """One process, as operators live with it. The last request is a client still sending its body when
    SIGTERM comes: uvicorn alone answered it a bare 500 after its own timeout; now 503 after the grace."""
    with httpx.Client(base_url=service.base, headers={"X-API-Key": KEY}, timeout=10) as client:
        assert _wait_for(lambda: client.get("/readyz").status_code == 200)
        ready = client.get("/readyz").json()
        assert set(ready) == {"status", "model_version"}
        body = client.post("/v1/triage", json={"id": "INC1", "subject": "VPN keeps dropping"}).json()
        assert body["id"] == "INC1" and body["model_version"] == ready["model_version"]
        assert client.post("/v1/triage", json={"subject": "x"}, headers={"X-API-Key": "wrong"}).status_code == 401
        service.process.send_signal(signal.SIGHUP)
        assert _wait_for(lambda: 'triage_model_reloads_total{result="ok"} 1.0' in client.get("/metrics").text)
        assert client.get("/readyz").status_code == 200
    host, port = service.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as conn:
        head = f"POST /v1/triage HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {KEY}\r\n"
        conn.sendall(f"{head}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode() + b'{"subj')
        time.sleep(0.2)
        started = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    elapsed = time.monotonic() - started
    head_part, _, body_part = answer.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 503"), answer[:200]
    assert b"retry-after: 5" in head_part.lower()
    assert json.loads(body_part)["error"]["code"] == "shutting_down"
    assert 0.8 < elapsed < 5  # TRIAGE_SHUTDOWN_GRACE=1
    service.process.wait(timeout=20)
    assert "Traceback" not in service.stop()


def test_without_keys_serve_refuses_to_start_in_one_line(models: Path) -> None:
    for keys in (None, "[]", "null"):
        env = _env(**({"TRIAGE_API_KEYS": keys} if keys is not None else {}))
        result = run_cli(models.parent, env, "serve", "--model", str(models / "default"), "--port", str(free_port()))
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: no API keys") and "--no-auth" in lines[0]


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TRIAGE_API_KEYS", "[oops", "invalid setting TRIAGE_API_KEYS: not valid JSON"),
        ("TRIAGE_API_KEYS", '["good", " "]', "invalid setting TRIAGE_API_KEYS: key 1 is empty"),
        ("TRIAGE_ADMIN_KEYS", '[""]', "invalid setting TRIAGE_ADMIN_KEYS: key 0 is empty"),
        ("TRIAGE_SHUTDOWN_GRACE", "soon", "invalid setting TRIAGE_SHUTDOWN_GRACE"),
    ],
)
def test_a_malformed_setting_is_one_line_and_exit_2(models: Path, variable: str, value: str, problem: str) -> None:
    env = {**_env(TRIAGE_API_KEYS=json.dumps([KEY])), variable: value}
    result = run_cli(models.parent, env, "serve", "--model", str(models / "default"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {problem}"), result.stderr
    assert "good" not in result.stderr  # never a key's value


def test_no_auth_is_said_on_screen_and_the_model_dir_variable_counts(models: Path, tmp_path: Path) -> None:
    """`make run` passes --no-auth; TRIAGE_MODEL_DIR used to be overwritten by the --model default."""
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()  # no models/default here: only TRIAGE_MODEL_DIR leads to the bundle
    served = serve(elsewhere, _env(TRIAGE_MODEL_DIR=str(models / "default")), "--no-auth")
    try:
        with httpx.Client(base_url=served.base, timeout=10) as client:
            assert _wait_for(lambda: client.get("/readyz").status_code == 200)
            assert client.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
    finally:
        err = served.stop()
    assert "authentication is OFF" in err


def test_a_bundle_that_fails_to_load_at_start_is_one_line(models: Path, keyed_env: dict[str, str]) -> None:
    bundle = models / "default"
    victim = next(
        p for p in sorted(bundle.rglob("*")) if p.is_file() and p.name != "manifest.json" and p.suffix != ".md"
    )
    victim.write_bytes(victim.read_bytes() + b"tampered")
    served = serve(models.parent, keyed_env, "--model", str(bundle))
    try:
        response = httpx.get(f"{served.base}/readyz", timeout=10)
        assert response.status_code == 503 and str(models) not in response.text
    finally:
        err = served.stop()
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if "starting without a model" in line]
