"""Screenshot of the review desk for the docs, from a real run: the service (``create_app``) on a fresh SQLite
store triages tickets through ``POST /v1/triage/batch``, which records the deferred ones; an agent signs in
and works the queue in headless Chromium (Debian's, driven by Playwright).

    .venv/bin/python docs/desk_screenshot.py --model models/default docs/desk.png
    .venv/bin/python docs/desk_screenshot.py --model models/default --page queue docs/desk-queue.png

``--tickets`` is an export the bundle was not trained on (default: the last ``--n`` tickets of the bundled
one); ``--page`` is ``ticket`` (after accepting the first ticket with Enter), ``queue`` or ``admin``.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import uvicorn
from playwright.sync_api import sync_playwright
from pydantic import SecretStr

from triage.api.main import create_app
from triage.settings import Settings
from triage.store import Store, upgrade
from triage.store.agents import add_agent

AGENT, PASSWORD = "maria", "desk-screenshot-" + secrets.token_hex(4)


def serve(app: object) -> tuple[uvicorn.Server, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))  # type: ignore[arg-type]
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def triage_tickets(base: str, tickets: pd.DataFrame) -> None:
    fields = tickets[["id", "subject", "body", "channel"]].astype(object)
    rows = [{k: v for k, v in row.items() if isinstance(v, str)} for row in fields.to_dict("records")]
    with httpx.Client(base_url=base, timeout=60) as client:
        for start in range(0, len(rows), 100):
            client.post("/v1/triage/batch", json={"tickets": rows[start : start + 100]}).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--tickets", type=Path, default=Path("datasets/helpdesk_tickets.csv.gz"))
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--page", choices=("ticket", "queue", "admin"), default="ticket")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (make browser)")
    with tempfile.TemporaryDirectory(prefix="desk-screenshot-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'triage.db'}"
        store = Store.from_url(url)
        upgrade(store.engine)
        add_agent(store, AGENT, PASSWORD, admin=True)
        settings = Settings(
            model_dir=args.model,
            models_root=args.model.resolve().parent,
            auth="off",
            database_url=url,
            desk_secret=SecretStr(secrets.token_hex(16)),
        )
        app = create_app(settings)  # the service, the desk mounted at /review
        server, base = serve(app)
        triage_tickets(base, pd.read_csv(args.tickets).tail(args.n))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"{base}/review/login")
            page.fill("input[name=name]", AGENT)
            page.fill("input[name=password]", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/review")
            if args.page == "ticket":
                for key in ("n", "Enter"):  # open the most urgent ticket, accept it: the next one is shown
                    with page.expect_navigation():
                        page.keyboard.press(key)
            elif args.page == "admin":
                page.goto(f"{base}/review/admin")
            page.screenshot(path=str(args.out))
            browser.close()
        server.should_exit = True
        store.dispose()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
