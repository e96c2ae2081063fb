"""The key that signs the desk's session cookies: ``TRIAGE_DESK_SECRET``, else a random key kept in
``desk-session.key`` beside the bundle signing key (``.triage-keys/`` by default), made on first use with
mode 0600, so sessions survive restarts and every worker of one service shares them."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from triage.errors import ConfigError
from triage.settings import Settings

logger = logging.getLogger(__name__)
KEY_FILE = "desk-session.key"
MIN_SECRET = 16


def key_path(settings: Settings) -> Path:
    return settings.signing_key.parent / KEY_FILE


def session_secret(settings: Settings) -> str:
    """The configured secret, or the key file's (created when absent; a race between workers is settled by
    whichever creates the file first)."""
    if settings.desk_secret is not None:
        secret = settings.desk_secret.get_secret_value()
        if len(secret.strip()) < MIN_SECRET:
            raise ConfigError(f"TRIAGE_DESK_SECRET needs at least {MIN_SECRET} characters")
        return secret
    path = key_path(settings)
    try:
        if not path.exists():
            _create(path)
        mode = path.stat().st_mode
        secret = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"the desk's session key {path} cannot be made or read ({exc.strerror}): set TRIAGE_DESK_SECRET"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("the desk's session key %s is readable by others: chmod 600 it", path)
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"{path} holds no usable key: delete it (a new one is made) or set TRIAGE_DESK_SECRET")
    return secret


def _create(path: Path) -> None:
    """Write a new key beside ``path`` and link it into place: another worker sees no file or a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    part = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(part, path)
            logger.info("made the desk's session key %s (mode 0600)", path)
        except FileExistsError:
            pass  # another worker was first: its key is the one
    finally:
        part.unlink(missing_ok=True)
