"""The desk's admin page shows the live-quality table: per window and head, the precision with its interval,
acceptance, deferral, unfamiliar rate (from the store the desk works on)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.desk.conftest import PASSWORDS, desk_settings, sign_in
from tests.monitoring.conftest import seed
from triage.desk import install_desk
from triage.store import Store
from triage.store.agents import add_agent
from triage.store.types import utcnow


def _row(html: str, window: str, head: str) -> list[str]:
    row = re.search(rf'<tr data-window="{window}" data-head="{head}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no live-quality row for {head} over {window}"
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)
    ]


def test_the_admin_page_shows_live_quality(store: Store, tmp_path: Path) -> None:
    seed(store, utcnow())
    add_agent(store, "ann", PASSWORDS["ann"], admin=True)
    app = FastAPI()
    install_desk(app, desk_settings(tmp_path), store=lambda: store, labels=lambda: {})
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client, "ann")
        html = client.get("/review/admin").text
    assert 'id="live-quality"' in html
    # window, head, precision [95%], target, judged, kept by agents, deferred, unfamiliar, drift
    assert _row(html, "7d", "category") == ["7d", "category", "75.0% [30.1–95.4]", "–", "4", "50%", "44%", "22.2%", "–"]
    assert _row(html, "30d", "category")[2:5] == ["60.0% [23.1–88.2]", "–", "5"]
