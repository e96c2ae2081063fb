"""Request bodies: JSON parsed and validated in one pass, with the error the client can act on.

400 ``invalid_json`` for a body that is not JSON, 415 for a declared content type that is not JSON, 422
``validation_error`` for JSON that breaks the schema (naming the field, never echoing the value). Runs in a
worker thread, off the event loop.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from triage.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def is_json(content_type: str | None) -> bool:
    """No content type (taken as JSON), ``application/json`` or ``application/<anything>+json``."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def require_json(content_type: str | None) -> None:
    if not is_json(content_type):
        raise ApiError(415, "unsupported_media_type", "send the request body as JSON (Content-Type: application/json)")


def parse_body(raw: bytes, model: type[M]) -> M:
    """``raw`` as a ``model``, parsed and validated in one pass; raises :class:`ApiError` 400 or 422. (The
    parser reads ``NaN`` and ``Infinity`` as numbers: no field but ``metadata`` takes a number.)"""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise _not_json(raw, errors[0]["msg"]) from None
        raise ApiError.invalid(errors) from None


def _not_json(raw: bytes, problem: str) -> ApiError:
    """400, unless the body is JSON whose only fault is a lone UTF-16 surrogate (``"\\ud800"``): JSON's
    grammar allows one, but it is not text, so that is a 422 naming the field."""
    try:
        where = _surrogate_at(json.loads(raw, parse_constant=_no_constant), ())
    except (ValueError, RecursionError):
        where = None
    if where is not None:
        detail = {
            "field": ".".join(str(part) for part in where) or "(request body)",
            "problem": "holds a lone UTF-16 surrogate (e.g. \\ud800), which is not text; send valid Unicode",
            "type": "string_unicode",
        }
        return ApiError(422, "validation_error", "the request is invalid", [detail])
    details = [{"field": "(request body)", "problem": problem, "type": "json_invalid"}]
    return ApiError(400, "invalid_json", "the request body is not valid JSON", details)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _surrogate_at(value: Any, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The path of the first string (or key) holding a lone surrogate, or None."""
    if isinstance(value, str):
        return path if _has_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _has_surrogate(key):
                return (*path, "(key)")
            found = _surrogate_at(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _surrogate_at(item, (*path, i))
            if found is not None:
                return found
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
