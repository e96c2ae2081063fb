import doctest
import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.data import cleaning
from triage.data.cleaning import DEFAULT_MAX_CHARS, RAW_FACTOR, clean_text, prepare_text, strip_html, ticket_text

MARKUP = re.compile(r"<[A-Za-z/!?][^<>]*>")


def test_html_becomes_text_with_entities_decoded() -> None:
    assert (
        clean_text("<div><b>Printer</b>&nbsp;on floor&amp;3 <script>x()</script>jams</div>")
        == "Printer on floor&3 jams"
    )


def test_plain_text_with_angle_brackets_is_not_parsed_as_html() -> None:
    assert strip_html("a < b and c > d") == "a < b and c > d"


def test_quoted_reply_and_history_are_removed() -> None:
    body = "VPN is down again.\n\nOn Mon, 3 Jun 2024, Bob <bob@x.org> wrote:\n> did you restart?\n> Bob"
    assert clean_text(body) == "VPN is down again."


def test_outlook_original_message_is_removed() -> None:
    body = "Still broken.\n-----Original Message-----\nFrom: Desk\nSent: Monday\nWe fixed it"
    assert clean_text(body) == "Still broken."


def test_signature_after_signoff_and_delimiter_are_removed() -> None:
    assert clean_text("Laptop will not boot.\n\nBest regards,\nAnna Smith\nFinance | ACME") == "Laptop will not boot."
    assert clean_text("Screen flickers\n-- \nAnna\nSent from my phone") == "Screen flickers"


def test_a_ticket_that_is_only_thanks_keeps_its_text() -> None:
    assert clean_text("Thanks") == "Thanks"


def test_whitespace_is_collapsed_and_subject_joined() -> None:
    assert ticket_text("  VPN \t down ", "\n\n please   help \r\n") == "VPN down. please help"
    assert ticket_text(None, "") == ""


def test_module_examples_run() -> None:
    assert doctest.testmod(cleaning).failed == 0


def test_escaped_markup_is_removed_and_double_escaped_markup_stays_escaped_text() -> None:
    assert clean_text("Error &lt;b&gt;500&lt;/b&gt; on save") == "Error 500 on save"
    assert clean_text("Error &amp;lt;b&amp;gt; on save") == "Error & lt;b& gt; on save"
    assert clean_text("AT&T &amp;amp; Verizon") == "AT&T & amp; Verizon"


def test_block_tags_end_lines_so_quote_markers_and_reply_headers_still_count() -> None:
    assert clean_text("Disk full<br>&gt; old reply<div>On Mon, Bob wrote:</div>older") == "Disk full"


def test_removed_tags_leave_a_space_and_do_not_glue_words_or_new_tags() -> None:
    assert clean_text("VPN<b></b>down") == "VPN down"
    assert clean_text("x <y z <p>hello</p> w> v") == "x v"  # the outer "<y ... >" would be a tag once inner ones go
    assert clean_text("&am<b>p;") == "&am p;"


def test_comments_and_closed_scripts_are_dropped_but_an_unclosed_script_keeps_the_text_after_it() -> None:
    assert clean_text("a<!-- <b>hidden</b> < -->b<style>p {}</style>c<SCRIPT>x</script >d") == "a b c d"
    assert clean_text("I typed <script> into the form and it broke") == "I typed into the form and it broke"


def test_hostile_inputs_are_capped() -> None:
    max_chars = 100
    for raw in ("<a" * 10_000, "<" * 10_000, "&amp;lt;" * 5_000, "a\nthanks" + " " * 50_000 + "x", "<div>" * 9_000):
        text, cut = prepare_text(raw, raw, max_chars=max_chars)
        assert len(text) <= max_chars
        assert cut
        assert not MARKUP.search(text)


def test_prepare_text_says_when_it_cut() -> None:
    assert prepare_text("VPN down", "since 9am") == ("VPN down. since 9am", False)
    assert prepare_text("VPN down", "since 9am", max_chars=12) == ("VPN down. si", True)
    assert prepare_text("VPN down", "since 9am", max_chars=9) == ("VPN down", True)
    assert prepare_text("x" * 30, None, max_chars=20) == ("x" * 20, True)
    # Over the raw cap: cut before cleaning, even though the cleaned text is short.
    assert prepare_text(None, "help" + " " * (RAW_FACTOR * 20), max_chars=20) == ("help", True)
    assert prepare_text(None, "help" + " " * (RAW_FACTOR * 20 - 4), max_chars=20) == ("help", False)
    assert ticket_text("VPN down", "since 9am", max_chars=12) == "VPN down. si"


def test_a_tag_left_open_in_the_subject_is_not_closed_by_the_body() -> None:
    assert ticket_text("Error <Foo", "Bar> crashed") == "Error < Foo. Bar> crashed"
    assert ticket_text("Error <Foo", "Bar < crashed >") == "Error <Foo. Bar < crashed >"


def test_default_limit_is_the_service_default() -> None:
    assert DEFAULT_MAX_CHARS == 20_000
    assert len(clean_text("word " * 10_000)) <= DEFAULT_MAX_CHARS


def test_negative_limit_is_an_error() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        clean_text("x", max_chars=-1)


def test_a_decimal_reference_of_thousands_of_digits_is_not_an_error() -> None:
    # html.unescape alone raises ValueError here (Python's limit on int() of long digit strings)
    assert clean_text("a &#" + "9" * 5_000 + "; b") == "a \ufffd b"
    assert clean_text("&#" + "0" * 5_000 + "65;") == "A"
    assert clean_text("&amp;#" + "1" * 5_000) == "& #1114112"


def test_a_single_line_that_a_second_pass_would_drop_is_dropped_now() -> None:
    assert clean_text("Sent from my\nphone") == ""
    assert clean_text("--x", max_chars=2) == ""


# Pieces that reach every branch: tags and half tags, entities (also double-escaped), quote markers, reply
# headers, signature lines, unicode whitespace and line breaks, several scripts.
PIECES = [
    *("<a", "<", ">", "<b>", "</p>", "<br/>", "<div class=x>", "<!--", "-->", "<!x>", "<?x?>", "</", "<<", ">>"),
    *("<script>", "</script>", "<style>", "</STYLE>", "&lt;", "&gt;", "&amp;", "&amp;lt;", "&#60;", "&#x3c;"),
    *("&", "&#", "amp;", "lt;", "&nbsp;", "&#10;", "&not", "&ampx", "AT&T", ";", "#", "!", "?", "/", "p", "a"),
    *("&#000000060;", "&amp;#x3c;", "0123456789"),
    *("\n", "\r\n", "\r", "\n> ", "> ", "On Mon, Bob wrote:", "--", "-- ", "_____", "From: x", "Sent from my "),
    *("phone", "Thanks,", "Best regards", "Am Mo schrieb x:", " ", "\t", "\xa0", "\u2003", "\u2028", "\x0b", "\x85"),
    *("Привет", "你好", "مرحبا", "שלום", "😀", "VPN down"),
]
texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=40).map("".join),
)
limits = st.sampled_from([0, 1, 2, 3, 5, 8, 20, 200, DEFAULT_MAX_CHARS])


@settings(max_examples=400)
@given(texts, limits)
def test_cleaning_is_capped_idempotent_and_leaves_no_markup(text: str, max_chars: int) -> None:
    cleaned = clean_text(text, max_chars=max_chars)
    assert len(cleaned) <= max_chars
    assert clean_text(cleaned, max_chars=max_chars) == cleaned
    assert not MARKUP.search(cleaned)
    assert html.unescape(cleaned) == cleaned
    assert cleaned == " ".join(cleaned.split())


@settings(max_examples=200)
@given(st.none() | texts, st.none() | texts, limits)
def test_ticket_text_is_capped_and_says_when_it_cut(subject: str | None, body: str | None, max_chars: int) -> None:
    text, cut = prepare_text(subject, body, max_chars=max_chars)
    assert len(text) <= max_chars
    assert text == ticket_text(subject, body, max_chars=max_chars)
    assert not MARKUP.search(text)
    if len(subject or "") + len(body or "") + 3 <= max_chars:  # 3: ". " and a space after a "<" left open
        assert not cut
