"""A lean HTTP/1.1 load client for the benchmarks: requests built once as bytes, sent on keep-alive sockets.

The load generator shares this machine's two cores with the service it measures. httpx spends ~0.6 ms of CPU
on each request (building, parsing, its own bookkeeping), which a ticketing system on another machine would
not take from the service but which here lands in the measured latency and, under 32 clients, on the cores
the service's workers need. These clients cost a few tens of microseconds per request, so what is measured
is the service. Only what the benchmarks send is handled: ``POST`` with a JSON body, answers with a
``Content-Length`` (as uvicorn sends them), loopback only.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Sequence
from typing import Any


def post_request(host: str, port: int, path: str, payload: Any, key: str) -> bytes:
    """A complete keep-alive ``POST`` of ``payload`` as JSON."""
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _parse_head(head: bytes) -> tuple[int, int]:
    """The status and ``Content-Length`` of a response head (through the blank line)."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value)
    raise ValueError("a response without Content-Length")


class Connection:
    """One blocking keep-alive connection: send prebuilt requests, read whole responses."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; returns the status and the body."""
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status, length = _parse_head(head)
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


async def _client(
    host: str, port: int, requests: Sequence[bytes], offset: int, step: int, deadline: float
) -> tuple[list[float], int]:
    reader, writer = await asyncio.open_connection(host, port)
    latencies: list[float] = []
    errors = 0
    i = offset
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            try:
                status, length = _parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
                await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError):  # the server went away: one error, stop
                return latencies, errors + 1
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 200
            i += step
    finally:
        writer.close()
    return latencies, errors


def concurrent(
    host: str, port: int, requests: Sequence[bytes], clients: int, seconds: float
) -> tuple[list[float], int]:
    """``clients`` connections, each sending one request after another for ``seconds`` (one thread, asyncio);
    returns every latency (ms) and the number of answers other than 200."""

    async def run() -> list[tuple[list[float], int]]:
        deadline = time.perf_counter() + seconds
        return await asyncio.gather(*(_client(host, port, requests, k, clients, deadline) for k in range(clients)))

    done = asyncio.run(run())
    return [ms for latencies, _ in done for ms in latencies], sum(errors for _, errors in done)
