"""Ed25519 signatures of bundle manifests: a checksum proves a file is the one the manifest lists, the
signature proves the manifest comes from a key the service trusts.

Training signs ``manifest.json`` with a private key (created on first use, readable by its owner only) and
writes ``signature.json`` beside it. The service loads a bundle only when that signature verifies under one
of its trusted public keys; the manifest then vouches for every other file by SHA-256.

>>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
>>> key = Ed25519PrivateKey.generate()
>>> signed = sign(b'{"format_version": 4}', key)
>>> verify(b'{"format_version": 4}', signed, trusted_keys([public_key_text(key.public_key())]))
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from triage.errors import BundleSignatureError, ConfigError

logger = logging.getLogger(__name__)

SIGNATURE = "signature.json"
ALGORITHM = "ed25519"


def public_key_text(key: Ed25519PublicKey) -> str:
    """A public key as one line of base64 (32 raw bytes): what ``TRIAGE_TRUSTED_KEYS`` holds."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key (first 16 hex digits of the SHA-256 of its raw bytes)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_path(private_key_path: Path) -> Path:
    """Where the public half of a private key file is kept (``signing.pem`` → ``signing.pub``)."""
    return private_key_path.with_suffix(".pub")


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key at ``path`` (PEM, PKCS#8); created with mode 0600, its public half beside it, when
    absent. Two trainings starting at once create one key: the file is created exclusively."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_signing_key(path)  # another process created it first
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        public_key_path(path).write_text(public_key_text(key.public_key()) + "\n")
        logger.info(
            "created signing key %s (key id %s); services here trust it, elsewhere set TRIAGE_TRUSTED_KEYS to "
            "the output of `triage keys show`",
            path,
            key_id(key.public_key()),
        )
        return key
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigError(f"signing key {path}: not a readable unencrypted PEM private key ({exc})") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigError(f"signing key {path}: an Ed25519 key is needed, not {type(loaded).__name__}")
    return loaded


def sign(manifest: bytes, key: Ed25519PrivateKey) -> dict[str, str]:
    """The content of ``signature.json`` for the exact bytes of a manifest."""
    return {
        "algorithm": ALGORITHM,
        "key_id": key_id(key.public_key()),
        "signature": base64.b64encode(key.sign(manifest)).decode(),
    }


def _parse_public_key(value: str) -> Ed25519PublicKey:
    """A trusted key given as base64 raw bytes, or as the path of a file holding that or a PEM public key."""
    text = value.strip()
    if text and not text.startswith("-----") and len(text) <= 64:
        try:
            return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            pass  # not base64 of 32 bytes: perhaps a path
    path = Path(text)
    if not text.startswith("-----") and path.is_file():
        text = path.read_text().strip()
        if not text.startswith("-----"):
            return _parse_public_key(text)
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"trusted key {value[:60]!r}: neither a base64 Ed25519 public key, a PEM public key nor a key file"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"trusted key {value[:60]!r}: an Ed25519 key is needed, not {type(key).__name__}")
    return key


def trusted_keys(values: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """Trusted public keys by key id, from base64 texts, PEM texts or key files."""
    keys = [_parse_public_key(v) for v in values]
    return {key_id(k): k for k in keys}


def local_trusted_keys(configured: list[str], signing_key: Path) -> dict[str, Ed25519PublicKey]:
    """The keys a service trusts: the configured ones, else the public half of the local signing key (what
    the first local training created), so a bundle trained here is served here with no extra step."""
    if configured:
        return trusted_keys(configured)
    public = public_key_path(signing_key)
    if public.is_file():
        return trusted_keys([str(public)])
    if signing_key.is_file():
        return trusted_keys([public_key_text(load_or_create_signing_key(signing_key).public_key())])
    return {}


def verify(manifest: bytes, signature: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> bool:
    """Whether ``signature`` (the content of ``signature.json``) is a valid signature of ``manifest`` by one
    of ``keys``; raises :class:`BundleSignatureError` naming what is wrong otherwise."""
    if signature.get("algorithm") != ALGORITHM:
        raise BundleSignatureError(f"{SIGNATURE}: unsupported algorithm {signature.get('algorithm')!r}")
    if not keys:
        raise BundleSignatureError(
            "no trusted keys: train a bundle on this machine (it creates the local key) or set TRIAGE_TRUSTED_KEYS"
        )
    signer = str(signature.get("key_id", ""))
    key = keys.get(signer)
    if key is None:
        raise BundleSignatureError(
            f"signed by key {signer[:16]!r}, which this service does not trust (trusted: {', '.join(keys)}); "
            "add its public key to TRIAGE_TRUSTED_KEYS"
        )
    try:
        key.verify(base64.b64decode(str(signature.get("signature", "")), validate=True), manifest)
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise BundleSignatureError(
            f"manifest.json does not match its signature: it was changed after signing (key {signer})"
        ) from exc
    return True


def read_signature(bundle_dir: Path) -> dict[str, Any]:
    """The parsed ``signature.json`` of a bundle; a missing or malformed one is refused."""
    path = bundle_dir / SIGNATURE
    if path.is_symlink() or not path.is_file():
        raise BundleSignatureError(f"{bundle_dir}: the bundle is not signed (no {SIGNATURE}); retrain it")
    try:
        raw = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleSignatureError(f"{SIGNATURE}: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise BundleSignatureError(f"{SIGNATURE}: expected a JSON object")
    return raw
