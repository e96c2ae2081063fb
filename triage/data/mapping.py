"""Column mappings: how the columns of an export become canonical ticket fields.

A mapping names, for each canonical field, the export columns that may hold it (the first present wins), so
one preset serves exports with slightly different column sets. Presets cover ServiceNow, Zendesk and Jira; a
JSON or TOML file, or command-line options, give any other layout.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from triage.errors import ConfigError

HEADS: tuple[str, ...] = ("category", "priority", "tier")
"""The label heads triage knows, in the order they are reported."""


class ColumnMapping(BaseModel):
    """Which export columns hold each canonical ticket field. Lists are candidates; the first present wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "generic"
    id: list[str] = Field(default_factory=lambda: ["id", "ticket_id", "number", "key"])
    created_at: list[str] = Field(default_factory=lambda: ["created_at", "created", "opened_at", "date"])
    subject: list[str] = Field(default_factory=lambda: ["subject", "title", "short_description", "summary"])
    body: list[str] = Field(default_factory=lambda: ["body", "text", "description", "content", "message"])
    text: list[str] = Field(
        default_factory=list,
        description="Explicit text columns, all used (first as subject); overrides subject/body",
    )
    labels: dict[str, list[str]] = Field(
        default_factory=lambda: {h: [h] for h in HEADS},
        description="head -> candidate columns holding its label",
    )
    tier_from: str | None = Field(None, description="Column (e.g. assignment group) that tier_map turns into tier.")
    tier_map: dict[str, str] = Field(default_factory=dict, description="value of tier_from -> tier label")

    @field_validator("id", "created_at", "subject", "body", "text", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("labels", mode="before")
    @classmethod
    def _check_labels(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(HEADS))
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; heads are {list(HEADS)}")
        return {h: [c] if isinstance(c, str) else c for h, c in value.items()}

    def with_overrides(
        self,
        *,
        text: list[str] | None = None,
        labels: dict[str, str] | None = None,
        id_column: str | None = None,
        time_column: str | None = None,
    ) -> ColumnMapping:
        """This mapping with command-line choices on top: ``--text`` columns replace subject and body."""
        update: dict[str, Any] = {}
        if text:
            update["text"] = list(text)
        if labels:
            update["labels"] = {**self.labels, **{h: [c] for h, c in labels.items()}}
        if id_column:
            update["id"] = [id_column]
        if time_column:
            update["created_at"] = [time_column]
        return self.model_validate({**self.model_dump(), **update})


PRESETS: dict[str, ColumnMapping] = {
    "generic": ColumnMapping(),
    "servicenow": ColumnMapping(
        name="servicenow",
        id=["number", "sys_id"],
        created_at=["opened_at", "sys_created_on"],
        subject=["short_description"],
        body=["description", "comments"],
        labels={
            "category": ["subcategory", "category"],
            "priority": ["priority", "urgency"],
            "tier": ["tier"],
        },
        tier_from="assignment_group",
    ),
    "zendesk": ColumnMapping(
        name="zendesk",
        id=["id", "Id", "Ticket ID"],
        created_at=["created_at", "Created at", "Requested"],
        subject=["subject", "Subject"],
        body=["description", "Description", "comment"],
        labels={
            "category": ["category", "custom_fields.category", "type", "Type"],
            "priority": ["priority", "Priority"],
            "tier": ["tier"],
        },
        tier_from="group",
    ),
    "jira": ColumnMapping(
        name="jira",
        id=["Issue key", "key", "Issue id"],
        created_at=["Created", "created"],
        subject=["Summary", "summary"],
        body=["Description", "description"],
        labels={
            "category": ["Component/s", "Components", "Issue Type", "issuetype"],
            "priority": ["Priority", "priority"],
            "tier": ["tier"],
        },
        tier_from="Team",
    ),
}


def load_mapping(preset_or_file: str | Path | None) -> ColumnMapping:
    """A preset by name (``servicenow``, ``zendesk``, ``jira``, ``generic``) or a JSON/TOML mapping file.

    A file may extend a preset: ``{"preset": "servicenow", "tier_map": {"Network Ops": "L2"}}``.
    """
    if preset_or_file is None:
        return PRESETS["generic"]
    key = str(preset_or_file)
    if key.lower() in PRESETS:
        return PRESETS[key.lower()]
    path = Path(key)
    if not path.is_file():
        raise ConfigError(f"--mapping {key!r} is neither a preset ({', '.join(PRESETS)}) nor a file")
    try:
        raw = path.read_text(encoding="utf-8")
        data: dict[str, Any] = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"mapping file {path}: cannot be parsed ({exc})") from exc
    base = data.pop("preset", "generic")
    if base not in PRESETS:
        raise ConfigError(f"mapping file {path}: unknown preset {base!r}; presets are {list(PRESETS)}")
    try:
        return ColumnMapping.model_validate({**PRESETS[base].model_dump(), "name": path.stem, **data})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"mapping file {path}: {problems}") from exc


def parse_label_options(options: list[str] | None) -> dict[str, str]:
    """``["category=Intent", "tier=Group"]`` -> ``{"category": "Intent", "tier": "Group"}``, checked."""
    parsed: dict[str, str] = {}
    for option in options or []:
        head, sep, column = option.partition("=")
        head = head.strip()
        if not sep or not column.strip():
            raise ConfigError(f"--label {option!r}: expected HEAD=COLUMN, e.g. category=Category")
        if head not in HEADS:
            raise ConfigError(f"--label {option!r}: unknown head {head!r}; heads are {', '.join(HEADS)}")
        parsed[head] = column.strip()
    return parsed
