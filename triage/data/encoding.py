"""Decoding export files: the encoding given with ``--encoding``, a byte-order mark, UTF-8, or a detected legacy
encoding (an export re-saved by Excel is often Windows-1252), always said, never a silent replacement character.

>>> decode_bytes("Jos\\xe9 M\\xfcller;VPN".encode("cp1252"), "t.csv").encoding
'windows-1252'
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from triage.errors import ConfigError, DataError, NotATicketExport

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAMPLE_BYTES = 2_000_000  # detection reads this much; decoding then covers the whole file
_DISPLAY = {"cp1250": "windows-1250", "cp1251": "windows-1251", "cp1252": "windows-1252", "utf_8": "utf-8"}


@dataclass(frozen=True)
class Decoded:
    """A file's text, the encoding it was read with and how that was chosen (``given``, ``BOM``, ``UTF-8``,
    ``detected``)."""

    text: str
    encoding: str
    how: str


def display_name(codec: str) -> str:
    """The usual name of a codec: ``cp1252`` -> ``windows-1252``."""
    name = codecs.lookup(codec).name
    return _DISPLAY.get(name.replace("-", "_"), name)


def _position(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, byte {offset}"


def _decode_given(data: bytes, path: str, encoding: str) -> Decoded:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"--encoding {encoding!r}: unknown encoding (e.g. utf-8, windows-1252, latin-1)") from None
    try:
        return Decoded(data.decode(encoding), display_name(encoding), "given")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not valid {encoding} at {_position(data, exc.start)}; leave out --encoding to detect it"
        ) from None


def _detect(data: bytes) -> str | None:
    """The most likely legacy encoding; among equally plausible ones, Windows-1252 (the commonest)."""
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data[:_SAMPLE_BYTES]))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos <= least + 1e-9]
    equivalent = {name for m in tied for name in (m.encoding, *m.could_be_from_charset)}
    return "cp1252" if "cp1252" in equivalent else str(tied[0].encoding)


def decode_bytes(data: bytes, path: str, encoding: str | None = None) -> Decoded:
    """Decode a whole export: ``encoding`` when given (strictly), else by BOM, UTF-8 or detection.

    A file that is no text in any encoding raises :class:`NotATicketExport`.
    """
    if encoding:
        return _decode_given(data, path, encoding)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(codec), display_name(codec.removesuffix("-sig")), "BOM")
            except UnicodeDecodeError:
                break
    try:
        return Decoded(data.decode("utf-8"), "utf-8", "UTF-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if b"\x00" in data[:_SAMPLE_BYTES]:
        raise NotATicketExport(f"{path}: a binary file, not a text export")
    detected = _detect(data)
    if detected is not None:
        try:
            return Decoded(data.decode(detected), display_name(detected), "detected")
        except UnicodeDecodeError:
            pass
    raise NotATicketExport(
        f"{path}: not UTF-8 (at {_position(data, first_bad)}) and no other encoding fits; name it with --encoding"
    )
