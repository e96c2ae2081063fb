from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from triage.api.main import create_app
from triage.settings import Settings

KEY = "test-key-1"
ADMIN_KEY = "admin-key-1"


def make_settings(bundle: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "model_dir": bundle,
        "api_keys": [SecretStr(KEY), SecretStr("other-key")],
        "admin_keys": [SecretStr(ADMIN_KEY)],
        "models_root": bundle.parent,
        "max_batch": 5,
        "max_text_chars": 500,
        "max_request_bytes": 20_000,
        "record": False,  # the store's tests turn recording on, with a migrated database of their own
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def client(trained_bundle: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(trained_bundle)), raise_server_exceptions=False) as c:
        c.headers["X-API-Key"] = KEY
        yield c
