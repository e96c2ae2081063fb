"""Okdesk: the API's issues (``GET /api/v1/issues/{id}``: ``title``, ``description``, ``created_at``, ``type``
and ``priority`` as ``{code, name}``, the responsible group as ``group_id``, custom parameters as
``parameter:CODE``), a JSON list of them; and the issue-list export to Excel, with Russian column titles
(``Номер``, ``Тема``, ``Описание``, ``Тип заявки``, ``Приоритет``, ``Дата создания``, ``Ответственная группа``)
and day-first dates (``15.03.2025 18:05``).

Category is the issue type (Okdesk's own classification of requests)."""

from __future__ import annotations

from triage.data.mapping import ColumnMapping

PRESET = ColumnMapping(
    name="okdesk",
    id=["id"],
    created_at=["created_at"],
    subject=["title"],
    body=["description"],
    labels={"category": ["type"], "priority": ["priority"], "tier": ["tier"]},
    tier_from=["group", "group_id"],
    aliases={
        "id": ["Номер", "Номер заявки", "№"],
        "created_at": ["Дата создания", "Создана"],
        "title": ["Тема"],
        "description": ["Описание"],
        "type": ["type.name", "Тип заявки", "Тип"],
        "priority": ["priority.name", "Приоритет"],
        "group": ["Ответственная группа", "Группа ответственных", "Группа"],
    },
    hints={
        "tier": "the API gives group ids: map them to tiers with a tier_map "
        '({"preset": "okdesk", "tier_map": {"3": "L1", "5": "L2"}}), or use the Excel export with group names',
    },
)
