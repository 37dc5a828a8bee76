"""Pure registry rules: no ORM, no request, no clock (``today``/``at`` are passed in)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

MRN_PREFIX = "GM"

# --- Medical record numbers ---------------------------------------------------------


def luhn_check_digit(number: str) -> int:
    """Luhn mod-10 check digit, so a mistyped MRN digit is caught at the desk."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def format_mrn(sequence_value: int) -> str:
    digits = str(sequence_value)
    return f"{MRN_PREFIX}{digits}{luhn_check_digit(digits)}"


def mrn_is_valid(mrn: str) -> bool:
    mrn = mrn.strip().upper()
    if not mrn.startswith(MRN_PREFIX) or not mrn[len(MRN_PREFIX) :].isdigit() or len(mrn) < 4:
        return False
    body = mrn[len(MRN_PREFIX) : -1]
    return luhn_check_digit(body) == int(mrn[-1])


_MRN_LIKE = re.compile(r"(?:GM)?(\d{6,11})")  # bodies start at 100001


def mrn_candidates(text: str) -> tuple[str, ...]:
    """The MRNs someone typing ``text`` may mean: with or without the check digit, any case.

    "gm1000014", "GM 100001-4" and "GM100001" (check digit left off) all find
    GM1000014. A digits-only entry is tried as an MRN too (people drop the prefix).
    """
    compact = re.sub(r"[\s\-]", "", text).upper()
    match = _MRN_LIKE.fullmatch(compact)
    if not match:
        return ()
    digits = match.group(1)
    out = []
    if mrn_is_valid(MRN_PREFIX + digits):
        out.append(MRN_PREFIX + digits)
    out.append(f"{MRN_PREFIX}{digits}{luhn_check_digit(digits)}")
    return tuple(dict.fromkeys(out))


# --- Phone numbers --------------------------------------------------------------------

_PHONE_CHARS = re.compile(r"[\d\s()+\-.]+")
MIN_PHONE_SEARCH_DIGITS = 7  # a local number without its area code


def phone_search_digits(text: str) -> str:
    """The digits to match at the end of stored E.164 numbers, or "" if this is not a phone number.

    Any formatting is accepted: "(212) 555-0123", "212.555.0123", "+1 212 555 0123".
    International dialling prefixes (011, 00) are dropped, as E.164 stores "+".
    """
    text = text.strip()
    if not text or not _PHONE_CHARS.fullmatch(text):
        return ""
    digits = re.sub(r"\D", "", text)
    for prefix in ("011", "00"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= MIN_PHONE_SEARCH_DIGITS:
            digits = digits[len(prefix) :]
            break
    return digits if MIN_PHONE_SEARCH_DIGITS <= len(digits) <= 15 else ""


# --- Dates of birth -----------------------------------------------------------------

# Not a clinical threshold: a plausibility bound for typing errors (the oldest
# verified human lived to 122), so "1/2/1826" is caught as a typo.
MAX_AGE_YEARS = 120

_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})")
_COMPACT = re.compile(r"\d{8}")
_ORDINAL = re.compile(r"(\d)(?:st|nd|rd|th)\b")


def _month(word: str) -> int | None:
    """1-12 for "mar", "Mar.", "march" or "sept"; None for anything else ("marsh")."""
    word = word.rstrip(".")
    if word == "sept":
        return 9
    if len(word) < 3 or not word.isalpha():
        return None
    return next((i for i, name in enumerate(_MONTH_NAMES, start=1) if name.startswith(word)), None)


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _with_century(two_digit_year: int, month: int, day: int, today: date) -> date | None:
    """A two-digit year means the latest matching date that is not in the future ("3/7/80" → 1980)."""
    candidate = _make_date(2000 + two_digit_year, month, day)
    if candidate is not None and candidate <= today:
        return candidate
    return _make_date(1900 + two_digit_year, month, day)


def _year_month_day(year_text: str, month: int, day: int, today: date) -> date | None:
    if len(year_text) == 2:
        return _with_century(int(year_text), month, day, today)
    if len(year_text) == 4:
        return _make_date(int(year_text), month, day)
    return None


def parse_date_of_birth(text: str, *, today: date) -> date | None:
    """A date typed in any of the usual written forms, or None.

    US order first (month/day/year, as the clinic's staff write it); when that
    cannot be a date (a first number above 12) the day/month reading is used.
    Accepts 03/07/1980, 3/7/80, 3-7-1980, 1980-03-07, 03071980, "March 7 1980",
    "Mar 7th, 1980", "7 Mar 1980" and "7-Mar-1980".
    """
    s = _ORDINAL.sub(r"\1", text.strip().lower())
    if not s or len(s) > 40:
        return None
    if m := _ISO.fullmatch(s):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.fullmatch(s):
        first, second, year = int(m[1]), int(m[2]), m[3]
        return _year_month_day(year, first, second, today) or _year_month_day(year, second, first, today)
    if _COMPACT.fullmatch(s):
        us = _make_date(int(s[4:]), int(s[:2]), int(s[2:4]))
        return us or (_make_date(int(s[:4]), int(s[4:6]), int(s[6:])) if s[:2] in ("19", "20") else None)
    tokens = [t for t in re.split(r"[\s,/\-]+", s) if t]
    if len(tokens) != 3:
        return None
    a, b, c = tokens
    if (month := _month(a)) and b.isdigit() and c.isdigit():  # March 7 1980
        return _year_month_day(c, month, int(b), today)
    if a.isdigit() and (month := _month(b)) and c.isdigit():
        if len(a) == 4:  # 1980 Mar 7
            return _make_date(int(a), month, int(c))
        return _year_month_day(c, month, int(a), today)  # 7 Mar 1980
    return None


def years_between(earlier: date, later: date) -> int:
    """Whole years from ``earlier`` to ``later`` (a person's age on ``later``)."""
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def date_of_birth_problem(date_of_birth: date, *, today: date) -> str:
    """Why this date of birth cannot be right, or "" if it is plausible."""
    if date_of_birth > today:
        return "The date of birth is in the future."
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if date_of_birth < oldest:
        return f"The date of birth is more than {MAX_AGE_YEARS} years ago; check the year."
    return ""


# --- Possible duplicates ------------------------------------------------------------

# Trigram similarity of "last first" above which two people born the same day
# are flagged as possibly the same person. Not a clinical number: a tuning value
# for a warning the desk can override ("Jon Smith"/"John Smith" 0.62,
# "Smyth"/"Smith" 0.57, unrelated names under 0.2).
DUPLICATE_NAME_SIMILARITY = 0.5


# --- Contact consent ---------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    opted_in: bool
    at: datetime | None
    method: str


def record_consent(*, before: Consent, opted_in: bool, method: str, at: datetime) -> Consent:
    """The consent to store after the desk sets opt-in and method.

    Opting in stamps when (``at``) and keeps how; an unchanged consent keeps
    its original time; a consent given again another way is re-stamped;
    opting out clears when and how (the history and audit keep the old values).
    """
    if not opted_in:
        return Consent(opted_in=False, at=None, method="")
    if not method:
        raise ValueError("an opt-in needs the way consent was given")
    if before.opted_in and before.method == method and before.at is not None:
        return before
    return Consent(opted_in=True, at=at, method=method)


# --- Status lifecycle -----------------------------------------------------------------

ACTIVE, INACTIVE, DECEASED = "active", "inactive", "deceased"

STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    ACTIVE: frozenset({INACTIVE, DECEASED}),
    INACTIVE: frozenset({ACTIVE, DECEASED}),
    # Only to correct a death recorded in error; the reason says so.
    DECEASED: frozenset({ACTIVE}),
}


def status_change_allowed(current: str, new: str) -> bool:
    return new in STATUS_TRANSITIONS.get(current, frozenset())


# --- Alerts on the patient page ---------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    level: str  # a Bootstrap contextual class: danger, warning, info
    code: str
    text: str


def patient_alerts(
    *, status: str, has_reminder_consent: bool, has_escort: bool, possible_duplicates: int
) -> list[Alert]:
    """Registry alerts for the patient header (demographic only: every role may see them)."""
    alerts = []
    if status == DECEASED:
        alerts.append(Alert("danger", "deceased", "Deceased: do not book or contact."))
    elif status == INACTIVE:
        alerts.append(Alert("warning", "inactive", "Inactive: reactivate before booking."))
    if possible_duplicates:
        alerts.append(
            Alert("warning", "duplicate", f"Possible duplicate record ({possible_duplicates}): check before booking.")
        )
    if not has_escort and status == ACTIVE:
        # The ketamine label asks that outpatients leave accompanied by a
        # responsible adult [S26] (clinical-reference.md, pre-infusion table).
        alerts.append(Alert("warning", "no_escort", "No escort / driver on file."))
    if not has_reminder_consent and status == ACTIVE:
        alerts.append(Alert("info", "no_reminder_consent", "No reminder consent: no SMS or e-mail reminders."))
    return alerts


# --- Search terms --------------------------------------------------------------------

MAX_QUERY_LENGTH = 100
MAX_NAME_WORDS = 6
_EDGE_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")


@dataclass(frozen=True)
class SearchTerms:
    """What one search box entry asks for. Identifiers and names are alternatives;
    a date of birth next to a name narrows the name search."""

    date_of_birth: date | None = None
    mrns: tuple[str, ...] = ()
    phone_digits: str = ""
    last_name: str = ""
    first_name: str = ""
    words: tuple[str, ...] = ()

    @property
    def identifiers(self) -> bool:
        return bool(self.mrns or self.phone_digits) or (self.date_of_birth is not None and not self.has_name)

    @property
    def has_name(self) -> bool:
        return bool(self.last_name or self.first_name or self.words)

    @property
    def empty(self) -> bool:
        return not (self.identifiers or self.has_name)


def _clean_word(word: str) -> str:
    return _EDGE_PUNCTUATION.sub("", word)


def _split_date_off(text: str, today: date) -> tuple[str, date | None]:
    """'Smith 03/07/1980' → ('Smith', 1980-03-07): a date at either end of a name."""
    tokens = text.split()
    for size in (1, 3):
        if len(tokens) <= size:
            continue
        for head, tail in ((tokens[:-size], tokens[-size:]), (tokens[size:], tokens[:size])):
            if not any(ch.isdigit() for ch in "".join(tail)):
                continue
            found = parse_date_of_birth(" ".join(tail), today=today)
            if found is not None:
                return " ".join(head), found
    return text, None


def clean_search_text(text: str) -> str:
    """The search box's text, bounded, on one line, without control characters (NUL cannot be stored)."""
    text = "".join(ch if ch.isprintable() else " " for ch in text[:MAX_QUERY_LENGTH])
    return " ".join(text.split())


def parse_search(text: str, *, today: date) -> SearchTerms:
    """Read one search box: a date of birth, an MRN, a phone number, or a name.

    Names are "last, first" when there is a comma, otherwise words in any
    order; a date of birth before or after a name narrows it.
    """
    text = clean_search_text(text)
    if not text:
        return SearchTerms()
    dob = parse_date_of_birth(text, today=today)
    mrns = mrn_candidates(text)
    phone = phone_search_digits(text)
    if dob or mrns or phone:
        return SearchTerms(date_of_birth=dob, mrns=mrns, phone_digits=phone)
    name, dob = _split_date_off(text, today)
    if "," in name:
        last, first = (part.strip() for part in name.split(",", 1))
        last, first = " ".join(map(_clean_word, last.split())), " ".join(map(_clean_word, first.split()))
        return SearchTerms(date_of_birth=dob, last_name=last.strip(), first_name=first.strip())
    words = tuple(w for w in (_clean_word(w) for w in name.split()) if w)[:MAX_NAME_WORDS]
    return SearchTerms(date_of_birth=dob, words=words)
