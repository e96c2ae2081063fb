"""Several workers behind one port (issue 14, section 4): each accepts on a socket of its own, so connections
opened at once are spread over them; reloads reach every worker, metrics sum over them,
once-only duties run in one. A real `triage serve --workers 2`, and the shared pieces in process."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import multiprocessing
import re
import shutil
import signal
import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from uvicorn.config import STARTUP_FAILURE

from tests.api.conftest import ADMIN_KEY, KEY
from tests.api.test_serve import _env, _wait_for, serve
from triage.api import workers as workers_module
from triage.api.metrics import ServiceMetrics
from triage.api.server import claim_socket, listening_sockets
from triage.api.workers import Workers, one_worker, publish_reload


def _total(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels (and any others) in a Prometheus exposition."""
    total = 0.0
    for found in re.finditer(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", text, flags=re.MULTILINE):
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if found.group(1) == name and all(pairs.get(k) == v for k, v in labels.items()):
            total += float(found.group(3))
    return total


BURST = 64


def _decisions_per_worker(folder: Path) -> list[float]:
    """Tickets decided by each worker so far, from its own metric files (in the order of their names)."""
    return [
        sum(s.value for m in MultiProcessCollector.merge([str(f)]) for s in m.samples if m.name == "triage_decisions")
        for f in sorted((folder / "metrics").glob("counter_*.db"))
    ]


async def _burst(base: str, clients: int) -> None:
    """``clients`` connections opened at once, all open before any sends a ticket; each then asks once."""
    host, port = base.removeprefix("http://").split(":")
    streams = await asyncio.gather(*(asyncio.open_connection(host, int(port)) for _ in range(clients)))
    body = json.dumps({"subject": "printer jam"}).encode()
    head = f"POST /v1/triage HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {KEY}\r\nContent-Type: application/json\r\n"
    request = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    for _, writer in streams:
        writer.write(request)

    async def answered(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        status = await reader.readline()
        writer.close()
        return status

    statuses = await asyncio.gather(*(answered(reader, writer) for reader, writer in streams))
    assert all(status.startswith(b"HTTP/1.1 200") for status in statuses), statuses


def test_two_workers_share_a_port_reloads_and_metrics(trained_bundle: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(trained_bundle, models / "default")
    env = _env(
        TRIAGE_API_KEYS=json.dumps([KEY]),
        TRIAGE_ADMIN_KEYS=json.dumps([ADMIN_KEY]),
        TRIAGE_MODELS_ROOT=str(models),
        TMPDIR=str(tmp_path),  # the run's shared folder is made here, so the test sees it
    )
    served = serve(models.parent, env, "--model", str(models / "default"), "--workers", "2")
    try:
        [folder] = tmp_path.glob("triage-workers-*")
        with httpx.Client(base_url=served.base, headers={"X-API-Key": KEY}, timeout=30) as client:
            # both workers up (each writes its own metric files once it has loaded the model)
            assert _wait_for(lambda: len({p.name for p in (folder / "metrics").glob("gauge_livemax_*")}) == 2, 60)
            n = 60
            for i in range(n):  # a new connection each: the workers take turns accepting them
                response = httpx.post(
                    f"{served.base}/v1/triage", json={"subject": f"printer jam on floor {i}"}, headers=client.headers
                )
                assert response.status_code == 200
            per_worker = _decisions_per_worker(folder)
            assert sorted(per_worker)[-2] > 0 and sum(per_worker) == n  # both workers answered some
            for i in range(2):  # each worker claimed a socket of its own, and holds it
                with (folder / f"socket-{i}.lock").open() as lock, pytest.raises(BlockingIOError):
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # clients that connect all at once (a pool of keep-alive connections) are spread over the workers
            asyncio.run(_burst(served.base, BURST))
            burst = [after - before for after, before in zip(_decisions_per_worker(folder), per_worker, strict=True)]
            assert sum(burst) == BURST and min(burst) >= BURST // 4, burst
            n += BURST
            text = client.get("/metrics").text
            assert _total(text, "triage_decisions_total") == n  # summed over the workers, whichever answered
            timed = _total(text, "triage_request_duration_seconds_count", route="/v1/triage", status="200")
            assert timed == n
            version = client.get("/readyz").json()["model_version"]
            assert _total(text, "triage_model_info", version=version) == 1

            reloaded = client.post("/v1/admin/reload", headers={"X-API-Key": ADMIN_KEY})
            assert reloaded.status_code == 200, reloaded.text
            # the worker that answered loaded it; the other follows the published generation
            assert _wait_for(
                lambda: _total(client.get("/metrics").text, "triage_model_reloads_total", result="ok") == 2, 30
            )
            served.process.send_signal(signal.SIGHUP)  # to the supervisor: both workers reload
            assert _wait_for(
                lambda: _total(client.get("/metrics").text, "triage_model_reloads_total", result="ok") == 4, 30
            )
            assert client.post("/v1/triage", json={"subject": "VPN drops"}).status_code == 200
    finally:
        err = served.stop()
    assert "Traceback" not in err
    assert not folder.exists()  # the shared folder goes with the service


def _claimed_in_a_child(sockets: list[socket.socket], folder: Path) -> int:
    """The index of the socket a short-lived worker claims (its lock goes with it)."""
    context = multiprocessing.get_context("fork")
    found = context.Queue()
    child = context.Process(target=lambda: found.put(sockets.index(claim_socket(sockets, folder)[0])))
    child.start()
    child.join(30)
    return int(found.get(timeout=5))


def test_each_worker_accepts_on_its_own_socket_and_the_kernel_spreads_connections(tmp_path: Path) -> None:
    sockets = listening_sockets("127.0.0.1", 0, 2, backlog=128)
    clients: list[socket.socket] = []
    try:
        port = sockets[0].getsockname()[1]
        assert sockets[1].getsockname()[1] == port  # port 0: the second joins the first's port
        assert _claimed_in_a_child(sockets, tmp_path) == 0
        assert _claimed_in_a_child(sockets, tmp_path) == 0  # a dead worker's socket goes to its replacement
        assert claim_socket(sockets, tmp_path) == [sockets[0]]  # held here now (until the test process ends)
        assert claim_socket(sockets, tmp_path) == [sockets[1]]
        assert claim_socket(sockets, tmp_path) == sockets  # more workers than sockets: they share them all
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(BURST)]
        accepted = []
        for sock in sockets:
            sock.setblocking(False)
            taken = 0
            with contextlib.suppress(BlockingIOError):
                while True:
                    sock.accept()[0].close()
                    taken += 1
            accepted.append(taken)
        assert sum(accepted) == BURST and min(accepted) >= BURST // 4, accepted  # by a hash of the client port
    finally:
        for sock in [*sockets, *clients]:
            sock.close()


def test_a_taken_port_stops_the_start_with_uvicorns_code(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(SystemExit) as stopped:
            listening_sockets("127.0.0.1", taken.getsockname()[1], 2, backlog=128)
        assert stopped.value.code == STARTUP_FAILURE
    finally:
        taken.close()


def test_a_reload_published_by_another_worker_is_seen_once(tmp_path: Path) -> None:
    mine = Workers(tmp_path)
    assert mine.pending() is None and mine.start_dir is None
    publish_reload(tmp_path, tmp_path / "models" / "b", origin=-1)  # another process
    assert mine.pending() == (1, tmp_path / "models" / "b")
    assert mine.pending() is None  # seen
    mine.publish_reload(None)  # this worker's own reload: the others follow, not itself
    assert mine.pending() is None and mine.generation == 2
    late = Workers(tmp_path)  # a worker started now (say, replacing one that died) loads the latest bundle
    assert late.start_dir is None and late.generation == 2
    assert Workers(None).pending() is None


def test_a_duty_runs_in_one_worker_and_another_takes_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers_module, "DUTY_RETRY_S", 0.02)
    runs: list[str] = []

    async def scenario() -> None:
        release = asyncio.Event()

        def duty(name: str) -> object:
            async def run() -> None:
                runs.append(name)
                await release.wait()

            return run

        first = asyncio.create_task(one_worker(tmp_path, "purge", duty("first")))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        second = asyncio.create_task(one_worker(tmp_path, "purge", duty("second")))  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
        assert runs == ["first"]  # the lock is held: the second waits
        first.cancel()  # the first worker dies
        await asyncio.sleep(0.1)
        assert runs == ["first", "second"]
        release.set()
        await second

    asyncio.run(scenario())


def test_single_process_metrics_name_the_model_served() -> None:
    metrics = ServiceMetrics()
    metrics.set_model("v1")
    metrics.set_model("v2")
    from prometheus_client import generate_latest

    text = generate_latest(metrics.exposition()).decode()
    assert 'triage_model_info{version="v2"} 1.0' in text and "v1" not in text
