"""Text cleaning for real tickets: HTML, quoted e-mail replies, signatures, whitespace.

The same function cleans training exports and API requests, so a model sees the same kind of text in both.
Every step takes time linear in the input (a service must not stall on one hostile ticket), the raw text is
capped at ``RAW_FACTOR`` times the length limit before any work, and cleaning is idempotent:
``clean_text(clean_text(x)) == clean_text(x)`` for any string.

>>> clean_text("<p>Printer on 3rd floor&nbsp;jams</p><br>Thanks,<br>Ann<br><br>On Mon, Bob wrote:<br>> old")
'Printer on 3rd floor jams'
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

DEFAULT_MAX_CHARS = 20_000  # the service's default TRIAGE_MAX_TEXT_CHARS
RAW_FACTOR = 5  # raw text beyond RAW_FACTOR * max_chars is cut before cleaning

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol"}
)
_TAG_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/!?")
_ANGLE = re.compile(r"[<>]")
_OPENERS = re.compile(r"(?:<[A-Za-z/!?][^<>]*)+")  # each "<" may start a tag: a ">" would close the last one
_OPENERS_TO_COMMENT = re.compile(r"<[A-Za-z/!?][^<>]*(?:<(?!!--)[A-Za-z/!?][^<>]*)*")  # stops before a "<!--"
_TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")
_BLOCK_TAG = re.compile(  # the look-ahead first spares most "<" the case-insensitive alternatives
    r"<(?=/?[BbDdHhLlOoPpTtUu])/?(?i:p|div|br|li|tr|h[1-6]|blockquote|table|ul|ol)(?![A-Za-z0-9])[^<>]*>", re.ASCII
)
# Where the plain substitutions above stop being enough: a "<" that a ">" does not close at once, a comment, a
# script or style element (unless its end is known to be absent). One pattern per set of absent ends.
_HARD_PARTS = {
    "-->": "!--",
    "script": "[Ss][Cc][Rr][Ii][Pp][Tt](?![A-Za-z0-9])",
    "style": "[Ss][Tt][Yy][Ll][Ee](?![A-Za-z0-9])",
}
_HARD: dict[frozenset[str], re.Pattern[str]] = {}
_TAG_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9]{0,10})(?![A-Za-z0-9])")
_RAW_TEXT_END = {
    name: re.compile(rf"</{name}(?:[\s/][^<>]*)?>", re.IGNORECASE | re.ASCII) for name in ("script", "style")
}
# The character references html.unescape replaces (its own pattern): the name part is bounded, so it is linear.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
# Decimal references past 7 digits: html.unescape would turn the digits into an int, which Python refuses past
# 4,300 digits (ValueError); any value this long is past U+10FFFF, so 1114112 stands for it (both give U+FFFD).
_LONG_DECIMAL_REF = re.compile(r"&#([0-9]{8,})")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_OPEN_AT_END = re.compile(r"<(?=[A-Za-z/!?][^<>]*$)")  # a "<" that a ">" after the text would close
_CLOSE_AT_START = re.compile(r"[^<>]*>")  # a ">" that would close a "<" before the text

# A line that starts a quoted earlier message: everything from it on is history, not the new request.
# Lines reach these patterns with runs of whitespace already collapsed, so no `\s*` here can backtrack far.
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


def _short_decimal_ref(match: re.Match[str]) -> str:
    digits = match.group(1).lstrip("0") or "0"
    return "&#" + (digits if len(digits) < 8 else "1114112")


def unescape(text: str) -> str:
    """``html.unescape`` that takes any input: a decimal reference of thousands of digits decodes to U+FFFD.

    >>> unescape("&lt;b&gt; &#" + "9" * 5000 + ";")
    '<b> \ufffd'
    """
    return html.unescape(_LONG_DECIMAL_REF.sub(_short_decimal_ref, text))


@functools.lru_cache(maxsize=1024)
def _defused(ref: str) -> str:
    return ref if html.unescape(ref) == ref else "& " + ref[1:]


def _defuse_ref(match: re.Match[str]) -> str:
    return _defused(match.group())


def defuse_entities(text: str) -> str:
    """Text that ``html.unescape`` leaves as it is: a space after each ``&`` that starts a character reference.

    Only double-escaped input (``&amp;lt;``) still holds references once unescaped; breaking them keeps a second
    cleaning from decoding them into markup.

    >>> defuse_entities("AT&T &lt;b&gt;")
    'AT&T & lt;b& gt;'
    """
    text = _LONG_DECIMAL_REF.sub(_short_decimal_ref, text)
    if html.unescape(text) == text:
        return text
    return _CHARREF.sub(_defuse_ref, text)


def _remove_tags(text: str) -> str:
    """``text`` without complete tags ``<[A-Za-z/!?][^<>]*>``, in one forward pass.

    A removed tag becomes a space (a line break for block elements), so its neighbours never join into a new tag
    or entity. Tags are removed as nested brackets: in ``<a <b> c>`` removing ``<b>`` would leave the tag
    ``<a   c>``, so that goes too. A stack holds runs of ``<`` that may still be closed (found by one regex match
    each, not one step per character); a ``<`` that cannot start a tag ends them all. Comments and the content of
    ``<script>``/``<style>`` elements are dropped; their end is searched for forward only, and a search that
    failed is not repeated, so the pass stays linear.
    """
    out: list[str] = []
    # Open runs: [index of the run's piece in out, start, end]; every "<" in text[start:end] may still be closed.
    # The piece is filled in when the run leaves the stack, so closing its tags one by one copies nothing.
    runs: list[list[int]] = []
    no_end: set[str] = set()  # end markers known to be absent from the rest of the text
    pos = 0

    def settle() -> None:
        for index, start, end in runs:
            out[index] = text[start:end]
        runs.clear()

    while True:
        if runs:
            match = _ANGLE.search(text, pos)
        else:  # up to the next hard case, tags go by two substitutions rather than one step each
            match = _hard_pattern(no_end).search(text, pos)
            easy_end = len(text) if match is None else match.start()
            out.append(_TAG.sub(" ", _BLOCK_TAG.sub("\n", text[pos:easy_end])))
            pos = easy_end
        if match is None:
            break
        i = match.start()
        out.append(text[pos:i])
        if text[i] == ">":  # closes the last open "<"
            index, start, end = runs[-1]
            k = text.rfind("<", start, end)
            del out[index + 1 :]
            if k == start:
                runs.pop()
                out[index] = ""
            else:
                runs[-1][2] = k
            pos = _tag_removed(text, k, i + 1, out, no_end)
        elif text[i + 1 : i + 2] not in _TAG_START:  # a "<" that starts no tag: nothing before it can close
            out.append("<")
            settle()
            pos = i + 1
        elif text.startswith("<!--", i) and "-->" not in no_end and (end := text.find("-->", i + 4)) >= 0:
            out.append(" ")
            pos = end + 3
        else:
            if text.startswith("<!--", i):
                no_end.add("-->")
            run = (_OPENERS if "-->" in no_end else _OPENERS_TO_COMMENT).match(text, i)
            j = run.end() if run else i + 2
            after = text[j : j + 2]
            if after[:1] == ">":
                k = text.rfind("<", i, j)
                if k > i:
                    runs.append([len(out), i, k])
                    out.append("")
                pos = _tag_removed(text, k, j + 1, out, no_end)
            elif after[1:] and after[1] in _TAG_START:  # the run stops before a comment: look at it next
                runs.append([len(out), i, j])
                out.append("")
                pos = j
            else:  # the end, or a "<" that starts no tag: no "<" of the run can be closed
                out.append(text[i:j])
                settle()
                pos = j
    settle()
    out.append(text[pos:])
    return "".join(out)


def _hard_pattern(no_end: set[str]) -> re.Pattern[str]:
    key = frozenset(no_end)
    if key not in _HARD:
        parts = [part for end, part in _HARD_PARTS.items() if end not in key]
        _HARD[key] = re.compile("<(?=[A-Za-z/!?])(?=" + "|".join([*parts, r"[A-Za-z/!?][^<>]*(?:<|\Z)"]) + ")")
    return _HARD[key]


def _tag_removed(text: str, start: int, pos: int, out: list[str], no_end: set[str]) -> int:
    """Put what replaces the tag at ``start`` into ``out``; the position to go on from (after a script's end)."""
    name_match = _TAG_NAME.match(text, start + 1)
    name = name_match.group(1).lower() if name_match else ""
    out.append("\n" if name in _BLOCK_TAGS else " ")
    if name in _RAW_TEXT_END and text[start + 1] != "/" and name not in no_end:
        end_match = _RAW_TEXT_END[name].search(text, pos)
        if end_match is None:
            no_end.add(name)  # an unclosed script/style: only its tag goes, the text after it stays
        else:
            return end_match.end()
    return pos


def strip_html(text: str) -> str:
    """Text of an HTML fragment with block elements as line breaks; plain text is only unescaped.

    Entities are decoded first, so escaped markup (``&lt;b&gt;``) is removed as well: no tag is left.

    >>> strip_html("<div>VPN&nbsp;down</div>a < b")
    '\\nVPN\\xa0down\\na < b'
    """
    return _remove_tags(defuse_entities(unescape(text)))


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


def _clean(text: object, max_chars: int) -> tuple[str, bool]:
    """The cleaned text, at most ``max_chars`` long, and whether anything was cut on the way."""
    if max_chars < 0:
        raise ValueError(f"max_chars must be >= 0, got {max_chars}")
    if not text:
        return "", False
    raw = str(text)
    cut = len(raw) > RAW_FACTOR * max_chars
    plain = strip_html(raw[: RAW_FACTOR * max_chars]).replace("\r\n", "\n").replace("\r", "\n")
    lines = strip_signature(strip_quoted_reply(_INLINE_SPACE.sub(" ", plain).split("\n")))
    out = " ".join(" ".join(lines).split())
    if len(out) > max_chars:
        out, cut = out[:max_chars].rstrip(), True
    # One line that the line rules would drop (a quote, "--", "Sent from my ...") goes now, not on a second pass.
    if out and not strip_signature(strip_quoted_reply([out])):
        out = ""
    return out, cut


def clean_text(text: str | None, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The request part of a ticket's text: no HTML, quoted replies, signature, or runs of whitespace.

    The result is one line of at most ``max_chars`` characters.

    >>> clean_text("Screen  flickers\\n-- \\nAnna", max_chars=12)
    'Screen flick'
    """
    return _clean(text, max_chars)[0]


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A ticket's cleaned subject and body as the model reads them (the body cut to what the subject leaves
    of the limit), and whether anything was cut."""

    subject: str
    body: str
    truncated: bool

    @property
    def text(self) -> str:
        """Subject and body joined by a full stop: the model's input."""
        return f"{self.subject}. {self.body}" if self.subject and self.body else self.subject or self.body


def prepare_parts(subject: str | None, body: str | None, *, max_chars: int = DEFAULT_MAX_CHARS) -> PreparedText:
    """Clean subject and body once for the model and for the store (see :func:`prepare_text`)."""
    subject_text, subject_cut = _clean(subject, max_chars)
    body_text, body_cut = _clean(body, max_chars)
    if not subject_text or not body_text:
        return PreparedText(subject_text, body_text, subject_cut or body_cut)
    dangling = _OPEN_AT_END.search(subject_text)
    if dangling is not None and _CLOSE_AT_START.match(body_text):  # "<Foo" + ". " + "Bar>" would be a tag
        subject_text = f"{subject_text[: dangling.end()]} {subject_text[dangling.end() :]}"[:max_chars].rstrip()
    room = max_chars - len(subject_text) - 2  # what is left for the body after the subject and ". "
    kept = body_text[: max(room, 0)].rstrip()
    return PreparedText(subject_text, kept, subject_cut or body_cut or len(kept) < len(body_text))


def prepare_text(subject: str | None, body: str | None, *, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, bool]:
    """The text a model reads (as ``ticket_text``) and whether anything was cut to fit ``max_chars``.

    >>> prepare_text("VPN down", "<p>since 9am</p>", max_chars=12)
    ('VPN down. si', True)
    """
    prepared = prepare_parts(subject, body, max_chars=max_chars)
    return prepared.text, prepared.truncated


def ticket_text(subject: str | None, body: str | None, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text a model reads: cleaned subject and body, joined by a full stop, at most ``max_chars`` long.

    >>> ticket_text("  VPN \\t down ", "please help")
    'VPN down. please help'
    """
    return prepare_text(subject, body, max_chars=max_chars)[0]
