from triage.data.cleaning import clean_text, strip_html, ticket_text


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
