"""Column mappings: how the columns of an export become canonical ticket fields.

A mapping names, for each canonical field, the export columns that may hold it: the first present is the
first choice, a later one a fallback, and every load says which was used and why. ``aliases`` give the other
names one column has in other forms of the same export (ServiceNow's ``short_description`` is ``Short
description`` in its Excel export). Presets (``triage.data.vendors``) cover ServiceNow, Zendesk, Jira, Jitbit,
Okdesk, Freshdesk, Freshservice, OTRS/Znuny and Zammad; a JSON or TOML file, or command-line options, give any
other layout. A column the user names (``--label``, ``--text``, ``--id-column``, ``--time-column`` or a mapping
file) must be there: its absence is an error, never a silent switch to another column.
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

FIELDS: tuple[str, ...] = ("id", "created_at", "subject", "body", *HEADS)
"""The canonical fields a mapping finds columns for."""


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


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
    tier_from: list[str] = Field(
        default_factory=list, description="Column(s) (e.g. assignment group) that tier_map turns into tier."
    )
    tier_map: dict[str, str] = Field(default_factory=dict, description="value of tier_from -> tier label")
    aliases: dict[str, list[str]] = Field(
        default_factory=dict, description="column -> its names in other forms of the export (display labels)"
    )
    value_maps: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="head -> export value -> label, e.g. Freshdesk priority codes"
    )
    hints: dict[str, str] = Field(
        default_factory=dict, description="field -> advice printed when it is absent or taken from a fallback"
    )
    required: dict[str, str] = Field(
        default_factory=dict,
        description="field -> where the user named its column (that column must be present)",
    )
    encoding: str | None = Field(None, description="Text encoding of the export; detected when not given.")
    date_format: str | None = Field(None, description="strftime format of created_at, e.g. %d/%m/%Y %H:%M")
    dayfirst: bool | None = Field(None, description="Numeric dates are day first (True) or month first (False).")

    @field_validator("id", "created_at", "subject", "body", "text", "tier_from", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _listify(value)

    @field_validator("aliases", mode="before")
    @classmethod
    def _listify_aliases(cls, value: Any) -> Any:
        return {k: _listify(v) for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("labels", "value_maps", mode="before")
    @classmethod
    def _check_heads(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(HEADS))
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; heads are {list(HEADS)}")
        return {h: _listify(c) for h, c in value.items()}

    def with_overrides(
        self,
        *,
        text: list[str] | None = None,
        labels: dict[str, str] | None = None,
        id_column: str | None = None,
        time_column: str | None = None,
        encoding: str | None = None,
        date_format: str | None = None,
        dayfirst: bool | None = None,
    ) -> ColumnMapping:
        """This mapping with command-line choices on top: ``--text`` columns replace subject and body; every
        column named here must then be present in the export."""
        update: dict[str, Any] = {}
        required = dict(self.required)
        if text:
            update["text"] = list(text)
            required["text"] = "--text"
        if labels:
            update["labels"] = {**self.labels, **{h: [c] for h, c in labels.items()}}
            required.update({h: f"--label {h}={c}" for h, c in labels.items()})
        if id_column:
            update["id"] = [id_column]
            required["id"] = "--id-column"
        if time_column:
            update["created_at"] = [time_column]
            required["created_at"] = "--time-column"
        for key, value in (("encoding", encoding), ("date_format", date_format), ("dayfirst", dayfirst)):
            if value is not None:
                update[key] = value
        return self.model_validate({**self.model_dump(), **update, "required": required})


def _required_by_file(data: dict[str, Any], path: Path) -> dict[str, str]:
    """The fields a mapping file names columns for: those columns must be present."""
    where = f"mapping file {path.name}"
    required: dict[str, str] = {f: where for f in ("id", "created_at", "text") if f in data}
    labels = data.get("labels")
    if isinstance(labels, dict):
        required.update({str(h): f"labels.{h} in {where}" for h in labels})
    if "tier_from" in data:
        required["tier_from"] = f"tier_from in {where}"
    return required


def load_mapping(preset_or_file: str | Path | None) -> ColumnMapping:
    """A preset by name (``servicenow``, ``zendesk``, ``jira``, ``jitbit``, ``okdesk``, ..., ``generic``) or a
    JSON/TOML mapping file.

    A file may extend a preset: ``{"preset": "servicenow", "tier_map": {"Network Ops": "L2"}}``.
    """
    from triage.data.vendors import PRESETS

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
    if not isinstance(data, dict):
        raise ConfigError(f"mapping file {path}: expected an object of settings")
    base = str(data.pop("preset", "generic")).lower()
    if base not in PRESETS:
        raise ConfigError(f"mapping file {path}: unknown preset {base!r}; presets are {list(PRESETS)}")
    preset = PRESETS[base].model_dump()
    extended = {
        **preset,
        "name": path.stem,
        **data,
        "required": {**preset["required"], **_required_by_file(data, path)},
    }
    for key in ("labels", "aliases", "value_maps", "hints"):  # these extend the preset's rather than replace them
        extended[key] = {**preset[key], **data.get(key, {})}
    try:
        return ColumnMapping.model_validate(extended)
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


def __getattr__(name: str) -> Any:
    if name == "PRESETS":  # kept importable from here; the presets live in triage.data.vendors
        from triage.data.vendors import PRESETS

        return PRESETS
    raise AttributeError(f"module 'triage.data.mapping' has no attribute {name!r}")
