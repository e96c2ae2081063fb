"""Text cleaning for real tickets: HTML, quoted e-mail replies, signatures, whitespace.

The same function cleans training exports and API requests, so a model sees the same kind of text in both.

>>> clean_text("<p>Printer on 3rd floor&nbsp;jams</p><br>Thanks,<br>Ann<br><br>On Mon, Bob wrote:<br>> old")
'Printer on 3rd floor jams'
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_TAG_HINT = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "table",
    "ul",
    "ol",
}

# A line that starts a quoted earlier message: everything from it on is history, not the new request.
_REPLY_HEADER = re.compile(
    r"^\s*(?:"
    r"On .{0,200}wrote:?|"  # On Mon, 3 Jun 2024, Bob <bob@x> wrote:
    r"-{2,}\s*(?:Original|Forwarded) Message\s*-{2,}|"
    r"_{5,}|"  # Outlook separator line
    r"From:\s.+|"  # Outlook header block of a quoted message
    r"Am .{0,200}schrieb .{0,100}:|"  # German clients
    r"Le .{0,200}a écrit\s*:"  # French clients
    r")\s*$",
    re.IGNORECASE,
)
_SIGNOFF = re.compile(
    r"^\s*(?:thanks|thank you|many thanks|thx|cheers|regards|best|best regards|kind regards|warm regards|"
    r"sincerely|br|mit freundlichen grüßen|cordialement)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_MOBILE = re.compile(r"^\s*sent from my .{0,40}$", re.IGNORECASE)
_SIG_DELIM = re.compile(r"^--\s*$")
_SIGNATURE_MAX_LINES = 6


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, with a line break at block elements, skipping scripts/styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Text of an HTML fragment with block elements as line breaks; plain text is only unescaped."""
    if not _TAG_HINT.search(text):
        return html.unescape(text)
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def strip_quoted_reply(lines: list[str]) -> list[str]:
    """Drop the quoted history of an e-mail reply: ``>`` lines and everything after a reply header."""
    kept: list[str] = []
    for line in lines:
        if _REPLY_HEADER.match(line) and kept:
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return kept


def strip_signature(lines: list[str]) -> list[str]:
    """Drop a trailing signature: after ``-- ``, "Sent from my ...", or a sign-off near the end."""
    for i, line in enumerate(lines):
        if _SIG_DELIM.match(line) or _MOBILE.match(line):
            return lines[:i]
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    tail = nonblank[-_SIGNATURE_MAX_LINES:]
    for i in tail:
        if _SIGNOFF.match(lines[i]) and i > nonblank[0]:
            return lines[:i]
    return lines


def clean_text(text: str | None) -> str:
    """The request part of a ticket's text: no HTML, quoted replies, signature, or runs of whitespace."""
    if not text:
        return ""
    text = strip_html(str(text)).replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = strip_signature(strip_quoted_reply(text.split("\n")))
    return " ".join(" ".join(lines).split())


def ticket_text(subject: str | None, body: str | None) -> str:
    """The text a model reads: cleaned subject and body, joined by a full stop."""
    parts = [p for p in (clean_text(subject), clean_text(body)) if p]
    return ". ".join(parts)
