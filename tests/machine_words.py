"""Finding machine words (``snake_case`` identifiers and dotted codes) in what people read.

Used by ``tests/test_machine_words.py`` on every page of the demo data and on the PDFs it
issues. A page shows people its text nodes; tags, scripts, styles and attribute values
(classes, ids, form field names) are for the machine and are left out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# What a person may legitimately read although it looks like a code: each pattern names a
# thing whose spelling is fixed outside the product, so rewording it would make it wrong.
ALLOWED = (
    # E-mail addresses (patients' and staff's, demo ones included) are spelt as they are.
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # Web addresses: the calendar feed and the self-report links are read and copied whole.
    re.compile(r"https?://\S+"),
    # File names of what the product hands over (a PDF, a CSV export, a calendar feed) or cites
    # as a source (the clinical reference document).
    re.compile(r"\b[\w-]+\.(?:pdf|csv|ics|md|txt)\b", re.IGNORECASE),
    # IANA time-zone names where a setting asks for one: the zone must be typed exactly as the
    # tz database spells it (pages that only show a zone write it as people do, "America/New York").
    re.compile(
        r"\b(?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[A-Za-z_]+(?:/[A-Za-z_]+)?"
    ),
    # Latin abbreviations of ordinary English.
    re.compile(r"\b(?:e\.g|i\.e|etc)\.", re.IGNORECASE),
)

# snake_case: two or more word parts joined by underscores ("sbp_mmhg", "Adverse_event").
SNAKE = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w])")
# A dotted code: lower-case words joined by dots with no space ("session.sign"). Version
# numbers and diagnosis codes (F32.2) start with a digit or a capital and are not matched.
DOTTED = re.compile(r"(?<![\w.])[a-z][a-z_]*(?:\.[a-z][a-z_]*)+(?![\w])")


# A time of day on the 24-hour clock past noon ("15:30"): the clinic writes times one way
# (grace_mindcare/formats, "3:30 PM"), so a page that shows one mixes the two.
TWENTY_FOUR_HOUR = re.compile(r"(?<![\d:])(?:1[3-9]|2[0-3]):[0-5]\d(?![\d:])(?!\s?[AP]M)")


class _VisibleText(HTMLParser):
    SKIP = frozenset({"script", "style", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skipping += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def machine_words(text: str) -> list[str]:
    """Every snake_case token and dotted code in ``text``, in order, after the allowed
    spellings are taken out."""
    for allowed in ALLOWED:
        text = allowed.sub(" ", text)
    found = [m.group(0) for m in SNAKE.finditer(text)]
    found += [m.group(0) for m in DOTTED.finditer(text)]
    return found


def other_clock(text: str) -> list[str]:
    """Times of day written on the 24-hour clock (past noon, where the two clocks differ)."""
    return TWENTY_FOUR_HOUR.findall(text)


def context(text: str, word: str, width: int = 50) -> str:
    at = text.find(word)
    return text[max(0, at - width) : at + len(word) + width]
